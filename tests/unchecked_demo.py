"""The demo subdistrict as an office might hand it over with columns missing, for the tests of
checks that could not run: the compound table says 物业有党组织 (a name gridmap does not know)
instead of 物业党组织, the member roster has no 已报到 column, and no stations are given."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd

# what the analysis of this data cannot check, in the order of GAP_KINDS
UNCHECKED = ["member_not_reported", "property_without_org", "beyond_station_reach"]


def incomplete_demo(folder: Path) -> Path:
    """A copy of the demo data in ``folder`` with the columns and the layer above left out."""
    from gridmap.cli import DEMO_DATA

    shutil.copytree(DEMO_DATA, folder)
    compounds = gpd.read_file(folder / "compounds.gpkg")
    (folder / "compounds.gpkg").unlink()
    compounds.rename(columns={"物业党组织": "物业有党组织"}).to_file(folder / "compounds.gpkg")
    members = pd.read_csv(folder / "members.csv", dtype=str, encoding="utf-8-sig")
    members.drop(columns="已报到").to_csv(folder / "members.csv", index=False, encoding="utf-8-sig")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest = [item for item in manifest if item["layer"] != "station"]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def incomplete_database(url: str, data: Path, out: Path | None = None):
    """Load ``incomplete_demo(data)`` into the database at ``url`` and analyse it.

    Returns the load reports and the analysis.
    """
    from gridmap.cli import load_demo
    from gridmap.config import Settings
    from gridmap.runs import run_analyze
    from gridmap.store.db import make_engine
    from gridmap.store.schema import upgrade

    settings = Settings(database_url=url)
    engine = make_engine(settings)
    try:
        upgrade(engine)
        reports = load_demo(engine, incomplete_demo(data))
        return reports, run_analyze(engine, settings, out_dir=out)
    finally:
        engine.dispose()

"""The demo goes through the users' import path into both databases, and lands correctly."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest

from gridmap.cli import DEMO_DATA, load_demo
from gridmap.store.features import layer_counts, read_features

PLANTED = json.loads((Path(DEMO_DATA).parent / "planted.json").read_text(encoding="utf-8"))


@pytest.fixture
def demo(engine):
    reports = load_demo(engine, DEMO_DATA)
    return engine, reports


def test_demo_loads_every_file_completely(demo):
    engine, reports = demo
    assert all(not r.read.rejected for r in reports)
    with engine.connect() as conn:
        counts = layer_counts(conn)
    assert counts["community"] == 6 and counts["grid:party"] == 42
    assert counts["grid:zongzhi"] == 30 and counts["grid:chengguan"] == 168
    assert counts["compound"] == 169 and counts["building"] == 1666
    assert counts["member"] == 3069 and counts["station"] == 10 and counts["org"] == 164


def test_only_the_planted_invalid_geometries_were_repaired(demo):
    """A drawn bowtie compound and three real footprints invalid as mapped, nothing else."""
    _engine, reports = demo
    repaired = {(r.layer, code) for r in reports for _row, code, _note in r.read.repaired}
    assert repaired == {("compound", "XQ065"), ("building", "XQ157-09"), ("building", "XQ053-13"),
                        ("building", "XQ069-14")}  # fmt: skip
    planted = {(p["layer"], p["code"]) for p in PLANTED if p["kind"] == "invalid_geometry"}
    assert repaired == planted


def test_gbk_names_and_gcj02_members_come_out_right(demo):
    engine, _ = demo
    with engine.connect() as conn:
        grids = read_features(conn, "grid", grid_layer="party").set_index("code")
        members = read_features(conn, "member")
        buildings = read_features(conn, "building")
    assert grids.loc["DJ101", "name"] == "锦绣社区第1网格"
    # members were placed inside buildings in WGS84, written as GCJ-02, converted back on import
    ordinary = members[~members["code"].isin(["DY-FAR", "DY-NEAR"])]
    inside = gpd.sjoin(ordinary, buildings[["geometry"]], predicate="within")
    assert inside.index.nunique() == len(ordinary)


def test_demo_files_are_small_enough_to_commit():
    size = sum(p.stat().st_size for p in Path(DEMO_DATA).rglob("*") if p.is_file())
    assert size < 5 * 1024 * 1024

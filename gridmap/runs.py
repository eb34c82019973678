"""Runs of the core on what is in the database: ``gridmap integrate`` (and later ``analyze``).

Thin: read the layers, call one pure function of ``gridmap.core``, store the results in one
transaction, write the files. The core never sees the database.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine

from gridmap.config import Settings
from gridmap.core.integrate import Integration, Layers, integrate
from gridmap.errors import NotFoundError
from gridmap.io.polygons import polygonal
from gridmap.io.write import write_csv_table, write_frame
from gridmap.store import fabric, features, placement, results
from gridmap.store.db import connect, transaction

UNIFIED = "unified"
FIGURES = ["compounds", "source_codes", "n_buildings", "households", "members_full",
           "members_probationary", "area_m2"]  # fmt: skip


# what the core reads of a member (a million rows: the other columns would double the read)
MEMBER_FIELDS = ("category", "in_service", "reported")


def load_layers(conn) -> Layers:
    """Every layer the core needs, from the store (members without personal fields)."""
    grids = {
        name: features.read_features(conn, "grid", grid_layer=name)
        for name in features.grid_layers(conn)
        if "@" not in name  # the unified cells of a partitioned run under way, never an input
    }
    layers = Layers(
        features.read_features(conn, "community"), features.read_features(conn, "compound"),
        features.read_features(conn, "building"), grids,
        features.read_features(conn, "member", columns=MEMBER_FIELDS),
    )  # fmt: skip
    if layers.communities.empty:
        raise NotFoundError(
            "尚未导入社区图层 (gridmap load community …)。", "No communities loaded yet."
        )
    return layers


def unified_rows(unified):
    """The unified cells as rows of the grid table (figures in ``properties``)."""
    rows = pd.DataFrame(unified[["code", "name", "community_code"]])
    rows["properties"] = unified[FIGURES].to_dict("records")
    rows["repair_note"] = None
    # MULTIPOLYGON only: a cell drawn well off its lines can come out of the overlays as a
    # polygon plus a line (a GeometryCollection), which the geometry column refuses
    geoms = polygonal(unified.geometry.values)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=unified.crs)


def _store(
    conn, actor: str, kind: str, base: str, summary: dict, integration: Integration, gaps=None
) -> int:
    """Replace the unified layer and record one run's findings and crosswalk; returns the run id."""
    features.delete_layer(conn, "grid", UNIFIED)
    rows = unified_rows(integration.unified)
    features.upsert_features(conn, "grid", rows, grid_layer=UNIFIED, source=f"{kind}:{base}")
    run = results.new_run(conn, actor, kind, summary)
    results.save_gaps(conn, run, integration.findings if gaps is None else gaps)
    results.save_crosswalk(conn, run, integration.crosswalk)
    fabric.save_fabric(conn, integration.fabric, run)
    features.log_change(
        conn,
        actor,
        kind,
        f"grid:{UNIFIED}",
        {"run": run, "findings": summary.get("findings") or summary.get("gaps")},
    )
    return run


def run_integrate(
    engine: Engine,
    settings: Settings,
    base: str = "party",
    out_dir: Path | None = None,
    actor: str = "cli",
) -> Integration:
    """Integrate what is stored; keep the unified layer (grid layer ``unified``) and the results."""
    with connect(engine) as conn:
        layers = load_layers(conn)
        previous = layers.grids.get(UNIFIED)
    result = integrate(layers, settings, base=base, previous=previous)
    with transaction(engine) as conn:
        _store(conn, actor, "integrate", base, result.summary, result)
    if out_dir is not None:
        write_integration(result, Path(out_dir))
    return result


def write_integration(result: Integration, out: Path) -> None:
    """unified_grid.geojson, crosswalk.csv, topology.geojson, moves.csv, disagreements.csv, summary.json."""
    out.mkdir(parents=True, exist_ok=True)
    write_frame(result.unified, out / "unified_grid.geojson", "geojson", "unified_grid")
    write_frame(result.findings, out / "topology.geojson", "geojson", "topology")
    write_csv_table(result.crosswalk, out / "crosswalk.csv")
    write_csv_table(result.moves, out / "moves.csv")
    write_csv_table(result.disagreements, out / "disagreements.csv")
    (out / "summary.json").write_text(
        json.dumps(result.summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def run_analyze(
    engine: Engine,
    settings: Settings,
    base: str = "party",
    out_dir: Path | None = None,
    actor: str = "cli",
):
    """Integrate, place members, find every gap, propose branches; store all of it (each
    member's placement too) and write the report."""
    from gridmap.core.analysis import analyze
    from gridmap.core.staffing import PEOPLE_LAYERS, People

    with connect(engine) as conn:
        layers = load_layers(conn)
        stations = features.read_features(conn, "station")
        orgs = features.read_features(conn, "org")
        people = People(*(features.read_features(conn, name) for name in PEOPLE_LAYERS))
    previous = layers.grids.pop(UNIFIED, None)
    result = analyze(layers, stations, orgs, settings, base=base, previous=previous, people=people)
    with transaction(engine) as conn:
        run = _store(conn, actor, "analyze", base, result.summary, result.integration, result.gaps)
        results.save_branch_proposals(conn, run, result.proposals)
        results.save_figures(conn, run, result.figures)
        placement.save_placements(conn, run, result.integration.placements)
    if out_dir is not None:
        from gridmap.report import write_report

        write_report(result, Path(out_dir))
    return result

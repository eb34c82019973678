"""Plans as tables of units, and plans with their figures: the store around
:mod:`gridmap.core.unit_plans` and :func:`gridmap.core.plans.cell_figures`.

- :func:`unit_assignment` — a grid layer or a plan as the cell of every unit of the fabric, and
  what the drawing and its units disagree on (``gridmap plan units``);
- :func:`read_assignment_table` and :func:`import_unit_table` — a table of unit and cell codes
  (CSV or workbook, as redistricting tools exchange plans) checked row by row and saved, all or
  nothing, as a draft plan whose cells are the dissolves of their units;
- :func:`plan_with_figures` — a plan's cells with households, buildings, compounds, members and
  band status, for exports that QGIS users open;
- :func:`compare_sides` — two plans, or a plan and a current grid layer, scored side by side
  (:mod:`gridmap.core.plan_scores`) with the ground that changes grid.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine

from gridmap.collector import paused
from gridmap.config import Settings
from gridmap.core import plan_scores, unit_plans
from gridmap.core import plans as core_plans
from gridmap.core.cell_geometry import in_storage_crs as in_crs
from gridmap.crs import metric_crs_for
from gridmap.errors import NotFoundError, RowProblem, RowsRejectedError, SchemaError
from gridmap.io.columns import normalise_header
from gridmap.layers import STORAGE_CRS
from gridmap.permissions import Area, in_area
from gridmap.placed_members import with_placements
from gridmap.store import features
from gridmap.store.db import connect, transaction
from gridmap.store.fabric import require_fabric
from gridmap.store.plans import create_plan, plan_meta, read_cells
from gridmap.store.query import MAX_INTEGER

# headers of an assignment table, normalised (gridmap.io.columns.normalise_header)
HEADERS = {
    "unit_code": {"unitcode", "unit", "单元编号", "单元编码", "单元"},
    "cell_code": {"cellcode", "cell", "district", "网格编号", "网格编码", "网格"},
    "cell_name": {"cellname", "网格名称"},
}
BAND_STATUS = {"ok": "within", "below": "below", "above": "above"}
FIGURE_COLUMNS = ["households", "buildings", "compounds", "compounds_cut", "members_full",
                  "members_probationary", "band"]  # fmt: skip


def _cells(conn: Connection, grid_layer: str | None, plan_id: int | None) -> gpd.GeoDataFrame:
    if plan_id is not None:
        plan_meta(conn, plan_id)  # a clear error for a plan that does not exist
        return read_cells(conn, plan_id)
    if grid_layer not in features.grid_layers(conn):
        raise NotFoundError(f"没有网格图层 {grid_layer}。", f"No grid layer {grid_layer}.")
    return features.read_features(conn, "grid", grid_layer=grid_layer)


def unit_assignment(
    conn: Connection,
    *,
    grid_layer: str | None = None,
    plan_id: int | None = None,
    area: Area | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A grid layer (or a plan) as the cell of every unit, and the residuals of every cell.

    The assignment has ``cell_name`` after ``cell_code``; see
    :func:`gridmap.core.unit_plans.assign_units` and :func:`~gridmap.core.unit_plans.residuals`.
    With ``area``, only the units in it (:func:`gridmap.permissions.in_area`) and the residuals
    of the cells they are given; cells are still judged on every unit.
    """
    # a city's buildings are hundreds of thousands of geometries, three times over (read,
    # projected, their points): without the pause the collector walked the heap again and
    # again, a third of the time, and found nothing to free
    with paused():
        units = require_fabric(conn)
        cells = _cells(conn, grid_layer, plan_id)
        crs = metric_crs_for(units)
        units_m, cells_m = in_crs(units, crs), in_crs(cells, crs)
        assignment = unit_plans.assign_units(units_m, cells_m)
        names = dict(zip(cells["code"], cells["name"], strict=True))
        assignment.insert(2, "cell_name", assignment["cell_code"].map(names))
        residuals = unit_plans.residuals(units_m, cells_m, assignment, _households(conn, crs))
    if area is not None:
        assignment = assignment[in_area(units, area)]  # in the order of ``units``
        residuals = residuals[residuals["cell_code"].isin(set(assignment["cell_code"].dropna()))]
    return assignment, residuals


def _households(conn: Connection, crs) -> gpd.GeoDataFrame:
    """The buildings with households, in ``crs``: all the residuals count of them."""
    households, footprints = features.households_of_buildings(conn)
    footprints = gpd.GeoSeries(footprints, crs=STORAGE_CRS).to_crs(crs)
    return gpd.GeoDataFrame({"households": households}, geometry=footprints.values, crs=crs)


def read_assignment_table(path: str | Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The unit and cell codes (and cell names) of a CSV or workbook, with the row numbers the
    user sees; a table without the two columns is refused, naming what it has."""
    from gridmap.io.sources import read_source

    raw = read_source(path, known_headers=frozenset().union(*HEADERS.values()))
    if raw.problems:
        raise RowsRejectedError("单元分配表中有不能读的行，未导入。", "Some rows of the table cannot be read; nothing imported.", raw.problems)  # fmt: skip
    found = {}
    for column in raw.frame.columns:
        key = normalise_header(column)
        field = next((f for f, names in HEADERS.items() if key in names), None)
        if field and field not in found:
            found[field] = column
    missing = [f for f in ("unit_code", "cell_code") if f not in found]
    if missing:
        have = "、".join(map(str, raw.frame.columns))
        raise SchemaError(
            f"单元分配表缺少列 {'、'.join(missing)} (可用列名: 单元编号/unit_code, 网格编号/cell_code, 网格名称/cell_name)；现有列: {have}。",
            f"The table lacks the column(s) {', '.join(missing)} (unit_code/单元编号, cell_code/网格编号, cell_name/网格名称); it has: {have.replace('、', ', ')}.",
            [RowProblem(None, f, f"缺少列 {f}", f"column {f} missing") for f in missing],
        )  # fmt: skip
    table = pd.DataFrame({f: raw.frame[c].to_numpy(dtype=object) for f, c in found.items()})
    return table, np.asarray(raw.row_numbers)


def import_unit_table(
    engine: Engine, path: str | Path, *, name: str, grid_layer: str = "party", actor: str = "cli"
) -> tuple[int, gpd.GeoDataFrame]:
    """A draft plan from a unit assignment table, all or nothing; returns its id and cells."""
    table, rows = read_assignment_table(path)
    with connect(engine) as conn:
        units = require_fabric(conn)
    cells = cells_of_table(units, table, rows)
    with transaction(engine) as conn:
        plan_id = create_plan(conn, name, grid_layer, actor, cells=cells[["code", "name", "community_code", "geometry"]],
                              note=f"单元分配表 {Path(path).name}")  # fmt: skip
    return plan_id, cells


def cells_of_table(units: gpd.GeoDataFrame, table: pd.DataFrame, rows) -> gpd.GeoDataFrame:
    """The cells of a checked assignment table (EPSG:4326), or every problem of it at once."""
    problems = unit_plans.check_assignment(table, rows, units)
    if problems:
        raise RowsRejectedError(
            f"单元分配表有 {len(problems)} 处问题，未导入。", f"The unit table has {len(problems)} problem(s); nothing imported.", problems,
        )  # fmt: skip
    clean = table.assign(unit_code=table["unit_code"].astype(str).str.strip(), cell_code=table["cell_code"].astype(str).str.strip())  # fmt: skip
    names = {}
    if "cell_name" in clean:
        named = clean[clean["cell_name"].notna() & (clean["cell_name"].astype(str).str.strip() != "")]  # fmt: skip
        names = dict(zip(named["cell_code"], named["cell_name"].astype(str).str.strip(), strict=True))  # fmt: skip
    return unit_plans.cells_from_assignment(units, clean, names).to_crs(STORAGE_CRS)


def plan_with_figures(conn: Connection, settings: Settings, plan_id: int, area: Area | None = None) -> gpd.GeoDataFrame:  # fmt: skip
    """A plan's cells (EPSG:4326) with ``FIGURE_COLUMNS``: compounds is the count of compounds
    held whole, compounds_cut the cut ones with their share, band within | below | above.
    Members are counted where they live in ``area`` only (everywhere for ``None``)."""
    plan_meta(conn, plan_id)
    return with_figures(conn, settings, read_cells(conn, plan_id), area)


def with_figures(conn: Connection, settings: Settings, cells: gpd.GeoDataFrame, area: Area | None = None) -> gpd.GeoDataFrame:  # fmt: skip
    """``cells`` (EPSG:4326) with ``FIGURE_COLUMNS``, as :func:`plan_with_figures` says."""
    if cells.empty:
        return cells.assign(**{c: [] for c in FIGURE_COLUMNS})
    context = read_context(conn, area)
    crs = metric_crs_for(cells)
    stations = features.read_features(conn, "station", columns=())
    figures = core_plans.cell_figures(
        cells.to_crs(crs), context.buildings.to_crs(crs), unit_plans.compounds_by_community(context.compounds.to_crs(crs), context.communities.to_crs(crs)),
        context.members.to_crs(crs), stations.to_crs(crs), station_radius_m=settings.station_radius_m,
        band=core_plans.Band(settings.grid_households_min, settings.grid_households_max),
    )  # fmt: skip
    out = cells.copy()
    out["households"] = figures["households"].to_numpy()
    out["buildings"] = figures["buildings"].to_numpy()
    out["compounds"] = [len(c.split(";")) if c else 0 for c in figures["compounds"]]
    out["compounds_cut"] = figures["compounds_cut"].to_numpy()
    out["members_full"] = figures["members_full"].to_numpy()
    out["members_probationary"] = figures["members_probationary"].to_numpy()
    out["band"] = figures["band"].map(BAND_STATUS).to_numpy()
    return out


def read_context(conn: Connection, area: Area | None = None) -> plan_scores.Context:
    """The layers plans are scored against (EPSG:4326); members only those living in ``area``
    (all for ``None``), each with the building the latest analysis placed them in
    (:func:`gridmap.placed_members.with_placements`), as the editor's figures count them."""
    members = features.read_features(conn, "member", columns=("category", "updated_at"))
    buildings = features.read_features(conn, "building", columns=("households",))
    members = with_placements(conn, members, buildings)
    return plan_scores.Context(
        communities=features.read_features(conn, "community", columns=()),
        compounds=features.read_features(conn, "compound", columns=()),
        buildings=buildings,
        members=members if area is None else members[area.covers(members.geometry.values)],
    )


def read_side(conn: Connection, side: str) -> tuple[str, gpd.GeoDataFrame]:
    """A side of a comparison and its label: ``"3"`` is plan 3, ``"layer:party"`` the current
    grid layer ``party`` (cells in EPSG:4326)."""
    if side.startswith("layer:"):
        layer = side.removeprefix("layer:")
        return f"现行网格 current layer {layer}", _cells(conn, layer, None)
    if not side.isdigit() or int(side) > MAX_INTEGER:  # ids are 32-bit integers
        raise NotFoundError(f"没有方案 {side}：写方案编号，或 layer:网格图层 (如 layer:party)。", f"No plan {side}: give a plan id, or layer:LAYER (e.g. layer:party).")  # fmt: skip
    meta = plan_meta(conn, int(side))
    return f"方案 plan {meta['id']} {meta['name']} v{meta['version']}", read_cells(conn, meta["id"])


def compare_sides(
    conn: Connection, settings: Settings, a: str, b: str, area: Area | None = None
) -> tuple[list[str], pd.DataFrame, gpd.GeoDataFrame, dict[str, int]]:
    """Sides ``a`` and ``b`` (see :func:`read_side`) compared: their labels, the table of
    :func:`gridmap.core.plan_scores.compare`, the differences (EPSG:4326) and, as a check for
    callers that hide member counts, the members that change grid counting only those living
    in ``area`` (``members_moved_in_area``; equal to the table's for ``None``)."""
    (label_a, cells_a), (label_b, cells_b) = read_side(conn, a), read_side(conn, b)
    context = read_context(conn)
    crs = metric_crs_for(context.communities, cells_a, cells_b)
    metric = plan_scores.Context(*(in_crs(f, crs) for f in (context.communities, context.compounds, context.buildings, context.members)))  # fmt: skip
    a_m, b_m = in_crs(cells_a, crs), in_crs(cells_b, crs)
    table = plan_scores.compare(a_m, b_m, metric, settings)
    in_area = metric.members if area is None else metric.members[area.covers(context.members.geometry.values)]  # fmt: skip
    check = plan_scores.moved(a_m, b_m, plan_scores.Context(metric.communities, metric.compounds, metric.buildings, in_area))  # fmt: skip
    pieces = plan_scores.differences(a_m, b_m).to_crs(STORAGE_CRS)
    return [label_a, label_b], table, pieces, {"members_moved_in_area": check["members_moved"]}

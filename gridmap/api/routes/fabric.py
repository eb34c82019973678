"""The unit fabric (单元底图) as a read-only layer, and what painting a plan from it needs: the
cells dissolved from units with their figures, a grid layer or plan as a unit table, and a plan
made from an uploaded unit table.

Every answer is limited to the caller's area (a unit is in it when its representative point is);
member counts follow :mod:`gridmap.api.routes.plans.counts` (hidden below the threshold for roles
that may not see personal data, as for any shape they did not draw whole).
"""

from __future__ import annotations

import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, StringConstraints
from pyproj import Transformer

from gridmap.api.deps import ConnDep, SettingsDep
from gridmap.api.routes.params import CHECKED, LimitedBodyRoute, Text
from gridmap.api.routes.plans.counts import hide_member_counts
from gridmap.api.routes.plans.editing import geojson
from gridmap.api.routes.plans.frames import records
from gridmap.api.routes.plans.routing import check_changes_in_area
from gridmap.api.routes.uploads import save_upload
from gridmap.api.security import AreaDep, PrincipalDep, require
from gridmap.config import Settings
from gridmap.core import painted
from gridmap.core.plans import Band
from gridmap.core.unit_plans import cells_from_assignment
from gridmap.crs import metric_crs
from gridmap.errors import PermissionDeniedError, RowProblem, RowsRejectedError
from gridmap.io.geojson_text import EDITOR_DECIMALS, rounded_coverage
from gridmap.layers import STORAGE_CRS
from gridmap.permissions import Area, in_area, outside_area
from gridmap.plan_tables import BAND_STATUS, cells_of_table, read_assignment_table, unit_assignment
from gridmap.store import plans as plan_store
from gridmap.store.db import transaction
from gridmap.store.fabric import (
    branch_covered,
    compound_parts,
    read_fabric,
    require_fabric,
    stations_in_box,
)
from gridmap.store.features import grid_layers, read_features

router = APIRouter(
    prefix="/api/fabric", tags=["fabric"], route_class=LimitedBodyRoute,
    dependencies=[*CHECKED, require("view")],
)  # fmt: skip
EDIT = [require("edit_plan")]
MAX_UNITS = 100_000  # units in one paint request: a city's fabric


CellCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class Painted(BaseModel):
    units: dict[str, CellCode] = Field(description="单元编号 → 网格编号 (不能为空) / unit code → cell code (not blank)", max_length=MAX_UNITS)  # fmt: skip
    names: dict[str, str] = Field(default_factory=dict, description="网格编号 → 名称 (未涂色的网格不用) / cell names (those of cells not painted are unused)", max_length=MAX_UNITS)  # fmt: skip


def _counts_shown(frame: pd.DataFrame, principal, settings: Settings) -> pd.DataFrame:
    frame = frame.assign(members=frame["members_full"] + frame["members_probationary"])
    return hide_member_counts(frame, masked=not principal.may("personal"), whole=[False] * len(frame),
                              outside=[False] * len(frame), min_shown=settings.min_count_shown)  # fmt: skip


def _in_area(units: gpd.GeoDataFrame, area: Area | None) -> gpd.GeoDataFrame:
    return units[in_area(units, area)]


@router.get("", summary="单元底图 (一个社区) / the unit fabric of a community (GeoJSON)")
def fabric(conn: ConnDep, settings: SettingsDep, principal: PrincipalDep, area: AreaDep,
           community: Annotated[str, Query(min_length=1, max_length=64), Text]) -> Response:  # fmt: skip
    """The units of ``community`` in the caller's area: code, kind, compound, households,
    buildings, members full/probationary (as the caller may see them), area in m²."""
    units = _in_area(read_fabric(conn, community=community), area)
    if units.empty:
        raise outside_area(f"社区 {community} 的单元底图 (或尚未运行 gridmap integrate)", f"unit fabric of community {community} (or gridmap integrate has not run)")  # fmt: skip
    shown = _counts_shown(units, principal, settings)
    return geojson(gpd.GeoDataFrame(shown, geometry=units.geometry.values, crs=units.crs))


@router.post("/cells", summary="由单元合成网格及其数字 (涂色) / cells dissolved from units, with figures (painting)", dependencies=EDIT)  # fmt: skip
def painted_cells(body: Painted, conn: ConnDep, settings: SettingsDep, principal: PrincipalDep, area: AreaDep) -> Response:  # fmt: skip
    """Each cell as the dissolve of the units sent for it, with households, buildings, members
    and band status (within | below | above), and the compounds each cuts, the stations in its
    reach and the Party rule findings: what the editor draws after a stroke. Units
    outside the caller's area take no paint (403). No units make no cells (an empty
    collection); the names of cells not painted are not used. Coordinates are rounded to the
    8 decimals the editor keeps, every cell valid there and meeting its neighbours vertex to
    vertex; a cell narrower than that everywhere (about a millimetre) comes back with its
    figures and an empty polygon."""
    if not body.units:
        return geojson(gpd.GeoDataFrame({"code": []}, geometry=[], crs=STORAGE_CRS))
    units = read_fabric(conn, codes=list(body.units))
    unknown = sorted(set(body.units) - set(units["code"]))
    if unknown:
        problems = [RowProblem(None, "units", f"单元 {u} 不存在", f"unit {u} does not exist") for u in unknown[:20]]  # fmt: skip
        raise RowsRejectedError("有单元不存在，请重新载入单元底图。", "Some units do not exist; reload the unit fabric.", problems)  # fmt: skip
    outside = units["code"][~in_area(units, area)].tolist()
    if outside:
        shown = "、".join(outside[:10])
        raise PermissionDeniedError(f"单元 {shown} 不在您的范围内，不能改变其网格。", f"Units {', '.join(outside[:10])} lie outside your area; their cells cannot change.")  # fmt: skip
    assignment = pd.DataFrame({"unit_code": list(body.units), "cell_code": list(body.units.values())})  # fmt: skip
    _check_one_community(assignment.merge(units[["code", "community_code"]], left_on="unit_code", right_on="code"))  # fmt: skip
    cells = cells_from_assignment(units, assignment, body.names)
    band = Band(settings.grid_households_min, settings.grid_households_max)
    cells["band"] = [BAND_STATUS[band.check(int(h))] for h in cells["households"]]
    shown = _with_checks(conn, settings, cells, _counts_shown(cells, principal, settings), units, assignment)  # fmt: skip
    # on the grid the editor keeps, or its rounding breaks the pin holes and notches of the
    # dissolves (the checks above ran on them as they are)
    drawn = rounded_coverage(cells.to_crs(STORAGE_CRS).geometry.values, EDITOR_DECIMALS)
    return geojson(gpd.GeoDataFrame(shown, geometry=drawn, crs=STORAGE_CRS))


@lru_cache(maxsize=16)
def _to_metric(epsg: int) -> Transformer:
    return Transformer.from_crs(4326, epsg, always_xy=True)


def _with_checks(conn, settings: Settings, cells: gpd.GeoDataFrame, shown: pd.DataFrame, units: gpd.GeoDataFrame, assignment: pd.DataFrame) -> pd.DataFrame:  # fmt: skip
    """``shown`` with what a planner checks after a stroke (:mod:`gridmap.core.painted`):
    compounds_cut, stations_in_reach (codes within ``station_radius_m``, the walking radius;
    empty: none in reach), party (the Party rule findings; those resting on member counts only
    where the counts are shown, so that a finding never tells what a hidden count would)."""
    cell_of = units["code"].map(dict(zip(assignment["unit_code"], assignment["cell_code"], strict=True)))  # fmt: skip
    split = units.loc[units["kind"] == "compound_part", "compound_code"].dropna().tolist()
    cut = painted.cut_compounds(cell_of, units, compound_parts(conn, split))
    geoms = np.asarray(cells.geometry.values, dtype=object)
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    pad = settings.station_radius_m / 90_000  # metres → degrees, generously
    codes, stations = stations_in_box(conn, (x0 - 1.5 * pad, y0 - pad, x1 + 1.5 * pad, y1 + pad))
    transformer = _to_metric(metric_crs((x0 + x1) / 2, (y0 + y1) / 2).to_epsg())

    def project(g):
        return shapely.transform(g, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))  # fmt: skip

    reach = painted.stations_in_reach(project(geoms), codes, project(stations), settings.station_radius_m)  # fmt: skip
    held = units[units["compound_code"].notna().to_numpy()]
    per_cell: dict[str, dict[str, int]] = {}
    for (cell, compound), households in held.groupby([cell_of[held.index], held["compound_code"]])["households"].sum().items():  # fmt: skip
        per_cell.setdefault(cell, {})[compound] = int(households)
    covered = branch_covered(conn, held["compound_code"].tolist())
    party = []
    for code, full, probationary, visible in zip(cells["code"], cells["members_full"], cells["members_probationary"], shown["members_full"].notna(), strict=True):  # fmt: skip
        found = painted.party_findings(int(full), int(full + probationary), per_cell.get(code, {}), covered, settings)  # fmt: skip
        party.append(found if visible else [f for f in found if f["kind"] == "compound_without_org"])  # fmt: skip
    return shown.assign(compounds_cut=[cut.get(c, "") for c in cells["code"]], stations_in_reach=reach,
                        station_radius_m=settings.station_radius_m, party=party)  # fmt: skip


def _check_one_community(placed: pd.DataFrame) -> None:
    """A 400 naming every painted cell whose units lie in two communities or more."""
    spread = placed.groupby("cell_code")["community_code"].unique()
    problems = [RowProblem(None, "units", f"网格 {cell} 的单元分属多个社区 ({'、'.join(c)})：一个网格只能在一个社区内",
                           f"cell {cell} holds units of several communities ({', '.join(c)}): a cell lies in one community")
                for cell, c in spread.items() if len(c) > 1]  # fmt: skip
    if problems:
        raise RowsRejectedError("有网格跨社区，未合成。", "Some cells cross communities; nothing was made.", problems)  # fmt: skip


@router.get("/assignment", summary="网格图层或方案的单元分配表 / a grid layer or plan as a unit table")  # fmt: skip
def assignment(
    conn: ConnDep, area: AreaDep,
    layer: Annotated[str | None, Query(min_length=1, max_length=64), Text] = None,
    plan: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Response:  # fmt: skip
    """Every unit of the caller's area with the cell holding its largest share (``json`` adds
    the residuals of those cells: area and households where the drawing and its units differ)."""
    table, residuals = unit_assignment(conn, grid_layer=None if plan else layer or "party", plan_id=plan, area=area)  # fmt: skip
    if format == "json":
        return JSONResponse({"units": records(table), "residuals": records(residuals)})
    return _download(table, format, f"units-{f'plan-{plan}' if plan else layer or 'party'}")


def _download(table: pd.DataFrame, format: str, stem: str) -> Response:
    from gridmap.io.write import write_frame

    media = {"csv": "text/csv; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        data = write_frame(table, Path(folder) / f"{stem}.{format}", format, "units").read_bytes()
    return Response(data, media_type=media[format], headers={"Content-Disposition": f"attachment; filename={stem}.{format}"})  # fmt: skip


@router.post("/import", summary="由单元分配表新建方案 / a plan from a unit table", status_code=201, dependencies=EDIT)  # fmt: skip
def import_table(
    conn: ConnDep, settings: SettingsDep, principal: PrincipalDep, area: AreaDep,
    file: Annotated[UploadFile, File(description="CSV 或 Excel: 单元编号, 网格编号 [, 网格名称]")],
    name: Annotated[str, Form(min_length=1, max_length=100), Text],
    grid_layer: Annotated[str, Form(min_length=1, max_length=64), Text] = "party",
) -> dict:  # fmt: skip
    """Checked row by row, all or nothing; the plan's cells are the dissolves of their units."""
    with tempfile.TemporaryDirectory(prefix="gridmap-upload-") as folder:
        path = save_upload(file, Path(folder), int(settings.max_upload_mb * 2**20))
        table, rows = read_assignment_table(path)
    cells = cells_of_table(require_fabric(conn), table, rows)
    if area is not None:
        current = read_features(conn, "grid", grid_layer=grid_layer) if grid_layer in grid_layers(conn) else cells.iloc[0:0]  # fmt: skip
        check_changes_in_area(current, cells, area)
    with transaction(conn.engine) as tx:
        plan_id = plan_store.create_plan(tx, name, grid_layer, principal.name, cells=cells[["code", "name", "community_code", "geometry"]])  # fmt: skip
    with conn.engine.connect() as c:
        return plan_store.plan_meta(c, plan_id)

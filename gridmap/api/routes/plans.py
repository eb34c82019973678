"""Planners' API: draft grid plans, live figures, validation with fixes, diff, approval.

Everything the editor checks is checked here, on the server; the browser only draws. Saves
name the version they started from and get 409 when someone saved in between.

Every account may look at plans; planners and admins change them (a planner only the cells of
their area), and admins approve. Who saved or approved is the logged-in account, never a name
the client sends.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Annotated, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from pyproj import Transformer
from sqlalchemy import func, select

from gridmap.api.deps import ConnDep, SettingsDep
from gridmap.api.routes.params import CHECKED, MAX_ID, LimitedBodyRoute, PlanId, Text
from gridmap.api.routes.uploads import save_upload
from gridmap.api.security import AreaDep, PrincipalDep, outside_area, require
from gridmap.config import Settings
from gridmap.core import plans as core
from gridmap.crs import metric_crs, metric_crs_for
from gridmap.errors import InputFileError, NotFoundError, PermissionDeniedError
from gridmap.io.geojson import cells_from_features, check_extent
from gridmap.layers import STORAGE_CRS
from gridmap.store import features as features_store
from gridmap.store import plans as store
from gridmap.store.areas import Area
from gridmap.store.db import transaction
from gridmap.store.features import grid_layers, read_features
from gridmap.store.models import table_for

router = APIRouter(
    prefix="/api/plans", tags=["plans"], route_class=LimitedBodyRoute,
    dependencies=[*CHECKED, require("view")],
)  # fmt: skip
EDIT = [require("edit_plan")]
# a save stores version + 1, which must still fit the column
Version = Annotated[int, Field(ge=1, le=MAX_ID - 1, description="所基于的版本 / version edited")]


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[dict[str, Any]]


class NewPlan(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    grid_layer: str = "party"
    note: str | None = None


class SavePlan(BaseModel):
    version: Version
    cells: FeatureCollection


class Cells(BaseModel):
    cells: FeatureCollection


class Fix(BaseModel):
    kind: Literal["snap_compound", "clip_to_community", "fill_gap"]
    code: str = Field(description="小区编号 (snap_compound) 或网格编号 (clip_to_community) 或社区编号 (fill_gap)")  # fmt: skip
    cells: FeatureCollection


class Shapes(BaseModel):
    op: Literal["merge", "difference"] = Field(description="merge: 合并两个网格; difference: 切出的部分")  # fmt: skip
    a: dict[str, Any]
    b: dict[str, Any]


class Approve(BaseModel):
    version: Version


def check_changes_in_area(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, area: Area | None) -> None:
    """403 when a planner's cells change outside their area (admins: ``area`` is ``None``)."""
    if area is None:
        return
    outside = core.changes_outside(old.to_crs(STORAGE_CRS), new.to_crs(STORAGE_CRS), area.geometry) if area.geometry is not None else ["*"]  # fmt: skip
    if outside:
        shown = "、".join(outside[:10]) + (" …" if len(outside) > 10 else "")
        raise PermissionDeniedError(
            f"网格 {shown} 不在您的范围 {area.code} 内，只能修改本范围内的网格，未保存。",
            f"Cells {', '.join(outside[:10])} lie outside your area {area.code}; you may change "
            "only the cells of your area. Nothing was saved.",
        )


def to_frame(collection: FeatureCollection, settings: Settings) -> gpd.GeoDataFrame:
    """GeoJSON features (WGS84) → a GeoDataFrame with code, name, community_code; clear 400s."""
    return cells_from_features(
        collection.features,
        max_features=settings.max_upload_features,
        max_extent_km=settings.max_plan_extent_km,
    )


def geojson(frame: gpd.GeoDataFrame) -> Response:
    frame = frame.to_crs(STORAGE_CRS)
    return Response(frame.to_json(na="null", drop_id=True, ensure_ascii=False), media_type="application/geo+json")  # fmt: skip


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", force_ascii=False))


def context(conn, frame: gpd.GeoDataFrame, *layers: str, pad_m: float = 0.0) -> dict[str, gpd.GeoDataFrame]:  # fmt: skip
    """The layers around ``frame``, read through the spatial index only as far as needed."""
    bbox = _bbox(frame.to_crs(STORAGE_CRS).geometry.values, pad_m)
    return {name: read_features(conn, name, bbox=bbox) for name in layers}


def metric(frame: gpd.GeoDataFrame, *others: gpd.GeoDataFrame):
    crs = metric_crs_for(frame)
    return [f.to_crs(crs) for f in (frame, *others)]


@router.get("", summary="方案列表 / plans")
def list_plans(conn: ConnDep, grid_layer: str | None = None) -> list[dict]:
    return store.list_plans(conn, grid_layer)


@router.post("", status_code=201, summary="新建方案 (复制网格图层) / new plan from a grid layer", dependencies=EDIT)  # fmt: skip
def new_plan(body: NewPlan, conn: ConnDep, principal: PrincipalDep) -> dict:
    engine = conn.engine
    with transaction(engine) as tx:
        plan_id = store.create_plan(tx, body.name, body.grid_layer, principal.name, note=body.note)
    with engine.connect() as c:
        return store.plan_meta(c, plan_id)


@router.post(
    "/import",
    status_code=201,
    summary="导入方案 (QGIS 绘制的 GeoJSON/GPKG) / import a plan",
    dependencies=EDIT,
)
def import_plan(
    conn: ConnDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    area: AreaDep,
    file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage, zipped Shapefile")],
    name: Annotated[str, Form(min_length=1, max_length=100), Text],
    grid_layer: Annotated[str, Form(min_length=1, max_length=64), Text] = "party",
) -> dict:
    from gridmap.io.read import ReadOptions, read_layer_file
    from gridmap.io.sources import Limits

    limits = Limits(settings.max_upload_features, settings.max_unzipped_mb)
    with tempfile.TemporaryDirectory(prefix="gridmap-upload-") as folder:
        path = save_upload(file, Path(folder), int(settings.max_upload_mb * 2**20))
        result = read_layer_file(path, "grid", ReadOptions(limits=limits))
    if result.report.rejected:
        from gridmap.errors import RowsRejectedError

        raise RowsRejectedError("方案文件中有不能用的行，未导入。", "Some rows of the plan file are unusable; nothing imported.", result.report.rejected)  # fmt: skip
    check_extent(result.frame.total_bounds, settings.max_plan_extent_km)
    if area is not None:
        current = read_features(conn, "grid", grid_layer=grid_layer) if grid_layer in grid_layers(conn) else result.frame.iloc[0:0]  # fmt: skip
        check_changes_in_area(current, result.frame, area)
    with transaction(conn.engine) as tx:
        plan_id = store.create_plan(tx, name, grid_layer, principal.name, cells=result.frame)
    with conn.engine.connect() as c:
        return store.plan_meta(c, plan_id)


class Propose(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    community: str | None = Field(None, description="只划分一个社区 / one community only")


def _community_to_propose(community: str | None, area: Area | None) -> str | None:
    """A planner proposes for a community of their area: their own if they name none."""
    if area is None:
        return community
    if community is None:
        if area.level == "community":
            return area.code
        if area.level != "subdistrict":
            raise PermissionDeniedError(
                "网格范围的账号不能自动划分，请联系社区或街道规划员。",
                "An account of one grid cannot propose a division; ask a community or subdistrict planner.",
            )  # fmt: skip
        return None
    if not area.holds_community(community):
        raise outside_area(f"社区 {community}", f"community {community}")
    return community


@router.post("/propose", status_code=201, summary="自动划分网格 (存为草稿方案) / automatic proposal as a draft", dependencies=EDIT)  # fmt: skip
def propose(body: Propose, conn: ConnDep, settings: SettingsDep, principal: PrincipalDep, area: AreaDep) -> dict:  # fmt: skip
    from gridmap.proposing import propose_plan

    community = _community_to_propose(body.community, area)
    done = propose_plan(conn.engine, settings, name=body.name, author=principal.name, community=community)  # fmt: skip
    with conn.engine.connect() as c:
        meta = store.plan_meta(c, done.plan_id)
    return {**meta, "cells_count": done.cells, "problems": _records(done.problems)}


@router.get("/{plan_id}", summary="方案与网格 / a plan and its cells")
def get_plan(plan_id: PlanId, conn: ConnDep) -> dict:
    meta = store.plan_meta(conn, plan_id)
    cells = store.read_cells(conn, plan_id)
    return {**meta, "cells": json.loads(cells.to_json(na="null", drop_id=True, ensure_ascii=False))}


@router.put("/{plan_id}", summary="保存方案 (版本冲突返回 409) / save; 409 on a newer version", dependencies=EDIT)  # fmt: skip
def save_plan(plan_id: PlanId, body: SavePlan, conn: ConnDep, settings: SettingsDep,
              principal: PrincipalDep, area: AreaDep) -> dict:  # fmt: skip
    cells = to_frame(body.cells, settings)
    if area is not None:
        check_changes_in_area(store.read_cells(conn, plan_id), cells, area)
    with transaction(conn.engine) as tx:
        version = store.save_plan(tx, plan_id, body.version, cells, principal.name)
    with conn.engine.connect() as c:
        return {**store.plan_meta(c, plan_id), "version": version}


@lru_cache(maxsize=16)
def _to_metric(epsg: int) -> Transformer:
    return Transformer.from_crs(4326, epsg, always_xy=True)


def _project(geoms: np.ndarray, transformer: Transformer) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))  # fmt: skip


def _raw(conn, layer: str, columns: list[str], bbox) -> tuple[list[np.ndarray], np.ndarray]:
    """Just ``columns`` and the geometry of a layer inside ``bbox`` — no GeoDataFrame."""
    table = table_for(layer)
    query = select(*[table.c[c] for c in columns], func.ST_AsBinary(table.c.geom))
    rows = conn.execute(query.where(features_store.bbox_clause(conn, table, bbox))).all()
    cols = [np.array([r[i] for r in rows], dtype=object) for i in range(len(columns))]
    geoms = shapely.from_wkb(np.array([bytes(r[-1]) for r in rows], dtype=object)) if rows else np.array([], dtype=object)  # fmt: skip
    return cols, geoms


def _bbox(geoms: np.ndarray, pad_m: float = 0.0) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    pad = pad_m / 90_000  # metres → degrees, generously
    return (x0 - pad * 1.5, y0 - pad, x1 + pad * 1.5, y1 + pad)


@router.post("/{plan_id}/figures", summary="所改网格的实时数字 / live figures of edited cells", dependencies=EDIT)  # fmt: skip
def figures(plan_id: PlanId, body: Cells, conn: ConnDep, settings: SettingsDep) -> list[dict]:
    """Called after every edit, so kept lean: raw rows in the cells' box, one cached
    projection, array code (see :func:`gridmap.core.plans.figures_of`)."""
    store.plan_meta(conn, plan_id)
    cells = to_frame(body.cells, settings)
    if cells.empty:
        return []
    geoms = np.asarray(cells.geometry.values, dtype=object)
    box = _bbox(geoms)
    (households,), buildings = _raw(conn, "building", ["households"], box)
    (compound_codes,), compounds = _raw(conn, "compound", ["code"], box)
    (category,), members = _raw(conn, "member", ["category"], box)
    (station_codes,), stations = _raw(conn, "station", ["code"], _bbox(geoms, settings.station_radius_m))  # fmt: skip
    lon, lat = shapely.centroid(shapely.box(*box)).coords[0]
    transformer = _to_metric(metric_crs(lon, lat).to_epsg())
    project = partial(_project, transformer=transformer)
    frame = core.figures_of(
        cells["code"].to_numpy(), project(geoms),
        project(buildings), np.where(households == None, 0, households).astype(np.int64),  # noqa: E711
        compound_codes, project(compounds), project(members), category == "full",
        station_codes, project(stations),
        band=core.Band(settings.grid_households_min, settings.grid_households_max),
        station_radius_m=settings.station_radius_m,
    )  # fmt: skip
    return _records(frame)


@router.post("/{plan_id}/validate", summary="校验方案 (服务器端) / validate on the server", dependencies=EDIT)  # fmt: skip
def validate(
    plan_id: PlanId, conn: ConnDep, settings: SettingsDep, body: Cells | None = None
) -> Response:
    cells = (
        to_frame(body.cells, settings)
        if body and body.cells.features
        else store.read_cells(conn, plan_id)
    )
    store.plan_meta(conn, plan_id)
    if cells.empty:
        return geojson(gpd.GeoDataFrame(columns=core.PROBLEM_COLUMNS, geometry="geometry", crs=STORAGE_CRS))  # fmt: skip
    around = context(conn, cells, "community", "compound")
    cells_m, communities, compounds = metric(cells, around["community"], around["compound"])
    problems = core.validate(cells_m, communities, compounds, tolerance_m2=settings.overlap_tolerance_m2)  # fmt: skip
    return geojson(problems)


@router.post(
    "/{plan_id}/fix", summary="一键修复 (贴合小区边界等) / one-click fix", dependencies=EDIT
)
def fix(plan_id: PlanId, body: Fix, conn: ConnDep, settings: SettingsDep) -> Response:
    store.plan_meta(conn, plan_id)
    cells = to_frame(body.cells, settings)
    if cells.empty:
        raise InputFileError("没有要修复的网格。", "No cells to fix: the collection is empty.")
    around = context(conn, cells, "community", "compound")
    cells_m, communities, compounds = metric(cells, around["community"], around["compound"])
    if body.kind == "snap_compound":
        match = compounds[compounds["code"] == body.code]
        if match.empty:
            raise NotFoundError(f"附近没有小区 {body.code}。", f"No compound {body.code} near these cells.")  # fmt: skip
        changed = core.snap_compound(cells_m, match.geometry.iloc[0])
    elif body.kind == "clip_to_community":
        at = cells_m.index[cells_m["code"] == body.code]
        if len(at) == 0:
            raise NotFoundError(f"没有网格 {body.code}。", f"No cell {body.code}.")
        changed = cells_m.loc[at].copy()
        changed.geometry = [core.clip_to_community(changed.geometry.iloc[0], communities)]
    else:
        match = communities[communities["code"] == body.code]
        if match.empty:
            raise NotFoundError(f"附近没有社区 {body.code}。", f"No community {body.code} near these cells.")  # fmt: skip
        gap = shapely.difference(match.geometry.iloc[0], shapely.union_all(cells_m.geometry.values))
        changed = core.fill_gap(cells_m, gap)
    return geojson(changed)


@router.post("/{plan_id}/shapes", summary="合并网格或取切分的另一半 / merge two cells, or the cut-off part", dependencies=EDIT)  # fmt: skip
def shapes(plan_id: PlanId, body: Shapes, conn: ConnDep, settings: SettingsDep) -> dict:
    """``merge``: a ∪ b (keeps a's code); ``difference``: a − b, what a cut removed from a —
    the editor makes it a new cell, so cutting a grid splits it in two."""
    store.plan_meta(conn, plan_id)
    frame = to_frame(FeatureCollection(features=[body.a, body.b]), settings)
    crs = metric_crs_for(frame)
    a, b = frame.to_crs(crs).geometry.values
    geom = shapely.union(a, b) if body.op == "merge" else shapely.difference(a, b)
    parts = shapely.get_parts(geom)
    parts = parts[shapely.area(parts) > 1.0]  # drop digitising dust below 1 m²
    if len(parts) == 0:
        raise InputFileError("结果为空。", "The result is empty.")
    out = gpd.GeoSeries([shapely.make_valid(shapely.union_all(parts))], crs=crs).to_crs(STORAGE_CRS)
    return {"type": "Feature", "properties": dict(body.a.get("properties") or {}),
            "geometry": shapely.geometry.mapping(out.iloc[0])}  # fmt: skip


@router.get("/{plan_id}/diff", summary="方案与现行网格的差异 / plan against the current layer")
def diff(plan_id: PlanId, conn: ConnDep) -> dict:
    meta = store.plan_meta(conn, plan_id)
    plan = store.read_cells(conn, plan_id)
    current = read_features(conn, "grid", grid_layer=meta["grid_layer"]) if meta["grid_layer"] in grid_layers(conn) else plan.iloc[0:0]  # fmt: skip
    both = pd.concat([plan.geometry, current.geometry])
    if both.empty:
        return {"cells": [], "moves": []}
    x0, y0, x1, y1 = both.total_bounds
    bbox = (x0, y0, x1, y1)
    buildings = read_features(conn, "building", bbox=bbox)
    members = read_features(conn, "member", bbox=bbox)
    plan_m, current_m, buildings_m, members_m = metric(plan, current, buildings, members)
    cells, moves = core.diff(plan_m, current_m, buildings_m, members_m)
    return {"plan": meta, "cells": _records(cells), "moves": _records(moves)}


@router.post(
    "/{plan_id}/approve", summary="批准方案: 成为现行网格 (管理员) / approve: the plan becomes the layer (admins)",
    dependencies=[require("approve_plan")],
)  # fmt: skip
def approve(plan_id: PlanId, body: Approve, conn: ConnDep, principal: PrincipalDep) -> dict:
    summary = diff(plan_id, conn)
    counts = pd.Series([c["change"] for c in summary["cells"]]).value_counts().to_dict() if summary["cells"] else {}  # fmt: skip
    with transaction(conn.engine) as tx:
        entry = store.approve_plan(
            tx, plan_id, body.version, principal.name, summary={"changes": counts}
        )
    return entry


@router.get("/{plan_id}/export", summary="导出方案 / export a plan")
def export(plan_id: PlanId, conn: ConnDep, format: Literal["geojson", "gpkg", "csv"] = "geojson") -> Response:  # fmt: skip
    from urllib.parse import quote

    from gridmap.io.write import write_frame

    meta = store.plan_meta(conn, plan_id)
    cells = store.read_cells(conn, plan_id)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    filename = f"{meta['name']}-v{meta['version']}-{stamp}.{format}"
    disposition = (
        f"attachment; filename=plan-{plan_id}.{format}; filename*=UTF-8''{quote(filename)}"
    )
    media = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3", "csv": "text/csv; charset=utf-8"}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = write_frame(cells, Path(folder) / f"plan.{format}", format, f"plan_{plan_id}")
        data = path.read_bytes()
    return Response(data, media_type=media[format], headers={"Content-Disposition": disposition})

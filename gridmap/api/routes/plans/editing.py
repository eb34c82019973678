"""What the editor calls while a planner draws: open and save a plan, live figures of the
edited cells, server-side validation, one-click fixes, and merging or cutting cells."""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import shapely
from fastapi.responses import Response
from pydantic import BaseModel, Field
from pyproj import Transformer
from sqlalchemy import func, select

from gridmap.api.deps import ConnDep, SettingsDep
from gridmap.api.routes.params import PlanId
from gridmap.api.routes.plans.counts import hide_member_counts, reaching_beyond, whole_cells
from gridmap.api.routes.plans.frames import (
    features_of,
    metric,
    named_problems,
    records,
    with_layer_name,
)
from gridmap.api.routes.plans.routing import (
    EDIT,
    FeatureCollection,
    Version,
    check_changes_in_area,
    router,
)
from gridmap.api.security import AreaDep, PrincipalDep
from gridmap.config import Settings
from gridmap.core import coverage_fixes as fixes
from gridmap.core import plans as core
from gridmap.core.unit_plans import compounds_by_community
from gridmap.crs import metric_crs, metric_crs_for
from gridmap.errors import InputFileError, NotFoundError
from gridmap.io.geojson import cells_from_features
from gridmap.io.geojson_text import MEDIA_TYPE, frame_collection
from gridmap.layers import STORAGE_CRS
from gridmap.placed_members import member_homes
from gridmap.store import features as features_store
from gridmap.store import plans as store
from gridmap.store.db import transaction
from gridmap.store.features import read_features
from gridmap.store.models import table_for


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


def to_frame(collection: FeatureCollection, settings: Settings) -> gpd.GeoDataFrame:
    """GeoJSON features (WGS84) → a GeoDataFrame with code, name, community_code; clear 400s."""
    return cells_from_features(
        collection.features,
        max_features=settings.max_upload_features,
        max_extent_km=settings.max_plan_extent_km,
    )


def geojson(frame: gpd.GeoDataFrame) -> Response:
    return Response(frame_collection(frame.to_crs(STORAGE_CRS)), media_type=MEDIA_TYPE)


def context(conn, frame: gpd.GeoDataFrame, *layers: str, pad_m: float = 0.0) -> dict[str, gpd.GeoDataFrame]:  # fmt: skip
    """The layers around ``frame``, read through the spatial index only as far as needed."""
    bbox = _bbox(frame.to_crs(STORAGE_CRS).geometry.values, pad_m)
    return {name: read_features(conn, name, bbox=bbox) for name in layers}


@router.get("/{plan_id}", summary="方案与网格 / a plan and its cells")
def get_plan(plan_id: PlanId, conn: ConnDep, area: AreaDep) -> dict:
    """The plan, its cells, and ``locked``: the codes of the cells outside the caller's area,
    which a save may not change (``area``: the caller's area code, ``None`` for admins)."""
    meta = store.plan_meta(conn, plan_id)
    cells = store.read_cells(conn, plan_id)
    locked = [] if area is None else cells["code"][~area.covers(cells.geometry.values)].tolist()
    return {**with_layer_name(meta), "area": area.code if area is not None else None,
            "locked": locked,
            "cells": features_of(cells)}  # fmt: skip


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
def figures(plan_id: PlanId, body: Cells, conn: ConnDep, settings: SettingsDep,
            principal: PrincipalDep, area: AreaDep) -> list[dict]:  # fmt: skip
    """Called after every edit, so kept lean: raw rows in the cells' box, one cached
    projection, array code (see :func:`gridmap.core.plans.figures_of`). Member counts only
    inside the caller's area, small ones hidden from masked roles (:mod:`.counts`)."""
    grid_layer = store.plan_meta(conn, plan_id)["grid_layer"]
    cells = to_frame(body.cells, settings)
    if cells.empty:
        return []
    geoms = np.asarray(cells.geometry.values, dtype=object)
    box = _bbox(geoms)
    (building_codes, households), buildings = _raw(conn, "building", ["code", "households"], box)
    (compound_codes,), compounds = _raw(conn, "compound", ["code"], box)
    (community_codes,), communities = _raw(conn, "community", ["code"], box)
    # a member snapped to a building in these cells may live just outside their box
    member_box = _bbox(geoms, settings.member_snap_distance_m)
    (member_codes, category, updated), members = _raw(conn, "member", ["code", "category", "updated_at"], member_box)  # fmt: skip
    if area is not None:
        home = area.covers(members)
        member_codes, category, updated, members = member_codes[home], category[home], updated[home], members[home]  # fmt: skip
    (station_codes,), stations = _raw(conn, "station", ["code"], _bbox(geoms, settings.station_radius_m))  # fmt: skip
    lon, lat = shapely.centroid(shapely.box(*box)).coords[0]
    transformer = _to_metric(metric_crs(lon, lat).to_epsg())
    project = partial(_project, transformer=transformer)
    # a compound across a community border is whole in a cell on each side, not cut
    member_home = member_homes(conn, member_codes, updated, building_codes, member_box, project(buildings), project(members))  # fmt: skip
    pieces = compounds_by_community(*(gpd.GeoDataFrame({"code": c}, geometry=project(g), crs=transformer.target_crs) for c, g in ((compound_codes, compounds), (community_codes, communities))))  # fmt: skip
    frame = core.figures_of(
        cells["code"].to_numpy(), project(geoms),
        project(buildings), np.where(households == None, 0, households).astype(np.int64),  # noqa: E711
        pieces["code"].to_numpy(), pieces.geometry.values, project(members), category == "full",
        station_codes, project(stations),
        band=core.Band(settings.grid_households_min, settings.grid_households_max),
        station_radius_m=settings.station_radius_m, member_home=member_home,
    )  # fmt: skip
    cells_m = project(geoms)
    outside = np.zeros(len(cells_m), dtype=bool)
    if area is not None:
        area_m = project(np.array([area.geometry], dtype=object))[0] if area.geometry is not None else None  # fmt: skip
        outside = reaching_beyond(cells_m, area_m)
    masked = not principal.may("personal")
    whole = np.ones(len(cells_m), dtype=bool)
    if masked:  # whole: a cell of the saved plan as the current grid layer has it too
        codes = cells["code"].to_numpy()
        for stored in (store.read_cells(conn, plan_id, bbox=box), current_cells(conn, grid_layer, box)):  # fmt: skip
            whole &= whole_cells(codes, cells_m, stored["code"].to_numpy(), project(np.asarray(stored.geometry.values, dtype=object)))  # fmt: skip
    return records(hide_member_counts(frame, masked=masked, whole=whole, outside=outside, min_shown=settings.min_count_shown))  # fmt: skip


def current_cells(conn, grid_layer: str, box) -> gpd.GeoDataFrame:
    """The cells of the current grid layer ``grid_layer`` in ``box`` (none if no such layer)."""
    if grid_layer not in features_store.grid_layers(conn):
        return gpd.GeoDataFrame({"code": []}, geometry=[], crs=STORAGE_CRS)
    return read_features(conn, "grid", grid_layer=grid_layer, bbox=box, columns=())


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
    return geojson(named_problems(problems, grid=cells_m, community=communities, compound=compounds))  # fmt: skip


@router.post(
    "/{plan_id}/fix", summary="一键修复 (贴合小区边界等) / one-click fix", dependencies=EDIT
)
def fix(plan_id: PlanId, body: Fix, conn: ConnDep, settings: SettingsDep, area: AreaDep) -> Response:  # fmt: skip
    """The cells the fix changes, held to the same tiling check as a free edit
    (:func:`gridmap.core.coverage_fixes.check_fix`): ground cut off a cell clipped to its
    community goes to the neighbouring cell with the longest border on it; a fix that would still
    leave 留白, open an overlap or change a cell outside the caller's area is refused (400) with
    the reason, naming the cells."""
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
        changed = core.snap_compound(cells_m, match.geometry.iloc[0], communities)
    elif body.kind == "clip_to_community":
        if not (cells_m["code"] == body.code).any():
            raise NotFoundError(f"没有网格 {body.code}。", f"No cell {body.code}.")
        changed = fixes.clip_giving_cut_off(cells_m, body.code, communities)
    else:
        match = communities[communities["code"] == body.code]
        if match.empty:
            raise NotFoundError(f"附近没有社区 {body.code}。", f"No community {body.code} near these cells.")  # fmt: skip
        gap = shapely.difference(match.geometry.iloc[0], shapely.union_all(cells_m.geometry.values))
        changed = core.fill_gap(cells_m, gap)
    locked = [] if area is None else cells["code"][~area.covers(cells.geometry.values)].tolist()
    check = fixes.check_fix(cells_m, changed, communities, locked=locked)
    if not check.ok:
        zh, en = "；".join(check.problems["message_zh"].head(3)), "; ".join(check.problems["message_en"].head(3))  # fmt: skip
        raise InputFileError(f"未修复，网格保持原样：{zh}。", f"Not fixed, the cells are as they were: {en}.")  # fmt: skip
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

"""Store draft grid plans: create from a layer, read, save with a version check, approve.

Saving is optimistic: the caller names the version it started from; if someone saved a newer
one meanwhile the save is refused with :class:`ConflictError` saying who saved and when, and
nothing is written. Approving replaces the grid layer's cells by the plan's in one
transaction, keeps the replaced cells in ``grid_history`` and records who, when and what in the
change log.
"""

from __future__ import annotations

from datetime import UTC, datetime

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from gridmap.errors import ConflictError, NotFoundError, RowProblem, RowsRejectedError
from gridmap.io.polygons import polygonal
from gridmap.layers import STORAGE_CRS
from gridmap.store import features
from gridmap.store.features import log_change, with_wkb_geometry
from gridmap.store.models import SRID, GridHistory, Plan, PlanCell, table_for

PLAN_FIELDS = ["id", "name", "grid_layer", "status", "version", "created_by", "created_at",
               "saved_by", "saved_at", "approved_by", "approved_at", "note"]  # fmt: skip


def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="seconds")


def _meta(row) -> dict:
    out = dict(row)
    for key in ("created_at", "saved_at", "approved_at"):
        out[key] = _iso(out[key])
    return out


def list_plans(conn: Connection, grid_layer: str | None = None) -> list[dict]:
    table = Plan.__table__
    query = select(*[table.c[f] for f in PLAN_FIELDS]).order_by(table.c.id)
    if grid_layer:
        query = query.where(table.c.grid_layer == grid_layer)
    return [_meta(r) for r in conn.execute(query).mappings()]


def plan_meta(conn: Connection, plan_id: int) -> dict:
    table = Plan.__table__
    row = conn.execute(select(*[table.c[f] for f in PLAN_FIELDS]).where(table.c.id == plan_id)).mappings().first()  # fmt: skip
    if row is None:
        raise NotFoundError(f"没有方案 {plan_id}。", f"No plan {plan_id}.")
    return _meta(row)


def read_cells(conn: Connection, plan_id: int, bbox=None) -> gpd.GeoDataFrame:
    table = PlanCell.__table__
    query = select(table.c.code, table.c.name, table.c.community_code,
                   func.ST_AsBinary(table.c.geom).label("wkb")).where(table.c.plan_id == plan_id)  # fmt: skip
    if bbox is not None:
        query = query.where(features.bbox_clause(conn, table, bbox))
    rows = conn.execute(query.order_by(table.c.code)).mappings().all()
    return with_wkb_geometry(pd.DataFrame(rows, columns=["code", "name", "community_code", "wkb"]))


def _check_cells(cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Codes present and unique, polygons valid (repaired) → MultiPolygons in EPSG:4326."""
    problems = []
    codes = cells["code"].astype("string")
    for i, code in enumerate(codes):
        if pd.isna(code) or not str(code).strip():
            problems.append(RowProblem(i + 1, "code", "网格缺少编号", "cell has no code"))
    for code in codes[codes.duplicated()].dropna().unique():
        problems.append(RowProblem(None, "code", f"编号 {code} 重复", f"code {code} appears twice"))
    geoms = shapely.make_valid(cells.geometry.values)
    polys = polygonal(geoms)
    for i, (code, g) in enumerate(zip(codes, polys, strict=True)):
        if g is None or g.is_empty or g.area == 0:
            problems.append(RowProblem(i + 1, "geometry", f"网格 {code} 不是面", f"cell {code} is not a polygon"))  # fmt: skip
    if problems:
        raise RowsRejectedError("方案未保存：有网格不合格。", "Plan not saved: some cells are unusable.", problems)  # fmt: skip
    out = cells[["code"]].copy()
    out["code"] = codes.str.strip()
    out["name"] = cells.get("name")
    out["community_code"] = cells.get("community_code")
    return gpd.GeoDataFrame(out, geometry=polys, crs=STORAGE_CRS)


def _write_cells(conn: Connection, plan_id: int, cells: gpd.GeoDataFrame) -> None:
    table = PlanCell.__table__
    conn.execute(delete(table).where(table.c.plan_id == plan_id))
    if cells.empty:
        return
    data = cells[["code", "name", "community_code"]].astype(object)
    records = data.where(data.notna(), None).to_dict("records")
    for record, wkb in zip(records, shapely.to_wkb(cells.geometry.values), strict=True):
        record.update(plan_id=plan_id, wkb=wkb)
    values = {c: bindparam(c) for c in ("plan_id", "code", "name", "community_code")}
    values["geom"] = func.ST_GeomFromWKB(bindparam("wkb"), SRID)
    conn.execute(insert(table).values(values), records)


def create_plan(conn: Connection, name: str, grid_layer: str, actor: str,
                cells: gpd.GeoDataFrame | None = None, note: str | None = None) -> int:  # fmt: skip
    """A new draft plan: a copy of ``grid_layer`` (or of ``cells``, e.g. imported or proposed)."""
    if cells is None:
        if grid_layer not in features.grid_layers(conn):
            raise NotFoundError(f"没有网格图层 {grid_layer}。", f"No grid layer {grid_layer}.")
        cells = features.read_features(conn, "grid", grid_layer=grid_layer)
    cells = _check_cells(cells.to_crs(STORAGE_CRS))
    now = datetime.now(UTC)
    result = conn.execute(insert(Plan).values(
        name=name, grid_layer=grid_layer, status="draft", version=1, created_by=actor,
        created_at=now, saved_by=actor, saved_at=now, note=note))  # fmt: skip
    plan_id = int(result.inserted_primary_key[0])
    _write_cells(conn, plan_id, cells)
    log_change(conn, actor, "plan_create", f"grid:{grid_layer}", {"plan": plan_id, "name": name, "cells": len(cells)})  # fmt: skip
    return plan_id


def _stale(conn: Connection, plan_id: int, version: int) -> ConflictError:
    meta = plan_meta(conn, plan_id)
    return ConflictError(
        f"方案已被 {meta['saved_by']} 于 {meta['saved_at']} 保存为第 {meta['version']} 版，"
        f"你的修改基于第 {version} 版，未保存。请重新载入后再改。",
        f"The plan was saved as version {meta['version']} by {meta['saved_by']} at "
        f"{meta['saved_at']}; your changes are based on version {version} and were not saved. "
        "Reload and edit again.",
    )


def save_plan(conn: Connection, plan_id: int, version: int, cells: gpd.GeoDataFrame, actor: str) -> int:  # fmt: skip
    """Replace the plan's cells if ``version`` is still the newest; returns the new version."""
    meta = plan_meta(conn, plan_id)
    if meta["status"] != "draft":
        raise ConflictError(f"方案 {plan_id} 已{'批准' if meta['status'] == 'approved' else '作废'}，不能再改。",
                            f"Plan {plan_id} is {meta['status']} and can no longer change.")  # fmt: skip
    cells = _check_cells(cells.to_crs(STORAGE_CRS))
    table = Plan.__table__
    # compare-and-set in the database: of two saves from the same version, exactly one wins
    done = conn.execute(
        update(table).where(table.c.id == plan_id, table.c.version == version)
        .values(version=version + 1, saved_by=actor, saved_at=datetime.now(UTC))
    ).rowcount  # fmt: skip
    if done != 1:
        raise _stale(conn, plan_id, version)
    _write_cells(conn, plan_id, cells)
    log_change(conn, actor, "plan_save", f"grid:{meta['grid_layer']}",
               {"plan": plan_id, "version": version + 1, "cells": len(cells)})  # fmt: skip
    return version + 1


def approve_plan(conn: Connection, plan_id: int, version: int, actor: str, summary: dict | None = None) -> dict:  # fmt: skip
    """The plan becomes the grid layer; the replaced cells go to history; the log says so."""
    meta = plan_meta(conn, plan_id)
    if meta["status"] != "draft":
        raise ConflictError(f"方案 {plan_id} 已是 {meta['status']}。", f"Plan {plan_id} is already {meta['status']}.")  # fmt: skip
    if meta["version"] != version:
        raise _stale(conn, plan_id, version)
    layer = meta["grid_layer"]
    now = datetime.now(UTC)
    grid = table_for("grid")
    old = features.read_features(conn, "grid", grid_layer=layer) if layer in features.grid_layers(conn) else None  # fmt: skip
    if old is not None and len(old):
        data = old[["code", "name", "community_code"]].astype(object)
        records = data.where(data.notna(), None).to_dict("records")
        for record, wkb in zip(records, shapely.to_wkb(old.geometry.values), strict=True):
            record.update(layer=layer, replaced_at=now, replaced_by_plan=plan_id, wkb=wkb)
        values = {c: bindparam(c) for c in ("layer", "code", "name", "community_code", "replaced_at", "replaced_by_plan")}  # fmt: skip
        values["geom"] = func.ST_GeomFromWKB(bindparam("wkb"), SRID)
        conn.execute(insert(GridHistory.__table__).values(values), records)
        conn.execute(delete(grid).where(grid.c.layer == layer))
    cells = read_cells(conn, plan_id)
    features.upsert_features(conn, "grid", cells, grid_layer=layer, source=f"plan {plan_id}")
    table = Plan.__table__
    conn.execute(update(table).where(table.c.id == plan_id).values(
        status="approved", approved_by=actor, approved_at=now))  # fmt: skip
    entry = {"plan": plan_id, "version": version, "replaced": 0 if old is None else len(old),
             "cells": len(cells), **(summary or {})}  # fmt: skip
    log_change(conn, actor, "plan_approve", f"grid:{layer}", entry)
    return entry


def history(conn: Connection, layer: str) -> gpd.GeoDataFrame:
    """Every replaced cell of a grid layer, oldest first."""
    table = GridHistory.__table__
    cols = [table.c.code, table.c.name, table.c.community_code, table.c.replaced_at, table.c.replaced_by_plan]  # fmt: skip
    rows = conn.execute(select(*cols, func.ST_AsBinary(table.c.geom).label("wkb"))
                        .where(table.c.layer == layer).order_by(table.c.id)).mappings().all()  # fmt: skip
    return with_wkb_geometry(pd.DataFrame(rows, columns=[c.name for c in cols] + ["wkb"]))

"""What the editor asks after each free edit of a plan's cells: does the edit keep the cells a
tiling (no overlap, no 留白, nothing beyond the plan's ground, no locked cell changed), and a
newly drawn cell carved from the cells it covers. See :mod:`gridmap.core.coverage_edit`.

Both answer with the same body: ``ok``; ``message_zh``/``message_en`` saying why an edit was
refused; ``problems``, the offending places (GeoJSON, WGS84); ``cells``, the cells as they should
now be drawn (welded: a vertex on a neighbour's border is a vertex of both) and ``removed``, the
codes of cells left without ground. The client restores the cells of before a refused edit.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from gridmap.api.deps import ConnDep, SettingsDep
from gridmap.api.routes.params import PlanId
from gridmap.api.routes.plans.editing import to_frame
from gridmap.api.routes.plans.frames import features_of
from gridmap.api.routes.plans.routing import EDIT, FeatureCollection, router
from gridmap.api.security import AreaDep
from gridmap.core import coverage_edit as core
from gridmap.crs import metric_crs_for
from gridmap.errors import InputFileError
from gridmap.io.polygons import polygons_of
from gridmap.layers import STORAGE_CRS
from gridmap.store import plans as store

# about 2 mm: what rounding GeoJSON to 8 decimals (about 1 mm) can put between a vertex and the
# border it was cut on
WELD_DEGREES = 2e-8


class EditedCells(BaseModel):
    before: FeatureCollection = Field(description="修改前的网格 (所改网格及其邻近网格) / the cells around the edit, before")  # fmt: skip
    after: FeatureCollection = Field(description="修改后的同一批网格 / the same cells after the edit")  # fmt: skip


class DrawnCell(BaseModel):
    cells: FeatureCollection = Field(description="画出范围内及其邻近的网格 / the cells around the drawn shape")  # fmt: skip
    drawn: dict[str, Any] = Field(description="画出的多边形 (GeoJSON Feature) / the drawn polygon")
    code: str = Field(min_length=1, max_length=64, description="新网格编号 / the new cell's code")


def _locked(area, *frames: gpd.GeoDataFrame) -> set[str]:
    """Codes of the cells a planner may not change: those not lying wholly in their area."""
    if area is None:
        return set()
    if area.geometry is None:
        return {str(c) for f in frames for c in f["code"]}
    return {str(c) for f in frames for c, inside in zip(f["code"], area.covers(f.geometry.values), strict=True) if not inside}  # fmt: skip


def _features(frame: gpd.GeoDataFrame) -> dict:
    return features_of(frame) if len(frame) else {"type": "FeatureCollection", "features": []}


def _answer(problems: gpd.GeoDataFrame, cells: gpd.GeoDataFrame, removed: list[str]) -> dict:
    ok = problems.empty
    zh, en = ("", "") if ok else core.summary(problems)
    return {"ok": ok, "message_zh": zh, "message_en": en, "problems": _features(problems),
            "cells": _features(cells[["code", "geometry"]]) if ok else _features(cells.iloc[:0][["code", "geometry"]]),
            "removed": removed if ok else []}  # fmt: skip


def _checked(before: gpd.GeoDataFrame, after: gpd.GeoDataFrame, area) -> dict:
    """Weld ``after`` around what changed, check it against ``before``, answer with the cells
    the edit changed or welded."""
    locked = _locked(area, before, after)
    welded = core.weld(after, core.changed_codes(before, after), WELD_DEGREES, fixed=locked)
    after = after.assign(geometry=[welded.get(str(c), g) for c, g in zip(after["code"], after.geometry.values, strict=True)])  # fmt: skip
    crs = metric_crs_for(after if len(after) else before)
    check = core.check_edit(before.to_crs(crs), after.to_crs(crs), locked=locked)
    drawn = after[after["code"].astype(str).isin(set(check.changed) | set(welded)).to_numpy()]
    removed = sorted(set(map(str, before["code"])) - set(map(str, after["code"])))
    return _answer(check.problems, drawn, removed)


def _cells(collection: FeatureCollection, settings) -> gpd.GeoDataFrame:
    """Cells from GeoJSON, only their polygons (a repair may leave lines beside them)."""
    frame = to_frame(collection, settings)
    return frame.assign(geometry=[polygons_of(g) for g in frame.geometry.values]) if len(frame) else frame  # fmt: skip


@router.post("/{plan_id}/topology/check", summary="检查一次修改是否保持网格无重叠、无留白 / does an edit keep the tiling", dependencies=EDIT)  # fmt: skip
def check_edit(plan_id: PlanId, body: EditedCells, conn: ConnDep, settings: SettingsDep, area: AreaDep) -> dict:  # fmt: skip
    """The cells around an edit before and after it (cells equal in both are its context).
    Refused (``ok`` false) when the edit opens an overlap or 留白, reaches beyond the ground the
    cells held, changes a cell outside the caller's area, or leaves an invalid outline."""
    store.plan_meta(conn, plan_id)
    before, after = _cells(body.before, settings), _cells(body.after, settings)
    if before.empty:
        raise InputFileError("没有修改前的网格。", "No cells before the edit: 'before' is empty.")
    return _checked(before, after, area)


@router.post("/{plan_id}/topology/carve", summary="新画的网格从所覆盖的网格中切出 / a drawn cell carved from the cells it covers", dependencies=EDIT)  # fmt: skip
def carve(plan_id: PlanId, body: DrawnCell, conn: ConnDep, settings: SettingsDep, area: AreaDep) -> dict:  # fmt: skip
    """The drawn polygon becomes cell ``code`` made of the ground it takes from the cells it
    covers, which keep the rest; refused where it reaches beyond their ground (留白 of the plan
    or outside it), or takes ground from a cell outside the caller's area."""
    store.plan_meta(conn, plan_id)
    before = _cells(body.cells, settings)
    drawn = _cells(FeatureCollection(features=[{**body.drawn, "properties": {"code": body.code}}]), settings)  # fmt: skip
    if before.empty:
        raise InputFileError("画出的网格不在任何网格上：新网格须从已有网格中切出。",
                             "The drawn cell covers no cell: a new cell must be carved from existing ones.")  # fmt: skip
    crs = metric_crs_for(before)
    cells_m = before.to_crs(crs)
    cell, reshaped, outside = core.carve(cells_m, drawn.to_crs(crs).geometry.iloc[0])
    if len(outside):
        return _answer(core.beyond(body.code, outside, crs), before.iloc[:0], [])
    if cell.is_empty:
        raise InputFileError("画出的网格没有面积。", "The drawn cell has no area.")
    kept = cells_m.assign(geometry=[reshaped.get(str(c), g) for c, g in zip(cells_m["code"], cells_m.geometry.values, strict=True)])  # fmt: skip
    kept = kept[~kept.geometry.is_empty]
    after = pd.concat([kept, gpd.GeoDataFrame({"code": [body.code]}, geometry=[cell], crs=crs)], ignore_index=True)  # fmt: skip
    after = gpd.GeoDataFrame(after, geometry="geometry", crs=crs).to_crs(STORAGE_CRS)
    # back in degrees, the untouched cells are exactly as sent
    after.geometry = np.array([g if str(c) not in reshaped else a for c, g, a in zip(after["code"], _as_sent(before, after), after.geometry.values, strict=True)], dtype=object)  # fmt: skip
    return _checked(before, after, area)


def _as_sent(before: gpd.GeoDataFrame, after: gpd.GeoDataFrame) -> list:
    sent = dict(zip(before["code"].astype(str), before.geometry.values, strict=True))
    return [sent.get(str(c), g) for c, g in zip(after["code"], after.geometry.values, strict=True)]


@router.post("/{plan_id}/topology/weld", summary="打开方案时焊接全部网格的公共边界 / weld the whole plan once when it is opened", dependencies=EDIT)  # fmt: skip
def weld(plan_id: PlanId, conn: ConnDep, area: AreaDep) -> dict:
    """The saved cells with every corner of one lying on a neighbour's border made a vertex of
    the neighbour too (:func:`gridmap.core.coverage_edit.weld_all`): cells painted from units
    meet in T-junctions, whose corners could not be dragged otherwise. ``cells``: only the cells
    that changed (code, geometry), never one outside the caller's area; areas are unchanged
    (a vertex inserted on an edge), but for corners within :data:`WELD_DEGREES` becoming one."""
    store.plan_meta(conn, plan_id)
    cells = store.read_cells(conn, plan_id)
    welded = core.weld_all(cells, WELD_DEGREES, fixed=_locked(area, cells))
    changed = cells[cells["code"].astype(str).isin(welded).to_numpy()]
    changed = changed.assign(geometry=[welded[str(c)] for c in changed["code"]])
    return {"cells": _features(changed[["code", "geometry"]]), "welded": len(changed)}

"""What the plans routes share: the router, the edit permission, the version a save or an
approval names, GeoJSON bodies, the check that a planner changes only their area, and frames
as records and in metres."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import geopandas as gpd
import pandas as pd
from fastapi import APIRouter
from pydantic import BaseModel, Field

from gridmap.api.routes.params import CHECKED, MAX_ID, LimitedBodyRoute
from gridmap.api.security import require
from gridmap.core import plans as core
from gridmap.crs import metric_crs_for
from gridmap.errors import PermissionDeniedError
from gridmap.layers import GRID_LAYER_EXAMPLES, STORAGE_CRS
from gridmap.store.areas import Area

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


def with_layer_name(meta: dict) -> dict:
    """A plan's fields plus ``grid_layer_zh``, the Chinese name of its grid layer (党建网格 …),
    ``None`` for a layer without one."""
    return {**meta, "grid_layer_zh": GRID_LAYER_EXAMPLES.get(meta["grid_layer"])}


def records(frame: pd.DataFrame) -> list[dict]:
    """The rows of ``frame`` as JSON-ready dicts."""
    return json.loads(frame.to_json(orient="records", force_ascii=False))


def metric(frame: gpd.GeoDataFrame, *others: gpd.GeoDataFrame):
    """``frame`` and ``others`` in the metric CRS of ``frame``."""
    crs = metric_crs_for(frame)
    return [f.to_crs(crs) for f in (frame, *others)]

"""The plans router and what its routes declare: the edit permission, the version a save or an
approval names, GeoJSON bodies, and the check that a planner changes only the cells of their
area."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import geopandas as gpd
from fastapi import APIRouter
from pydantic import BaseModel, Field

from gridmap.api.routes.params import CHECKED, MAX_ID, LimitedBodyRoute
from gridmap.api.security import require
from gridmap.core.plan_changes import changes_outside
from gridmap.errors import PermissionDeniedError
from gridmap.layers import STORAGE_CRS
from gridmap.permissions import Area

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
    outside = changes_outside(old.to_crs(STORAGE_CRS), new.to_crs(STORAGE_CRS), area.geometry) if area.geometry is not None else ["*"]  # fmt: skip
    if outside:
        shown = "、".join(outside[:10]) + (" …" if len(outside) > 10 else "")
        raise PermissionDeniedError(
            f"网格 {shown} 不在您的范围 {area.code} 内，只能修改本范围内的网格，未保存。",
            f"Cells {', '.join(outside[:10])} lie outside your area {area.code}; you may change "
            "only the cells of your area. Nothing was saved.",
        )

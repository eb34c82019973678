"""Party members of a place (党员名单): only inside the caller's area, personal fields masked
unless the role may see them (admin; coordinator in their own area).

A member's building (楼栋) is where the analysis places them (落位, :func:`assign_points`: the
building their home point lies in or next to), once ``gridmap analyze`` has run; the imported
楼栋编号 column (usually empty) is shown only before that, or for a member placed nowhere.

Members are never a map layer (their homes are personal data); the map shows counts only.
"""

from __future__ import annotations

from typing import Annotated

import geopandas as gpd
import numpy as np
import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from gridmap.api.app import WEB
from gridmap.api.deps import ConnDep, SettingsDep
from gridmap.api.routes.params import CHECKED
from gridmap.api.routes.session import user_context
from gridmap.api.security import (
    AreaDep,
    PagePrincipalDep,
    PrincipalDep,
    current_area,
    outside_area,
    require,
)
from gridmap.auth import MASKS, Principal
from gridmap.config import Settings
from gridmap.core.assign import assign_points
from gridmap.crs import metric_crs_for
from gridmap.store.areas import Area, in_area, resolve_area
from gridmap.store.features import read_features
from gridmap.store.results import latest_run

router = APIRouter(tags=["members"], dependencies=CHECKED)
templates = Jinja2Templates(directory=str(WEB / "templates"))

COLUMNS = ["code", "name", "phone", "address", "category", "in_service", "reported",
           "org_name", "building_code"]  # fmt: skip
PlaceQuery = Annotated[
    str | None,
    Query(
        max_length=64, description="街道、社区或网格编号 / a subdistrict, community or grid code"
    ),
]


def place_in_area(conn, place: str | None, area: Area | None) -> Area | None:
    """The place asked for, which must lie in the caller's area (else 404, as if absent)."""
    if place is None:
        return area
    wanted = resolve_area(conn, place)
    community = next(iter(wanted.communities), None) if wanted.level == "grid" else None
    if wanted.level == "none" or (area is not None and not area.holds_unit(wanted.level, place, community)):  # fmt: skip
        raise outside_area(f"地点 {place}", f"place {place}")
    return wanted


def homes(conn, frame: gpd.GeoDataFrame, settings: Settings) -> pd.Series:
    """Each member's building as the analysis places them, the imported code where it places
    them nowhere; only the imported codes before any analysis."""
    imported = frame["building_code"]
    if frame.empty or latest_run(conn, "analyze") is None:
        return imported
    # a member snaps to a building up to member_snap_distance_m away: read that far around
    # (a degree of latitude is ~111 km; the margin is generous for longitude at China's latitudes)
    margin = settings.member_snap_distance_m / 50_000
    x0, y0, x1, y1 = frame.total_bounds
    buildings = read_features(conn, "building", bbox=(x0 - margin, y0 - margin, x1 + margin, y1 + margin), columns=())  # fmt: skip
    if buildings.empty:
        return imported
    crs = metric_crs_for(frame)
    placed = assign_points(frame.to_crs(crs), buildings.to_crs(crs), settings)
    return pd.Series(placed["building_code"].to_numpy(), index=frame.index).fillna(imported)


def members_of(
    conn, place: Area | None, principal: Principal, settings: Settings
) -> gpd.GeoDataFrame:
    """The members living in ``place`` (everyone for ``None``) with their building, masked
    unless ``principal`` may see personal data."""
    bbox = place.bbox() if place is not None else None
    if place is not None and bbox is None:
        return gpd.GeoDataFrame({c: [] for c in COLUMNS}, geometry=[], crs="EPSG:4326")
    frame = read_features(conn, "member", bbox=bbox, include_personal=True)
    frame = frame[in_area(frame, place)]
    frame = frame.assign(building_code=homes(conn, frame, settings))
    if not principal.may("personal"):
        frame = frame.assign(**{f: frame[f].map(mask) for f, mask in MASKS.items()})
    return frame


def _page(frame, offset: int, limit: int) -> list[dict]:
    part = frame[COLUMNS].iloc[offset : offset + limit]
    return part.astype(object).where(part.notna(), None).to_dict("records")


@router.get("/api/members", summary="党员名单 (本人范围内) / members in the caller's area",
            dependencies=[require("view")])  # fmt: skip
def members(
    conn: ConnDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    area: AreaDep,
    place: PlaceQuery = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict:
    frame = members_of(conn, place_in_area(conn, place, area), principal, settings)
    return {
        "total": len(frame),
        "masked": not principal.may("personal"),
        "members": _page(frame, offset, limit),
    }


@router.get("/members", response_class=HTMLResponse, include_in_schema=False,
            dependencies=[require("view", page=True)])  # fmt: skip
def members_page(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    principal: PagePrincipalDep,
    place: PlaceQuery = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    area = current_area(principal, conn)
    frame = members_of(conn, place_in_area(conn, place, area), principal, settings)
    limit = 200
    context = {
        **user_context(request, principal, conn),
        "rows": _page(frame, offset, limit),
        "total": len(frame),
        "masked": not principal.may("personal"),
        "place": place or "",
        "offset": offset,
        "limit": limit,
        "full": int(np.sum(frame["category"] == "full")) if len(frame) else 0,
    }
    return templates.TemplateResponse(request, "members.html", context)

"""Party members of a place (党员名单): only inside the caller's area; one by one only for roles
that may see personal data (admin; coordinator in their own area).

A member's building (楼栋) is where the analysis places them (落位, :func:`assign_points`: the
building their home point lies in or next to), once ``gridmap analyze`` has run; the imported
楼栋编号 column (usually empty) is shown only before that, or for a member placed nowhere.

Roles that may not see personal data (planner, viewer) get no member one by one — no code,
building, status or masked name that could be tied to a home — only how many members live in
each compound (小区) of the place, the same counts the map shows. Members are never a map layer
(their homes are personal data).
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


def living_in(conn, place: Area | None, *, personal: bool) -> gpd.GeoDataFrame:
    """The members whose home lies in ``place`` (everyone for ``None``); their names, phones and
    addresses only with ``personal``."""
    bbox = place.bbox() if place is not None else None
    if place is not None and bbox is None:
        return gpd.GeoDataFrame({c: [] for c in COLUMNS}, geometry=[], crs="EPSG:4326")
    frame = read_features(conn, "member", bbox=bbox, include_personal=personal)
    return frame[in_area(frame, place)]


def members_of(conn, place: Area | None, settings: Settings) -> gpd.GeoDataFrame:
    """The members living in ``place`` with their building, personal fields included: only for
    accounts that may see personal data."""
    frame = living_in(conn, place, personal=True)
    return frame.assign(building_code=homes(conn, frame, settings))


def counts_by_compound(conn, frame: gpd.GeoDataFrame) -> list[dict]:
    """How many members (and full members) of ``frame`` live in each compound, by compound code;
    those in no compound last, with code and name ``None``."""
    if frame.empty:
        return []
    compounds = read_features(conn, "compound", bbox=tuple(frame.total_bounds))
    placed = gpd.sjoin(frame[["category", "geometry"]], compounds[["code", "name", "geometry"]],
                       predicate="within", how="left")  # fmt: skip
    placed = placed[~placed.index.duplicated()]  # overlapping compounds: the first
    placed["full"] = placed["category"] == "full"
    counts = placed.groupby(["code", "name"], dropna=False, sort=True).agg(members=("full", "size"), members_full=("full", "sum")).reset_index()  # fmt: skip
    counts = counts.astype(object).where(counts.notna(), None)
    return [{**row, "members": int(row["members"]), "members_full": int(row["members_full"])}
            for row in counts.to_dict("records")]  # fmt: skip


def _page(frame, offset: int, limit: int) -> list[dict]:
    part = frame[COLUMNS].iloc[offset : offset + limit]
    return part.astype(object).where(part.notna(), None).to_dict("records")


def _full(frame) -> int:
    return int(np.sum(frame["category"] == "full")) if len(frame) else 0


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
    """Those who may see personal data get the members one by one (``members``, a page of
    them); the others, with ``masked``, only ``compounds``: members and full members per
    compound of the place, and ``members`` empty."""
    where = place_in_area(conn, place, area)
    if not principal.may("personal"):
        frame = living_in(conn, where, personal=False)
        return {"total": len(frame), "full": _full(frame), "masked": True, "members": [],
                "compounds": counts_by_compound(conn, frame)}  # fmt: skip
    frame = members_of(conn, where, settings)
    return {"total": len(frame), "full": _full(frame), "masked": False,
            "members": _page(frame, offset, limit)}  # fmt: skip


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
    where = place_in_area(conn, place, current_area(principal, conn))
    masked = not principal.may("personal")
    frame = living_in(conn, where, personal=False) if masked else members_of(conn, where, settings)  # fmt: skip
    limit = 200
    context = {
        **user_context(request, principal, conn),
        "rows": [] if masked else _page(frame, offset, limit),
        "compounds": counts_by_compound(conn, frame) if masked else [],
        "total": len(frame),
        "masked": masked,
        "place": place or "",
        "offset": offset,
        "limit": limit,
        "full": _full(frame),
    }
    return templates.TemplateResponse(request, "members.html", context)

"""Party members of a place (党员名单): only inside the caller's area; one by one only for roles
that may see personal data (admin; coordinator in their own area).

A member's building (楼栋) is where the latest ``gridmap analyze`` placed them (落位,
:func:`assign_points`: the building their home point lies in or next to), read from the
placements stored with that run — never placed again per request, unless members or buildings
were loaded or changed since (then placed again here, and the answer's ``placement_note`` says
so). The imported 楼栋编号 column (usually empty) is shown only before any analysis (said in the
note too), or for a member placed nowhere.

Roles that may not see personal data (planner, viewer) get no member one by one — no code,
building, status or masked name that could be tied to a home — only how many members live in
each compound (小区) of the place, the same counts the map shows. Members are never a map layer
(their homes are personal data).

The list is filtered by a place typed by name or code (a subdistrict, community, grid, compound
or building: :func:`gridmap.store.places.find_place`) and, for those who see names, by part of a
member's name. Every answer that shows personal data is written to the audit trail: who, which
place, how many rows, which filter — never a name, phone or address, nor the name searched for.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import geopandas as gpd
import numpy as np
import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from gridmap.api.deps import ConnDep, SettingsDep
from gridmap.api.routes.params import CHECKED
from gridmap.api.routes.session import user_context
from gridmap.api.security import (
    AreaDep,
    PagePrincipalDep,
    PrincipalDep,
    current_area,
    require,
)
from gridmap.config import Settings
from gridmap.core.assign import assign_points
from gridmap.crs import metric_crs_for
from gridmap.errors import GridmapError, InputFileError, NotFoundError, PermissionDeniedError
from gridmap.maps.assets import WEB
from gridmap.permissions import Area, holds_place, in_area
from gridmap.store.db import transaction
from gridmap.store.features import log_change, read_features
from gridmap.store.placement import changed_since, placements_of
from gridmap.store.places import PlaceNotFound, find_place, labelled, name_of
from gridmap.store.results import latest_run

router = APIRouter(tags=["members"], dependencies=CHECKED)
templates = Jinja2Templates(directory=str(WEB / "templates"))

COLUMNS = ["code", "name", "phone", "address", "category", "in_service", "reported",
           "org_name", "building_code"]  # fmt: skip
PlaceQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="地点: 街道、社区、网格、小区或楼栋的名称或编号 / a place's name or code",
    ),
]
NameQuery = Annotated[
    str | None,
    Query(max_length=32, description="姓名的一部分 (仅限可查看个人信息的角色) / part of a name"),
]
PAGE = 200  # rows per page of /members


def place_in_area(conn, place: str | None, area: Area | None) -> tuple[Area | None, str]:
    """The place asked for (by name or code) and its label; it must lie in the caller's area,
    else 404 as if absent. Without ``place``: the caller's area (``None``: everywhere)."""
    if not (place or "").strip():
        label = labelled(name_of(conn, area), area.code) if area is not None else "全部地区"
        return area, label
    wanted, label = find_place(conn, place)
    if not holds_place(area, wanted):
        raise PlaceNotFound(place.strip(), [])
    return wanted, label


Note = tuple[str, str] | None  # (Chinese, English) said beside the list, or None
NOT_ANALYSED = (
    "尚未运行分析 (gridmap analyze)，楼栋为导入时填写的楼栋编号。",
    "No analysis has run yet: buildings are those given on import.",
)
CHANGED_SINCE = (
    "上次分析之后党员或楼栋有变动，楼栋按现有数据临时重新落位；重新运行分析 (gridmap analyze) 后以分析结果为准。",
    "Members or buildings changed since the last analysis: their buildings are placed again from what is loaded now until gridmap analyze runs again.",
)  # fmt: skip


def _placed_now(conn, frame: gpd.GeoDataFrame, settings: Settings) -> pd.Series:
    """Each member of ``frame`` placed from what is loaded now, as the analysis would."""
    # a member snaps to a building up to member_snap_distance_m away: read that far around
    # (a degree of latitude is ~111 km; the margin is generous for longitude at China's latitudes)
    buildings = read_features(conn, "building", bbox=_around(frame, settings), columns=())
    if buildings.empty:
        return pd.Series(None, index=frame.index, dtype=object)
    crs = metric_crs_for(frame)
    placed = assign_points(frame.to_crs(crs), buildings.to_crs(crs), settings)
    return pd.Series(placed["building_code"].to_numpy(), index=frame.index)


def _around(frame: gpd.GeoDataFrame, settings: Settings) -> tuple[float, float, float, float]:
    margin = settings.member_snap_distance_m / 50_000
    x0, y0, x1, y1 = frame.total_bounds
    return (x0 - margin, y0 - margin, x1 + margin, y1 + margin)


def homes(conn, frame: gpd.GeoDataFrame, settings: Settings) -> tuple[pd.Series, Note]:
    """Each member's building as the latest analysis placed them (stored with its run), the
    imported code where it placed them nowhere; only the imported codes before any analysis.
    Members or buildings loaded or changed since that run are placed again here. The note says
    which of the last two happened."""
    imported = frame["building_code"]
    run = latest_run(conn, "analyze")
    if run is None:
        return imported, NOT_ANALYSED
    if frame.empty:
        return imported, None
    stored = placements_of(conn, run, frame["code"].tolist())["building_code"]
    changed = not frame["code"].isin(stored.index).all() or changed_since(
        conn, run, frame["updated_at"], _around(frame, settings)
    )
    if changed:
        return _placed_now(conn, frame, settings).fillna(imported), CHANGED_SINCE
    return pd.Series(frame["code"].map(stored).to_numpy(), index=frame.index).fillna(imported), None


def living_in(conn, place: Area | None, *, personal: bool) -> gpd.GeoDataFrame:
    """The members whose home lies in ``place`` (everyone for ``None``); their names, phones and
    addresses only with ``personal``."""
    bbox = place.bbox() if place is not None else None
    if place is not None and bbox is None:
        return gpd.GeoDataFrame({c: [] for c in COLUMNS}, geometry=[], crs="EPSG:4326")
    frame = read_features(conn, "member", bbox=bbox, include_personal=personal)
    return frame[in_area(frame, place)]


def members_of(conn, place: Area | None, settings: Settings, *, personal: bool = True) -> tuple[gpd.GeoDataFrame, Note]:  # fmt: skip
    """The members living in ``place`` with their building (see :func:`homes`, and its note);
    personal fields with ``personal`` (only for accounts that may see personal data). A
    building's members are those the analysis places in it, read within
    :attr:`Settings.member_snap_distance_m` of its walls."""
    if place is not None and place.level == "building":
        around = replace(place, geometry=place.geometry.buffer(settings.member_snap_distance_m / 50_000))  # fmt: skip
        frame = living_in(conn, around, personal=personal)
        building, note = homes(conn, frame, settings)
        frame = frame.assign(building_code=building)
        return frame[frame["building_code"] == place.code], note
    frame = living_in(conn, place, personal=personal)
    if not personal:
        return frame, None
    building, note = homes(conn, frame, settings)
    return frame.assign(building_code=building), note


def named(frame: gpd.GeoDataFrame, name: str | None) -> gpd.GeoDataFrame:
    """The members of ``frame`` whose name holds ``name`` (all without one)."""
    name = (name or "").strip()
    return frame[frame["name"].fillna("").str.contains(name, regex=False)] if name else frame


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


def audit_view(conn, actor: str, label: str | None, *, rows: int, total: int, name: str | None, via: str) -> None:  # fmt: skip
    """Write to the audit trail that ``actor`` saw ``rows`` of the ``total`` members of the
    place ``label`` (``None``: every area) with personal data, and whether a name was searched
    for (not which)."""
    summary = {"place": label, "rows": rows, "total": total,
               "name_filter": bool((name or "").strip()), "via": via}  # fmt: skip
    with transaction(conn.engine) as tx:
        log_change(tx, actor, "view_personal", "member", summary)


def listing(conn, settings: Settings, principal, area: Area | None, place: str | None, name: str | None, *, offset: int, limit: int, via: str) -> dict:  # fmt: skip
    """The members of ``place`` (by name or code, in ``area``) whose name holds ``name``: a page
    of them for those who may see personal data (audited), else counts per compound only."""
    masked = not principal.may("personal")
    if masked and (name or "").strip():
        raise PermissionDeniedError(
            "您的角色不能查看党员个人信息，不能按姓名查找；请只填地点。",
            "Your role may not see members' personal data, so it cannot search by name; give a place only.",
        )  # fmt: skip
    where, label = place_in_area(conn, place, area)
    if masked:
        frame, note = members_of(conn, where, settings, personal=False)
        return {"total": len(frame), "full": _full(frame), "masked": True, "place": label,
                "members": [], "compounds": counts_by_compound(conn, frame), "placement_note": _said(note)}  # fmt: skip
    frame, note = members_of(conn, where, settings)
    frame = named(frame, name)
    rows = _page(frame, offset, limit)
    audit_view(conn, principal.name, None if where is None else label, rows=len(rows), total=len(frame), name=name, via=via)  # fmt: skip
    return {"total": len(frame), "full": _full(frame), "masked": False, "place": label, "members": rows,
            "placement_note": _said(note)}  # fmt: skip


def _said(note: Note) -> dict | None:
    return None if note is None else {"zh": note[0], "en": note[1]}


@router.get("/api/members", summary="党员名单 (本人范围内) / members in the caller's area",
            dependencies=[require("view")])  # fmt: skip
def members(
    conn: ConnDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    area: AreaDep,
    place: PlaceQuery = None,
    name: NameQuery = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict:
    """Those who may see personal data get the members one by one (``members``, a page of
    them, each such answer audited); the others, with ``masked``, only ``compounds``: members
    and full members per compound of the place, and ``members`` empty (and no ``name``)."""
    return listing(conn, settings, principal, area, place, name, offset=offset, limit=limit, via="api")  # fmt: skip


@router.get("/members", response_class=HTMLResponse, include_in_schema=False,
            dependencies=[require("view", page=True)])  # fmt: skip
def members_page(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    principal: PagePrincipalDep,
    place: Annotated[str | None, Query(max_length=200)] = None,
    name: Annotated[str | None, Query(max_length=200)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    """The list; a place or name it cannot use (unknown, outside the area, too long) is said on
    the page itself, with the form as typed, never an error page."""
    context = {**user_context(request, principal, conn), "place": place or "", "name": name or "",
               "masked": not principal.may("personal"), "offset": offset, "limit": PAGE,
               "problem": None, "candidates": []}  # fmt: skip
    try:
        if len(place or "") > 64 or len(name or "") > 32:
            raise InputFileError("地点最多 64 个字，姓名最多 32 个字。", "A place takes at most 64 characters, a name 32.")  # fmt: skip
        found = listing(conn, settings, principal, current_area(principal, conn), place, name, offset=offset, limit=PAGE, via="page")  # fmt: skip
    except GridmapError as error:
        context |= {"problem": (error.message_zh, error.message_en),
                    "candidates": getattr(error, "candidates", [])}  # fmt: skip
        return templates.TemplateResponse(request, "members.html", context, status_code=404 if isinstance(error, NotFoundError) else 400)  # fmt: skip
    context |= {"rows": found["members"], "compounds": found.get("compounds", []), "total": found["total"],
                "full": found["full"], "label": found["place"], "placement_note": found["placement_note"]}  # fmt: skip
    return templates.TemplateResponse(request, "members.html", context)

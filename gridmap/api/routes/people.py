"""Who serves each place (服务人员): ``/api/people`` for the map's panel, and the coordinator's
contact list (通讯录) ``/api/people/contacts.csv|.xlsx``.

The rule for names is the notice boards' (:mod:`gridmap.api.routes.board`): a place outside the
caller's area reads as absent (404, :func:`~gridmap.api.routes.members.place_in_area`), and in
it names are shown to roles that may see personal data, masked (张*明) for the others. The public
duty phone (值班电话) is for everyone; the personal phone only for roles that may see personal
data — in the contact list only when asked for (``include_personal``), as every export. Every
answer or file with names shown is written to the audit trail (how many people, where; never a
name or phone).

A place is a community, a grid (a unified cell stands for the base-layer grid holding most of
it, as on its board), a compound, a building or a branch (by its code); its posts are those of
the roster that name it among the places they serve; a compound's answer adds its property
company and owners' committee (:func:`gridmap.people_listing.compound_property`).
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import geopandas as gpd
import pandas as pd
from fastapi import APIRouter, Query
from fastapi.responses import Response

from gridmap.api.deps import ConnDep, SettingsDep
from gridmap.api.routes.exports import content_disposition
from gridmap.api.routes.members import place_in_area
from gridmap.api.routes.params import CHECKED
from gridmap.api.security import AreaDep, PrincipalDep, require
from gridmap.config import Settings
from gridmap.io.write import MEDIA_TYPES, write_frame
from gridmap.people_listing import (
    COMMITTEE_READ,
    PROPERTY_READ,
    STAFF_READ,
    compound_property,
    contact_table,
    posts_serving,
)
from gridmap.permissions import Area, denied, in_area, outside_area
from gridmap.store.db import transaction
from gridmap.store.features import grid_layers, log_change, read_features
from gridmap.store.places import labelled

router = APIRouter(prefix="/api/people", tags=["people"], dependencies=[*CHECKED, require("view")])
Level = Literal["community", "grid", "compound", "building", "branch"]
CommunityQuery = Annotated[
    str | None, Query(max_length=64, description="社区编号 / community code")
]
PersonalQuery = Annotated[
    bool, Query(description="含手机号 (需相应角色, 记入审计) / personal phones")
]
Code = Annotated[str, Query(min_length=1, max_length=64, description="单位编号 / the unit's code")]


def _today(settings: Settings) -> date:
    return settings.staffing_as_of or date.today()


def _staff(conn) -> pd.DataFrame:
    return read_features(conn, "staff", include_personal=True, columns=STAFF_READ)


def _branch(conn, code: str, area: Area | None) -> tuple[set[str], str]:
    orgs = read_features(conn, "org", columns=("name", "covers"))
    row = orgs[orgs["code"] == code]
    if row.empty:
        raise outside_area(f"党组织 {code}", f"organisation {code}")
    covers = set(str(row["covers"].iloc[0] or "").split(";")) - {""}
    compounds = read_features(conn, "compound", columns=())
    compounds = compounds[compounds["code"].isin(covers)]
    if area is not None and not in_area(compounds, area).any():
        raise outside_area(f"党组织 {code}", f"organisation {code}")
    return {code}, labelled(row["name"].iloc[0], code)


def unit_codes(conn, level: str, code: str, area: Area | None) -> tuple[set[str], str]:
    """The place codes whose posts serve the unit, and its label; 404 outside ``area``."""
    if level == "branch":
        return _branch(conn, code, area)
    wanted, label = place_in_area(conn, code, area)
    if wanted is None or wanted.level != level or wanted.code != code:
        raise outside_area(f"编号为 {code} 的{level}", f"{level} {code}")
    if level != "grid":
        return {code}, label
    from gridmap.notice_boards import _find_grids  # a unified cell: its board's base-layer grid

    return {code, *_find_grids(conn, code, None)["code"]}, label


def _audit(conn, actor: str, action: str, summary: dict) -> None:
    with transaction(conn.engine) as tx:
        log_change(tx, actor, action, "staff", summary)


@router.get("", summary="服务人员 / the posts serving a unit")
def people(conn: ConnDep, settings: SettingsDep, principal: PrincipalDep, area: AreaDep,
           level: Level, code: Code) -> dict:  # fmt: skip
    """The posts serving a community, grid, compound, building or branch: title, name (masked
    for roles that may not see personal data), duty phone, Party membership, since when, term
    reminder; ``phone`` (personal) only for roles that may see personal data. A compound's
    answer also holds its property companies (``property``: Party organisation, 红色物业, the
    党建指导员 sent) and owners' committees (``owners_committee``: members, Party members,
    交叉任职, Party organisation), with names as for the posts."""
    codes, label = unit_codes(conn, level, code.strip(), area)
    personal = principal.may("personal")
    staff = _staff(conn)
    kw = {"personal": personal, "today": _today(settings), "term_years": settings.term_years}
    found = posts_serving(staff, codes, **kw)
    answer = {"level": level, "code": code, "place": label, "masked": not personal, "posts": found}
    named = len(found)
    if level == "compound":  # its property company (红色物业) and owners' committee (业委会)
        firms = read_features(conn, "property", columns=PROPERTY_READ)
        committees = read_features(conn, "owners_committee", columns=COMMITTEE_READ)
        answer |= compound_property(code.strip(), firms, committees, staff, **kw)
        named += sum(len(f["instructors"]) for f in answer["property"])
        named += sum(len(c["posts"]) for c in answer["owners_committee"])
    if personal and named:
        _audit(conn, principal.name, "people_personal", {"place": label, "people": named})
    return answer


def place_labels(conn, area: Area | None) -> dict[str, str]:
    """Every place a post may serve that lies in ``area``: code → name (code)."""
    compounds = read_features(conn, "compound", columns=("name",))
    frames = [read_features(conn, layer, columns=("name",)) for layer in ("community", "building")]
    frames += [read_features(conn, "grid", grid_layer=g, columns=("name",)) for g in grid_layers(conn)]  # fmt: skip
    first = dict(zip(compounds["code"], compounds.geometry, strict=True))
    for layer, column in (("org", "covers"), ("property", "compounds"), ("owners_committee", "compound_code")):  # fmt: skip
        rows = read_features(conn, layer, columns=("name", column))
        at = [first.get(str(c or "").split(";")[0]) for c in rows[column]]
        frames.append(gpd.GeoDataFrame(rows[["code", "name"]], geometry=at, crs=compounds.crs))
    places = pd.concat([compounds, *frames], ignore_index=True)
    places = places[in_area(places, area)].drop_duplicates("code")
    return {c: labelled(n, c) for c, n in zip(places["code"], places["name"], strict=True)}


def _file(table: pd.DataFrame, fmt: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="gridmap-contacts-") as folder:
        path = write_frame(table, Path(folder) / f"contacts.{fmt}", fmt, "服务人员通讯录")
        return path.read_bytes()


def contacts(conn, settings: Settings, principal, area: Area | None, fmt: str,
             community: str | None, include_personal: bool) -> Response:  # fmt: skip
    """Every post serving a place of the community (or of the caller's area): 职务, 服务地点,
    姓名 (masked for roles that may not see personal data), 值班电话, and 手机 only with
    ``include_personal`` (roles that may see personal data)."""
    if include_personal and not principal.may("personal"):
        raise denied(principal, "personal")
    where = area
    if community:
        where, _ = place_in_area(conn, community, area)
        if where is None or where.level != "community":
            raise outside_area(f"社区 {community}", f"community {community}")
    labels = place_labels(conn, where)
    personal = principal.may("personal")
    found = posts_serving(_staff(conn), labels, personal=personal, today=_today(settings),
                          term_years=settings.term_years)  # fmt: skip
    body = _file(contact_table(found, labels, phones=include_personal), fmt)
    name = f"{where.code if where else 'all'}_contacts.{fmt}"
    if personal and found:
        _audit(conn, principal.name, "export_personal", {"file": name, "features": len(found),
               "format": fmt, "area": where.code if where else None})  # fmt: skip
    return Response(body, media_type=MEDIA_TYPES[fmt], headers={
        "Content-Disposition": content_disposition(name, f"服务人员通讯录_{name}")})  # fmt: skip


@router.get("/contacts.csv", summary="服务人员通讯录 (CSV) / the contact list as CSV")
def contacts_csv(conn: ConnDep, settings: SettingsDep, principal: PrincipalDep, area: AreaDep,
                 community: CommunityQuery = None, include_personal: PersonalQuery = False) -> Response:  # fmt: skip
    """See :func:`contacts`."""
    return contacts(conn, settings, principal, area, "csv", community, include_personal)


@router.get("/contacts.xlsx", summary="服务人员通讯录 (Excel) / the contact list as XLSX")
def contacts_xlsx(conn: ConnDep, settings: SettingsDep, principal: PrincipalDep, area: AreaDep,
                  community: CommunityQuery = None, include_personal: PersonalQuery = False) -> Response:  # fmt: skip
    """See :func:`contacts`."""
    return contacts(conn, settings, principal, area, "xlsx", community, include_personal)

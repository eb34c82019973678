"""Who serves each place (做优骨干队伍): vacancies and reminders found in the staff roster, the
property companies and the owners' committees, as gap kinds of :mod:`gridmap.core.gaps`.

Pure functions of frames: the roster (one row per person and post, ``places`` the ";"-joined
codes served), the property companies and owners' committees, and the places in one metric CRS.
Findings never name a person: each is about a place (a grid, a branch, a building, a company …)
and says which post is vacant or due; the roster's own codes appear only in ``codes``.

Examples
--------
>>> import pandas as pd
>>> staff = pd.DataFrame({"code": ["R1", "R2"], "role": ["grid_worker_full", "secretary"],
...                       "places": ["G1", "B1;G1"]})
>>> served(staff, ("grid_worker_full",))
{'G1': 1}
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import pandas as pd
import shapely

from gridmap.config import Settings
from gridmap.core.gaps import Gap, concat_gaps, counted
from gridmap.core.topology import reprojected_gaps
from gridmap.people_layers import GRID_WORKERS, STAFF_ROLES

BRANCHES = ("branch", "joint_branch")
GRID_STAFF = ("grid_worker_full", "grid_worker_part")  # 网格员, whose load is counted
BUILDING_HEADS = ("building_head", "unit_head")
# elected posts, whose holders stand again at each 换届
TERM_POSTS = ("secretary", "deputy_secretary", "committee_member", "two_committees")


# the layers a People is read from, in the order of its fields
PEOPLE_LAYERS = ("staff", "property", "owners_committee")


@dataclass
class People:
    """The three people layers as read (``None`` or empty: not loaded)."""

    staff: pd.DataFrame | None = None
    properties: pd.DataFrame | None = None
    committees: pd.DataFrame | None = None


@dataclass
class Places:
    """The places the people serve, in one metric CRS, with households where they count."""

    grids: gpd.GeoDataFrame  # the base grid layer
    grid_layer: str  # its layer name as gaps carry it ("grid:party")
    grid_households: dict
    orgs: pd.DataFrame
    compounds: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    communities: gpd.GeoDataFrame
    community_households: dict = field(default_factory=dict)


def _frame(frame: pd.DataFrame | None, columns: Iterable[str]) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return frame.assign(**{c: None for c in columns if c not in frame})


def _codes(value) -> list[str]:
    return [c for c in str(value or "").split(";") if c] if isinstance(value, str) else []


def served(staff: pd.DataFrame, roles: Iterable[str]) -> dict[str, int]:
    """How many people in ``roles`` serve each place code."""
    rows = staff[staff["role"].isin(list(roles))]
    return dict(Counter(code for places in rows["places"] for code in _codes(places)))


def _geoms(frame: gpd.GeoDataFrame) -> dict:
    return dict(zip(frame["code"].tolist(), frame.geometry.values, strict=True))


def _union(codes: list[str], geoms: dict):
    shapes = [geoms[c] for c in codes if c in geoms]
    return shapely.union_all(shapes) if shapes else None


def grid_staffing(staff: pd.DataFrame, p: Places, settings: Settings) -> list[Gap]:
    """grid_without_worker, worker_overloaded (households per 网格员 above the setting)."""
    anyone, workers = served(staff, GRID_WORKERS), served(staff, GRID_STAFF)
    limit = settings.worker_max_households
    out = []
    for code, geom in zip(p.grids["code"], p.grids.geometry.values, strict=True):
        n = int(p.grid_households.get(code, 0))
        if n > 0 and not anyone.get(code):
            out.append(Gap("grid_without_worker", p.grid_layer, code, "", float(n), "households",
                           f"网格 {code} 有 {n} 户，没有网格长或网格员",
                           f"Grid {code} ({counted(n, 'household')}) has no grid leader or grid worker",
                           geom, codes=code))  # fmt: skip
        elif workers.get(code) and n / workers[code] > limit:
            each = round(n / workers[code])
            out.append(Gap("worker_overloaded", p.grid_layer, code, "", float(each), "households",
                           f"网格 {code} 每名网格员服务约 {each} 户，超过 {limit} 户",
                           f"Each grid worker of grid {code} serves about {each} households, over {limit}",
                           geom, codes=code))  # fmt: skip
    return out


def _party_years(joined: str | None, today: date) -> float | None:
    if not joined:
        return None
    return (today - date.fromisoformat(joined)).days / 365.25


def unqualified(row: dict, today: date, min_years: float) -> tuple[str, str] | None:
    """Why a secretary does not meet the rule (正式党员, 党龄 ≥ min_years), or ``None``."""
    if row.get("party_member") is False or (row.get("category") or "full") != "full":
        return "不是正式党员", "is not a full Party member"
    years = _party_years(row.get("joined_party"), today)
    if years is not None and years < min_years:
        return (f"党龄不足 {min_years:g} 年 (约 {years:.1f} 年)",
                f"has under {min_years:g} year(s) of Party age (about {years:.1f})")  # fmt: skip
    return None


def branch_staffing(staff: pd.DataFrame, p: Places, settings: Settings, today: date) -> list[Gap]:
    """branch_without_secretary, secretary_not_qualified, branch_without_group_leader."""
    geoms = _geoms(p.compounds)
    secretaries, leaders = staff[staff["role"] == "secretary"], served(staff, ("group_leader",))
    by_branch: dict[str, list[dict]] = {}
    for row in secretaries.to_dict("records"):
        for code in _codes(row["places"]):
            by_branch.setdefault(code, []).append(row)
    out = []
    for org in p.orgs.to_dict("records"):
        code, shape = org["code"], _union(_codes(org.get("covers")), geoms)
        if org["kind"] not in BRANCHES:
            continue
        if not by_branch.get(code):
            out.append(Gap("branch_without_secretary", "org", code, str(org["name"] or ""), 0.0, "count",
                           f"党组织 {code} 没有党支部书记", f"Organisation {code} has no branch secretary",
                           shape, codes=code))  # fmt: skip
        for row in by_branch.get(code, []):
            why = unqualified(row, today, settings.secretary_min_party_years)
            if why is not None:
                out.append(Gap("secretary_not_qualified", "org", code, str(org["name"] or ""), 1.0, "count",
                               f"党组织 {code} 的书记{why[0]}", f"The secretary of organisation {code} {why[1]}",
                               shape, codes=f"{code};{row['code']}"))  # fmt: skip
        groups = org.get("groups")
        short = int(groups) - leaders.get(code, 0) if pd.notna(groups) else 0
        if short > 0:
            out.append(Gap("branch_without_group_leader", "org", code, str(org["name"] or ""), float(short), "count",
                           f"党组织 {code} 有 {int(groups)} 个党小组，{short} 个没有党小组长",
                           f"Organisation {code} has {int(groups)} Party group(s), {short} without a leader",
                           shape, codes=code))  # fmt: skip
    return out


def building_heads(staff: pd.DataFrame, p: Places, settings: Settings) -> list[Gap]:
    """building_without_head: a building of at least the setting's households with no 楼栋长."""
    heads, least = served(staff, BUILDING_HEADS), settings.building_head_min_households
    big = p.buildings[p.buildings["households"].fillna(0).to_numpy() >= least]
    return [
        Gap("building_without_head", "building", code, "", float(n), "households",
            f"楼栋 {code} 有 {int(n)} 户，没有楼栋长或单元长",
            f"Building {code} ({counted(int(n), 'household')}) has no building or stairwell head",
            geom, codes=code)
        for code, n, geom in zip(big["code"], big["households"], big.geometry.values, strict=True)
        if not heads.get(code)
    ]  # fmt: skip


def property_instructors(staff: pd.DataFrame, firms: pd.DataFrame, p: Places) -> list[Gap]:
    """property_without_instructor: a property company no 党建指导员 is sent to.

    Drawn as the first of its compounds (by code), where its finding lies: the same for an
    analysis that reads only part of the compounds (a partition), which leaves the company to
    the one that reads that compound."""
    sent, geoms = served(staff, ("instructor",)), _geoms(p.compounds)
    out = []
    for firm in firms.to_dict("records"):
        code, units = firm["code"], sorted(_codes(firm.get("compounds")))
        if (
            sent.get(code)
            or firm.get("has_instructor") is True
            or not units
            or units[0] not in geoms
        ):
            continue
        out.append(Gap("property_without_instructor", "property", code, str(firm.get("name") or ""),
                       float(len(units)), "units",
                       f"物业企业 {code} 服务 {len(units)} 个小区，未派驻党建指导员",
                       f"No Party-building instructor is sent to property company {code} ({counted(len(units), 'compound')})",
                       geoms[units[0]], codes=";".join([code, *units])))  # fmt: skip
    return out


def committee_findings(staff: pd.DataFrame, committees: pd.DataFrame, p: Places) -> list[Gap]:
    """committee_without_party_member, committee_without_cross_serving (业委会)."""
    geoms, two = _geoms(p.compounds), served(staff, ("two_committees",))
    out = []
    for c in committees.to_dict("records"):
        code, compound, n = c["code"], c.get("compound_code"), c.get("members")
        name, shape = str(c.get("name") or ""), geoms.get(compound)
        if shape is None:  # its compound is not among the places analysed
            continue
        size = float(n) if pd.notna(n) else 0.0
        if pd.notna(c.get("party_members")) and int(c["party_members"]) == 0:
            out.append(Gap("committee_without_party_member", "owners_committee", code, name, size, "members",
                           f"小区 {compound} 的业委会 {code} 没有党员委员",
                           f"The owners' committee {code} of compound {compound} has no Party member",
                           shape, codes=f"{code};{compound}"))  # fmt: skip
        if pd.notna(c.get("cross_serving")) and int(c["cross_serving"]) == 0 and not two.get(code):
            out.append(Gap("committee_without_cross_serving", "owners_committee", code, name, size, "members",
                           f"小区 {compound} 的业委会 {code} 没有社区“两委”成员交叉任职",
                           f"No community committee member also sits on the owners' committee {code} of compound {compound}",
                           shape, codes=f"{code};{compound}"))  # fmt: skip
    return out


def community_workers(staff: pd.DataFrame, p: Places, settings: Settings) -> list[Gap]:
    """community_workers_short: 社区工作者 per 10,000 residents below the setting; residents
    are the community's population where given, else households × persons per household."""
    have, rate = served(staff, ("community_worker",)), settings.community_workers_per_10k
    given = p.communities.get("population")
    out = []
    for i, (code, geom) in enumerate(zip(p.communities["code"], p.communities.geometry.values, strict=True)):  # fmt: skip
        population = given.iloc[i] if given is not None else None
        households = p.community_households.get(code, 0)
        residents = (
            float(population)
            if pd.notna(population)
            else households * settings.persons_per_household
        )
        n = have.get(code, 0)
        if residents <= 0 or n / residents * 10_000 >= rate:
            continue
        short = math.ceil(residents * rate / 10_000) - n
        out.append(Gap("community_workers_short", "community", code, "", float(short), "count",
                       f"社区 {code} 约 {residents:,.0f} 名居民，有社区工作者 {n} 名，按每万人 {rate:g} 名还差 {short} 名",
                       f"Community {code} has {counted(n, 'community worker')} for about {residents:,.0f} residents, "
                       f"{short} short of {rate:g} per 10,000", geom, codes=code))  # fmt: skip
    return out


def _place_shapes(p: Places) -> dict[str, tuple[str, object]]:
    """Every place code → (layer, geometry), grids and organisations included."""
    geoms = _geoms(p.compounds)
    out = {c: ("org", _union(_codes(o), geoms)) for c, o in zip(p.orgs["code"], p.orgs.get("covers", [None] * len(p.orgs)), strict=True)}  # fmt: skip
    for layer, frame in (("building", p.buildings), ("compound", p.compounds),
                         (p.grid_layer, p.grids), ("community", p.communities)):  # fmt: skip
        out.update({c: (layer, g) for c, g in _geoms(frame).items()})
    return out


def terms_expired(staff: pd.DataFrame, p: Places, settings: Settings, today: date) -> list[Gap]:
    """term_expired (换届提醒): an elected post held longer than the term (a reminder)."""
    shapes, years = _place_shapes(p), settings.term_years
    out = []
    for row in staff[staff["role"].isin(TERM_POSTS) & staff["took_post"].notna()].to_dict(
        "records"
    ):
        held = (today - date.fromisoformat(row["took_post"])).days / 365.25
        places = [c for c in _codes(row["places"]) if c in shapes]
        if held <= years or not places:
            continue
        layer, shape = shapes[places[0]]
        title = STAFF_ROLES[row["role"]]
        out.append(Gap("term_expired", layer, places[0], "", round(held, 1), "count",
                       f"{places[0]} 的{title}任职已约 {held:.1f} 年，超过 {years:g} 年任期，请准备换届",
                       f"The {row['role'].replace('_', ' ')} of {places[0]} has served about {held:.1f} years, "
                       f"past the {years:g}-year term: prepare the election", shape,
                       codes=f"{places[0]};{row['code']}"))  # fmt: skip
    return out


STAFF_COLUMNS = ("code", "role", "places", "party_member", "category", "joined_party", "took_post")


def check_staffing(
    people: People, places: Places, settings: Settings, today: date
) -> gpd.GeoDataFrame:
    """Every finding about the people serving ``places``, in EPSG:4326 (see the module).

    ``today`` dates Party age and terms (``settings.staffing_as_of`` where set)."""
    staff = _frame(people.staff, STAFF_COLUMNS)
    firms = _frame(people.properties, ("code", "name", "compounds", "has_instructor"))
    committees = _frame(people.committees, ("code", "name", "compound_code", "members",
                                             "party_members", "cross_serving"))  # fmt: skip
    records = [
        *grid_staffing(staff, places, settings),
        *branch_staffing(staff, places, settings, today),
        *building_heads(staff, places, settings),
        *property_instructors(staff, firms, places),
        *committee_findings(staff, committees, places),
        *community_workers(staff, places, settings),
        *terms_expired(staff, places, settings, today),
    ]
    return concat_gaps([reprojected_gaps(records, places.compounds.crs)])

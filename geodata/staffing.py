"""The demo's people who serve the places: a staff roster (人员花名册), property companies
(物业服务企业) and owners' committees (业主委员会), nearly complete, with one planted vacancy or
reminder of every kind of :mod:`gridmap.core.staffing`.

Everything is derived from the city without randomness; names are obviously fictional (演示),
phones start with 100. ``AS_OF`` is the date the plants are planted for (Party age, terms).
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date

import shapely

from geodata.city import City

AS_OF = date(2026, 12, 1)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
ROSTER_HEADERS = ["人员编号", "姓名", "手机", "职务", "服务范围", "政治面貌", "党员类别", "入党时间",
                  "任职时间", "值班电话"]  # fmt: skip
# dates as offices type them, one style per row in turn
DATE_STYLES = (
    lambda y, m: f"{y}.{m:02d}" if m == 1 else f"{y}.{m}",  # 2021.1 could be 2021.10: refused
    lambda y, m: f"{y}年{m}月",
    lambda y, m: f"{y}-{m:02d}-01",
)

NO_WORKER_GRID = "DJ304"  # 桂花社区第4网格: nobody serves it
OVERLOADED_GRID = "DJ306"  # 桂花社区第6网格: one part-time worker for over 500 households
SHORT_COMMUNITY = "510199001004"  # 银杏社区: three community workers short
GROUP_MIN_FULL = 12  # a compound branch with this many full members has two Party groups
# the posts with a public duty phone (值班电话): those on the grid's notice board, and the
# 党建指导员 a property company's compounds call
DUTY_PHONE_ROLES = ("网格长", "专职网格员", "党支部书记", "党建指导员")


class Roster:
    """Rows of the staff roster, numbered as they are added."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, role: str, place: str, member: bool = True, category: str = "正式党员",
            joined: str | None = None, took: str | None = None) -> None:  # fmt: skip
        i = len(self.rows) + 1
        if member and joined is None:
            joined = DATE_STYLES[i % 3](1990 + i % 25, 1 + i % 12)
        took = took or DATE_STYLES[(i + 1) % 3](2022 + i % 3, 1 + i % 12)
        self.rows.append(dict(zip(ROSTER_HEADERS, (
            f"RY{i:04d}", f"{SURNAMES[i % len(SURNAMES)]}演示{i:04d}", f"1009{i:07d}", role, place,
            "中共党员" if member else "群众", category if member else "", joined or "", took,
            f"100-8800-{i:04d}" if role in DUTY_PHONE_ROLES else "",
        ), strict=True)))  # fmt: skip


def _households(city: City) -> tuple[Counter, Counter]:
    """Households per Party grid and per community, by the compound of each building."""
    compound = {c["code"]: c for c in city.compounds}
    grid, community = Counter(), Counter()
    for b in city.buildings:
        c = compound.get(b["compound_code"])
        if c is not None:
            grid[c["grid_code"]] += b["households"]
            community[c["community_code"]] += b["households"]
    return grid, community


def _community_of_org(city: City, org: dict) -> str | None:
    compound = {c["code"]: c["community_code"] for c in city.compounds}
    first = org["覆盖小区"].split(";")[0] if org["覆盖小区"] else None
    return compound.get(first)


def _plant(kind: str, layer: str, code: str, name: str, community: str) -> dict:
    return {"kind": kind, "layer": layer, "code": code, "name": name, "community_code": community}


def with_groups(orgs: list[dict], full: dict[str, int]) -> None:
    """党小组数: two groups in a compound branch of many full members, none elsewhere."""
    for org in orgs:
        many = org["组织类型"] == "党支部" and full.get(org["覆盖小区"], 0) >= GROUP_MIN_FULL
        org["党小组数"] = (2 if many else 0) if org["组织类型"] in ("党支部", "联合党支部") else ""


def _grids(city: City, roster: Roster, households: Counter) -> list[dict]:
    for g in city.grids:
        n = households[g["code"]]
        if g["code"] == NO_WORKER_GRID:
            continue
        if g["code"] == OVERLOADED_GRID:
            roster.add("兼职网格员", g["code"], member=False)
            continue
        roster.add("专职网格员", g["code"], member=False)
        for _ in range(math.ceil(n / 450) - 1):
            roster.add("兼职网格员", g["code"], member=False)
    for c in city.communities:
        roster.add("网格长", c["code"])
    name = {g["code"]: g["name"] for g in city.grids}
    return [_plant("grid_without_worker", "grid:party", NO_WORKER_GRID, name[NO_WORKER_GRID], "510199001003"),
            _plant("worker_overloaded", "grid:party", OVERLOADED_GRID, name[OVERLOADED_GRID], "510199001003")]  # fmt: skip


def _first_branch(city: City, orgs: list[dict], community: str, groups: bool = False) -> dict:
    return next(o for o in orgs if o["组织类型"] == "党支部" and _community_of_org(city, o) == community
                and (not groups or o["党小组数"]))  # fmt: skip


def _branches(city: City, roster: Roster, orgs: list[dict]) -> list[dict]:
    vacant = _first_branch(city, orgs, "510199001005")  # 玉林
    young = _first_branch(city, orgs, "510199001001")  # 锦绣: a probationary secretary
    due = _first_branch(city, orgs, "510199001003")  # 桂花: secretary since 2016
    short = _first_branch(city, orgs, "510199001002", groups=True)  # 芙蓉: one group leaderless
    for org in orgs:
        code = org["组织名称"]
        if org["组织类型"] not in ("党支部", "联合党支部") or org is vacant:
            continue
        if org is young:
            roster.add("党支部书记", code, category="预备党员", joined="2026年3月")
        elif org is due:
            roster.add(
                "党支部书记", code, joined="1998.7", took="42522"
            )  # 2016-06-01, an Excel serial
        else:
            roster.add("党支部书记", code)
        for _ in range(int(org["党小组数"] or 0) - (org is short)):
            roster.add("党小组长", code)
    return [
        _plant("branch_without_secretary", "org", vacant["组织名称"], vacant["组织名称"], "510199001005"),
        _plant("secretary_not_qualified", "org", young["组织名称"], young["组织名称"], "510199001001"),
        _plant("term_expired", "org", due["组织名称"], due["组织名称"], "510199001003"),
        _plant("branch_without_group_leader", "org", short["组织名称"], short["组织名称"], "510199001002"),
    ]  # fmt: skip


def _buildings(city: City, roster: Roster) -> list[dict]:
    community = {c["code"]: c["community_code"] for c in city.compounds}
    big = [b for b in city.buildings if b["households"] >= 50 and b["compound_code"] in community]
    plain = next(b for b in big if community[b["compound_code"]] == "510199001006")  # 望江
    for b in big:
        if b is not plain:
            roster.add("楼栋长", b["code"], member=False)
    return [
        _plant("building_without_head", "building", plain["code"], plain["name"], "510199001006")
    ]


def _community_workers(city: City, roster: Roster, households: Counter) -> list[dict]:
    for c in city.communities:
        need = math.ceil(households[c["code"]] * 2.62 * 18 / 10_000)
        for _ in range(need - 3 if c["code"] == SHORT_COMMUNITY else need + 2):
            roster.add("社区工作者", c["code"], member=False)
        for _ in range(3):
            roster.add("社区两委成员", c["code"])
    name = {c["code"]: c["name"] for c in city.communities}
    return [_plant("community_workers_short", "community", SHORT_COMMUNITY, name[SHORT_COMMUNITY], SHORT_COMMUNITY)]  # fmt: skip


def _properties(city: City, roster: Roster) -> tuple[list[dict], list[dict]]:
    served: dict[str, list[dict]] = {}
    for c in city.compounds:
        if c["property_company"]:
            served.setdefault(c["property_company"], []).append(c)
    rows, plants = [], []
    for i, (name, compounds) in enumerate(sorted(served.items()), start=1):
        code = f"WY{i:02d}"
        org = (
            "未建立"
            if any(not c["property_has_org"] for c in compounds)
            else ("单独建立", "联合建立")[i % 2]
        )
        rows.append({"企业编号": code, "企业名称": name, "服务小区": ";".join(c["code"] for c in compounds),
                     "从业人员": 20 + 3 * len(compounds), "党员数": i % 4, "党组织": org, "派驻党建指导员": ""})  # fmt: skip
        if not plants:  # the first company: no instructor is sent to it
            plants.append(_plant("property_without_instructor", "property", code, name, _holder(city, compounds)))  # fmt: skip
        else:
            roster.add("党建指导员", code)
    return rows, plants


def _holder(city: City, compounds: list[dict]) -> str:
    """The community holding the first of the compounds (by code), where the finding is drawn."""
    first = min(compounds, key=lambda c: c["code"])
    point = shapely.point_on_surface(first["geometry"])
    return next(c["code"] for c in city.communities if c["geometry"].contains(point))


def _committees(city: City) -> tuple[list[dict], list[dict]]:
    rows, plants, kinds = [], [], {}
    for i, c in enumerate(
        c for c in city.compounds if c["property_company"] and c["community_code"]
    ):
        if i % 4:
            continue
        code = f"YW{len(rows) + 1:02d}"
        party, cross = 1 + i % 2, 1
        if "none" not in kinds and c["community_code"] == "510199001001":
            party, kinds["none"] = 0, code
            plants.append(_plant("committee_without_party_member", "owners_committee", code, f"{c['name']}业主委员会", c["community_code"]))  # fmt: skip
        elif "cross" not in kinds and c["community_code"] == "510199001006":
            cross, kinds["cross"] = 0, code
            plants.append(_plant("committee_without_cross_serving", "owners_committee", code, f"{c['name']}业主委员会", c["community_code"]))  # fmt: skip
        rows.append({"业委会编号": code, "业委会名称": f"{c['name']}业主委员会", "所在小区": c["code"],
                     "委员人数": 5 + i % 3, "党员人数": party, "交叉任职人数": cross,
                     "党组织": "功能型党支部" if party else "无"})  # fmt: skip
    return rows, plants


def make_people(city: City, orgs: list[dict]) -> dict:
    """Roster, property companies, owners' committees and the plants (``orgs`` need 党小组数)."""
    roster = Roster()
    grid_households, community_households = _households(city)
    plants = _grids(city, roster, grid_households)
    plants += _branches(city, roster, orgs)
    plants += _buildings(city, roster)
    plants += _community_workers(city, roster, community_households)
    properties, property_plants = _properties(city, roster)
    committees, committee_plants = _committees(city)
    return {"staff": roster.rows, "property": properties, "owners_committee": committees,
            "plants": plants + property_plants + committee_plants}  # fmt: skip

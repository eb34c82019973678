"""Party members, service stations and existing Party organisations of the demo subdistrict.

Names are obviously fictional (surname + 演示 + number), phones start with 100. Members live
inside building footprints unless a plant says otherwise.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Point

from geodata.city import City
from geodata.plants import compounds_in, plant

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
WORKPLACES = ["市演示局机关党支部", "区演示中学党支部", "演示医院第一党支部", "演示科技公司党支部"]

SMALL_GRIDS = ("DJ403", "DJ404")  # eight compounds with fewer than 3 full members
EMPTY_GRID = "DJ605"  # no member lives here
BIG_COMPOUND_GRID = "DJ203"  # its first compound houses over 50 members


def member_counts(city: City, rng) -> dict[str, int]:
    """Members living in each compound: about a quarter of the households, with planted extremes."""
    households: dict[str, int] = {}
    for b in city.buildings:
        if b["compound_code"]:
            households[b["compound_code"]] = households.get(b["compound_code"], 0) + b["households"]
    counts = {code: max(3, round(h * rng.uniform(0.16, 0.24))) for code, h in households.items()}
    for grid in SMALL_GRIDS:
        for c, n in zip(compounds_in(city, grid), (2, 1, 2, 1), strict=True):
            counts[c["code"]] = n
    for c in compounds_in(city, EMPTY_GRID):
        counts[c["code"]] = 0
    counts[compounds_in(city, BIG_COMPOUND_GRID)[0]["code"]] = 62
    return counts


def _random_point_in(rng, geom) -> Point:
    """A point half a metre or more inside ``geom`` (where it is that wide): GCJ-02 rounding."""
    inner = geom.buffer(-0.5)
    geom = inner if inner.area >= 1.0 else geom
    x0, y0, x1, y1 = geom.bounds
    while True:
        p = Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if geom.contains(p):
            return p


def make_members(city: City, rng, counts: dict[str, int], empty_building: str) -> list[dict]:
    """Members placed in the buildings of their compound, weighted by households."""
    members = []
    small = {c["code"] for g in SMALL_GRIDS for c in compounds_in(city, g)}
    for compound in city.compounds:
        buildings = [b for b in city.buildings
                     if b["compound_code"] == compound["code"] and b["code"] != empty_building
                     and not b["name"].endswith("(重复录入)")]  # fmt: skip
        n = counts.get(compound["code"], 0)
        if not buildings or n == 0:
            continue
        weights = np.array([b["households"] for b in buildings], dtype=float)
        homes = rng.choice(len(buildings), size=n, p=weights / weights.sum())
        for i in homes:
            b = buildings[i]
            full = compound["code"] in small or rng.random() < 0.87
            members.append(_member(rng, len(members), b, compound, full))
    return members


def _member(rng, index: int, building: dict, compound: dict, full: bool) -> dict:
    in_service = bool(rng.random() < 0.3)
    reported = bool(rng.random() < 0.85) if in_service else False
    return {
        "code": f"DY{index + 1:05d}",
        "name": f"{SURNAMES[index % len(SURNAMES)]}演示{index + 1}",
        "phone": f"100{index + 1:08d}",
        "address": f"锦绣街道{building['name']}{int(rng.integers(1, 4))}单元{int(rng.integers(1, 30)):02d}0{int(rng.integers(1, 5))}室",
        "category": "正式党员" if full else "预备党员",
        "in_service": "是" if in_service else "否",
        "reported": "是" if reported else "否",
        "org_name": WORKPLACES[index % len(WORKPLACES)] if in_service else None,
        "compound_code": compound["code"],
        "building_code": building["code"],
        "geometry": _random_point_in(rng, building["valid"]),
    }


def plant_member_cases(city: City, members: list[dict], rng) -> list[dict]:
    """A member far from any building, one who snaps to a wall, one not reported."""
    out = []
    x0, y0, x1, _y1 = city.outline.bounds
    spot = Point((x0 + x1) / 2, y0 - 200.0)  # 200 m south of the subdistrict's southern edge
    distance = min(b["valid"].distance(spot) for b in city.buildings)
    far = {**members[0], "code": "DY-FAR", "name": "周演示远", "phone": "10099990001",
           "in_service": "否", "reported": "否", "org_name": None,
           "building_code": None, "compound_code": None, "geometry": spot}  # fmt: skip
    members.append(far)
    out.append(plant("member_unassigned", "member", "DY-FAR", ["DY-FAR"], far["geometry"],
                     f"党员 DY-FAR 的住址点距最近楼栋约 {distance:.0f} 米，无法落位",
                     f"Member DY-FAR's home point is about {distance:.0f} m from any building"))  # fmt: skip
    target = next(
        b for b in city.buildings if b["compound_code"] == compounds_in(city, "DJ102")[0]["code"]
    )
    near = {**members[1], "code": "DY-NEAR", "name": "吴演示近", "phone": "10099990002",
            "building_code": target["code"], "compound_code": target["compound_code"],
            "geometry": _outside_wall(city, target, 5.0)}  # fmt: skip
    members.append(near)
    out.append(plant("member_snapped", "member", "DY-NEAR", ["DY-NEAR", target["code"]], near["geometry"],
                     f"党员 DY-NEAR 住址点在楼栋 {target['code']} 外墙外 5 米，应吸附到该楼栋 (不是留白)",
                     f"Member DY-NEAR is 5 m outside building {target['code']} and snaps to it (not a gap)"))  # fmt: skip
    home = next(m for m in members if m["in_service"] == "否" and m["compound_code"] not in ("",))
    home.update(in_service="是", reported="否", org_name=WORKPLACES[0], code="DY-NOREP")
    out.append(plant("member_not_reported", "member", "DY-NOREP", ["DY-NOREP"], home["geometry"],
                     "在职党员 DY-NOREP 居住在本街道，尚未到社区报到",
                     "In-service member DY-NOREP lives here and has not reported to the community"))  # fmt: skip
    return out


# where each station is wanted, as fractions of the subdistrict's extent; it stands in the
# compound nearest to that place. The north-east is left beyond every station's reach.
STATION_PLACES = [(0.17, 0.75, "锦绣社区党群服务站"), (0.4, 0.72, "芙蓉社区党群服务站"),
                  (0.75, 0.38, "桂花社区党群服务站"), (0.17, 0.25, "银杏社区党群服务站"),
                  (0.5, 0.25, "玉林社区党群服务站"), (0.83, 0.25, "望江社区党群服务站"),
                  (0.33, 0.5, "锦绣街道党群服务中心"), (0.17, 0.5, "银杏路党群服务点"),
                  (0.5, 0.5, "芙蓉路党群服务点"), (0.67, 0.08, "望江路党群服务点")]  # fmt: skip


def make_stations(city: City) -> list[dict]:
    x0, y0, x1, y1 = city.outline.bounds
    inside = [c["geometry"] for c in city.compounds if c["geometry"].within(city.outline)]
    out = []
    for i, (fx, fy, name) in enumerate(STATION_PLACES):
        wanted = Point(x0 + fx * (x1 - x0), y0 + fy * (y1 - y0))
        home = min(inside, key=lambda g: g.distance(wanted))
        out.append({"code": f"ZD{i + 1:02d}", "name": name,
                    "kind": "党群服务中心" if "中心" in name else "党群服务站",
                    "geometry": home.representative_point()})  # fmt: skip
    return out


def _outside_wall(city: City, target: dict, gap: float) -> Point:
    """A point ``gap`` metres outside ``target``'s wall, farther from every other building."""
    others = [b["valid"] for b in city.buildings if b is not target and b["code"] != target["code"]]
    centre = target["valid"].centroid
    best, room = None, -1.0
    for angle in np.radians(np.arange(0, 360, 15)):
        direction = np.array([np.cos(angle), np.sin(angle)])
        far = Point(*(np.array(centre.coords[0]) + 500 * direction))
        wall = target["valid"].boundary.intersection(shapely.LineString([centre, far]))
        if wall.is_empty:
            continue
        edge = max(shapely.get_parts(wall), key=lambda p: p.distance(centre))
        spot = Point(*(np.array(edge.coords[0]) + gap * direction))
        clear = min(o.distance(spot) for o in others)
        if abs(target["valid"].distance(spot) - gap) < 0.5 and clear > room:
            best, room = spot, clear
    return best


def make_orgs(
    city: City, counts_full: dict[str, int], counts_all: dict[str, int]
) -> tuple[list[dict], list[dict]]:
    """The organisation table as offices keep it, with the planted rule breaks."""
    orgs, out = [], []
    committee = {c["code"]: f"{c['name']}党委" for c in city.communities}
    for c in city.communities:
        orgs.append(_org(f"{c['name']}党委", "党委", "锦绣街道党工委", "是", []))
    small = [c for g in SMALL_GRIDS for c in compounds_in(city, g)]
    empty = compounds_in(city, EMPTY_GRID)
    joint_six = empty + compounds_in(city, "DJ606")[:2]
    uncovered = compounds_in(city, "DJ502")[0]
    needs_committee = compounds_in(city, "DJ101")[0]
    skip = {c["code"] for c in small + joint_six} | {uncovered["code"]}
    for compound in city.compounds:
        if compound["code"] in skip:
            continue
        full = counts_full.get(compound["code"], 0)
        has_committee = "是" if full >= 7 and compound is not needs_committee else "否"
        orgs.append(_org(f"{compound['name']}党支部", "党支部", committee.get(compound["community_code"], ""),
                         has_committee, [compound["code"]]))  # fmt: skip
    too_small = small[1]
    orgs.append(
        _org(
            f"{too_small['name']}党支部",
            "党支部",
            committee[too_small["community_code"]],
            "否",
            [too_small["code"]],
        )
    )
    joint_a = [c for c in small if c is not too_small][:5]
    joint_b = [c for c in small if c is not too_small][5:]
    orgs.append(
        _org(
            "银杏社区第一联合党支部",
            "联合党支部",
            committee["510199001004"],
            "否",
            [c["code"] for c in joint_a],
        )
    )
    orgs.append(
        _org(
            "银杏社区第二联合党支部",
            "联合党支部",
            committee["510199001004"],
            "否",
            [c["code"] for c in joint_b],
        )
    )
    orgs.append(
        _org(
            "望江社区联合党支部",
            "联合党支部",
            committee["510199001006"],
            "是",
            [c["code"] for c in joint_six],
        )
    )
    big = compounds_in(city, BIG_COMPOUND_GRID)[0]
    out += [
        plant("branch_too_small", "org", f"{too_small['name']}党支部", [too_small["code"]], too_small["geometry"],
              f"{too_small['name']}党支部覆盖的小区只住有 {counts_full[too_small['code']]} 名正式党员",
              f"The branch of {too_small['code']} covers only {counts_full[too_small['code']]} full members"),
        plant("branch_too_large", "org", f"{big['name']}党支部", [big["code"]], big["geometry"],
              f"{big['name']}党支部覆盖的小区住有 {counts_all[big['code']]} 名党员 (超过 50)",
              f"The branch of {big['code']} covers {counts_all[big['code']]} members (over 50)"),
        plant("branch_needs_committee", "org", f"{needs_committee['name']}党支部", [needs_committee["code"]],
              needs_committee["geometry"], f"{needs_committee['name']}党支部有 {counts_full[needs_committee['code']]} 名正式党员，未设支委会",
              f"The branch of {needs_committee['code']} has {counts_full[needs_committee['code']]} full members and no committee"),
        plant("joint_branch_too_many_units", "org", "望江社区联合党支部", [c["code"] for c in joint_six],
              joint_six[0]["geometry"], "望江社区联合党支部覆盖 6 个小区 (超过 5 个)",
              "望江社区联合党支部 covers 6 compounds (more than 5)"),
        plant("compound_without_org", "compound", uncovered["code"], [uncovered["code"]], uncovered["geometry"],
              f"小区 {uncovered['name']} 有住户和党员，但没有任何党组织覆盖",
              f"Compound {uncovered['code']} has households and members but no organisation covers it"),
    ]  # fmt: skip
    return orgs, out


def _org(name: str, kind: str, parent: str, committee: str, covers: list[str]) -> dict:
    return {
        "组织名称": name,
        "组织类型": kind,
        "上级组织": parent,
        "设支委会": committee,
        "覆盖小区": ";".join(covers),
    }


def plant_property(city: City) -> list[dict]:
    out = []
    for grid in ("DJ105", "DJ305", "DJ503"):
        c = next(c for c in compounds_in(city, grid) if c["code"] != "")
        c["property_company"] = c["property_company"] or f"{c['name'][:2]}物业服务有限公司"
        c["property_has_org"] = False
        out.append(plant("property_without_org", "compound", c["code"], [c["code"]], c["geometry"],
                         f"小区 {c['name']} 的物业企业未建立党组织", f"The property company of {c['code']} has no Party organisation"))  # fmt: skip
    return out


def plant_empty_places(city: City, members: list[dict], empty_building: str) -> list[dict]:
    grid = next(g for g in city.grids if g["code"] == EMPTY_GRID)
    building = next(b for b in city.buildings if b["code"] == empty_building)
    return [
        plant("grid_without_member", "grid:party", EMPTY_GRID, [EMPTY_GRID], grid["geometry"],
              f"网格 {EMPTY_GRID} 内没有党员居住 (空白网格)", f"No Party member lives in grid {EMPTY_GRID}"),
        plant("building_without_member", "building", empty_building, [empty_building], building["geometry"],
              f"楼栋 {empty_building} 有 {building['households']} 户，没有党员居住",
              f"Building {empty_building} has {building['households']} households and no Party member"),
    ]  # fmt: skip


def pick_empty_building(city: City) -> str:
    """The building with the most households in 锦绣社区 (outside the planted grids)."""
    first = {
        c["code"]
        for c in city.compounds
        if c["community_code"] == "510199001001"
        and c["grid_code"] not in ("DJ101", "DJ104", "DJ105", "DJ108")
    }
    return max(
        (b for b in city.buildings if b["compound_code"] in first), key=lambda b: b["households"]
    )["code"]

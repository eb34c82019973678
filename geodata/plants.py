"""Planted defects and gaps: every kind of DOMAIN.md, each at a known code and place.

Each function breaks the clean city on purpose and returns what it planted as records for
``planted.json``: kind, layer, code, all codes involved, and a sentence in Chinese and English.
Coordinates here are metres of the generator's frame (see ``city.py``).
"""

from __future__ import annotations

import shapely
from shapely.geometry import MultiPolygon, Polygon, box

from geodata.city import City


def plant(kind: str, layer: str, code: str, codes: list[str], where, zh: str, en: str) -> dict:
    point = where if where.geom_type == "Point" else where.representative_point()
    return {"kind": kind, "layer": layer, "code": code, "codes": codes, "at": (point.x, point.y),
            "note_zh": zh, "note_en": en}  # fmt: skip


def _grid(city: City, code: str) -> dict:
    return next(g for g in city.grids if g["code"] == code)


def _compound(city: City, code: str) -> dict:
    return next(c for c in city.compounds if c["code"] == code)


def compounds_in(city: City, grid_code: str) -> list[dict]:
    return [c for c in city.compounds if c["grid_code"] == grid_code]


def plant_grid_defects(city: City) -> list[dict]:
    """Hole, overlap, sliver, straddle, split and multipart in the Party grid."""
    out = []
    # 留白: a hole in DJ503 over its north-east compound (and its street margin)
    cell = _grid(city, "DJ503")
    hole = box(1250, 600, 1500, 800)
    cell["geometry"] = cell["geometry"].difference(hole)
    inside = [c["code"] for c in city.compounds if c["geometry"].within(hole)]
    out.append(plant("uncovered_area", "grid:party", "DJ503", ["DJ503", *inside], hole,
                     "党建网格 DJ503 东北角有约 5 万平方米未划入任何网格，内有小区 " + "、".join(inside),
                     "About 50,000 m² in the north-east of DJ503 lie in no grid, with compound(s) "
                     + ", ".join(inside)))  # fmt: skip
    # 重叠: DJ201 drawn 9 m into DJ202 along their whole shared edge
    _grid(city, "DJ201")["geometry"] = box(1000, 1200, 1509, 1500)
    out.append(plant("grid_overlap", "grid:party", "DJ201", ["DJ201", "DJ202"],
                     box(1500, 1200, 1509, 1500), "DJ201 与 DJ202 重叠 9 米 × 300 米 (2700 平方米)",
                     "DJ201 and DJ202 overlap by 9 m × 300 m (2,700 m²)"))  # fmt: skip
    # 碎片: DJ303 stops 0.5 m short of DJ305
    _grid(city, "DJ303")["geometry"] = box(2000, 1500, 2500, 1799.5)
    out.append(plant("sliver", "grid:party", "DJ303", ["DJ303", "DJ305"],
                     box(2000, 1799.5, 2500, 1800), "DJ303 与 DJ305 之间有 0.5 米宽、500 米长的缝隙",
                     "A 0.5 m wide, 500 m long gap between DJ303 and DJ305"))  # fmt: skip
    # 跨社区: DJ402 (社区 4) takes the west quarter of DJ501 (社区 5)
    _grid(city, "DJ402")["geometry"] = box(500, 0, 1250, 400)
    _grid(city, "DJ501")["geometry"] = box(1250, 0, 1500, 400)
    moved = [c["code"] for c in compounds_in(city, "DJ501") if c["geometry"].bounds[2] <= 1250]
    for c in city.compounds:
        if c["code"] in moved:
            c["grid_code"] = "DJ402"
    out.append(plant("grid_straddles_community", "grid:party", "DJ402", ["DJ402", *moved],
                     box(1000, 0, 1250, 400), "网格 DJ402 越过社区边界，约三分之一在玉林社区",
                     "Grid DJ402 crosses into 玉林社区: about a third of it lies there"))  # fmt: skip
    # 切分小区: the DJ601/DJ602 border moved 60 m east, through two compounds
    _grid(city, "DJ601")["geometry"] = box(2000, 0, 2560, 400)
    _grid(city, "DJ602")["geometry"] = box(2560, 0, 3000, 400)
    for c in compounds_in(city, "DJ602"):
        if c["geometry"].bounds[0] < 2560:
            out.append(plant("compound_split", "grid:party", c["code"], [c["code"], "DJ601", "DJ602"],
                             c["geometry"], f"小区 {c['name']} 被 DJ601 与 DJ602 分割 (约 22% 在 DJ601)",
                             f"Compound {c['code']} is cut between DJ601 and DJ602 (about 22% in DJ601)"))  # fmt: skip
    return out


def plant_compound_defects(city: City, rng) -> list[dict]:
    """A compound across two communities, one outside the subdistrict, a bowtie compound."""
    out = []
    # 跨社区小区: the north-east compound of DJ108 reaches 70 m into 桂花社区's neighbour
    west = next(
        c
        for c in compounds_in(city, "DJ108")
        if c["geometry"].bounds[0] > 740 and c["geometry"].bounds[1] > 2100
    )
    east = next(
        c
        for c in compounds_in(city, "DJ207")
        if c["geometry"].bounds[2] < 1260 and c["geometry"].bounds[1] > 2100
    )
    x0, y0, _x1, y1 = west["geometry"].bounds
    west["geometry"] = box(x0, y0, 1060, y1)
    _ex0, ey0, ex1, ey1 = east["geometry"].bounds
    east["geometry"] = box(1080, ey0, ex1, ey1)
    city.buildings[:] = [b for b in city.buildings
                         if not (b["compound_code"] == east["code"] and b["geometry"].bounds[0] < 1085)]  # fmt: skip
    out.append(plant("compound_straddles_community", "compound", west["code"], [west["code"], "510199001001", "510199001002"],
                     box(1000, y0, 1060, y1), f"小区 {west['name']} 跨锦绣社区与芙蓉社区 (约 23% 在芙蓉社区)",
                     f"Compound {west['code']} straddles 锦绣社区 and 芙蓉社区 (about 23% in 芙蓉社区)"))  # fmt: skip
    # 社区外小区: a new compound north of the subdistrict, claimed by 芙蓉社区
    outside = box(1300, 2450, 1450, 2550)
    code = f"XQ{len(city.compounds) + 1:03d}"
    city.compounds.append({"code": code, "name": "北郊新苑", "community_code": "510199001002",
                           "grid_code": "DJ207", "property_company": None, "property_has_org": True,
                           "geometry": outside, "high_rise": False})  # fmt: skip
    for n, bx in enumerate((1320, 1390), start=1):
        city.buildings.append({"code": f"{code}-{n:02d}", "name": f"北郊新苑{n}栋", "compound_code": code,
                               "households": 24, "floors": 6, "geometry": box(bx, 2470, bx + 45, 2485)})  # fmt: skip
    out.append(plant("compound_outside_community", "compound", code, [code], outside,
                     "小区 北郊新苑 在街道边界以北 50 米，不在任何社区内",
                     f"Compound {code} lies 50 m north of the subdistrict, in no community"))  # fmt: skip
    # 多部件网格: DJ207 also claims that outside compound, as a second, detached part
    grid = _grid(city, "DJ207")
    grid["geometry"] = MultiPolygon([grid["geometry"], box(1290, 2440, 1460, 2560)])
    out.append(plant("multipart_feature", "grid:party", "DJ207", ["DJ207", code], grid["geometry"].geoms[1],
                     "网格 DJ207 由两个不相连的部分组成", "Grid DJ207 has two separate parts"))  # fmt: skip
    # 几何无效: a compound outline whose closing edge crosses its first edge
    bad = compounds_in(city, "DJ301")[0]
    x0, y0, x1, y1 = bad["geometry"].bounds
    bad["geometry"] = Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0 + 6, y0 - 4)])
    out.append(plant("invalid_geometry", "compound", bad["code"], [bad["code"]], box(x0, y0, x1, y1),
                     f"小区 {bad['name']} 的边界自相交 (导入时修复)",
                     f"Compound {bad['code']}'s outline crosses itself (repaired on import)"))  # fmt: skip
    return out


def plant_building_defects(city: City) -> list[dict]:
    """A building in no compound, a self-intersecting building, a duplicated building."""
    out = []
    lone = {"code": "LD-001", "name": "街边临建", "compound_code": None, "households": 8, "floors": 2,
            "geometry": box(243, 100, 257, 130)}  # fmt: skip
    city.buildings.append(lone)
    out.append(plant("building_outside_compound", "building", "LD-001", ["LD-001"], lone["geometry"],
                     "楼栋 LD-001 位于街道上，不在任何小区内", "Building LD-001 stands in a street, in no compound"))  # fmt: skip
    bad = next(
        b for b in city.buildings if b["compound_code"] == compounds_in(city, "DJ604")[0]["code"]
    )
    x0, y0, x1, y1 = bad["geometry"].bounds
    bad["geometry"] = Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0 + 3, y0 - 2)])
    out.append(plant("invalid_geometry", "building", bad["code"], [bad["code"]], box(x0, y0, x1, y1),
                     f"楼栋 {bad['code']} 轮廓自相交 (导入时修复)", f"Building {bad['code']} crosses itself (repaired on import)"))  # fmt: skip
    original = next(
        b for b in city.buildings if b["compound_code"] == compounds_in(city, "DJ104")[1]["code"]
    )
    copy = {
        **original,
        "code": f"{original['compound_code']}-99",
        "name": original["name"] + "(重复录入)",
    }
    city.buildings.append(copy)
    out.append(plant("duplicate_feature", "building", copy["code"], [original["code"], copy["code"]], original["geometry"],
                     f"楼栋 {copy['code']} 与 {original['code']} 图形完全相同 (重复录入)",
                     f"Building {copy['code']} repeats {original['code']} exactly"))  # fmt: skip
    return out


def plant_household_band(city: City) -> list[dict]:
    """One grid far under the household band, one far over it."""
    out = []
    for grid, factor, zh, en in (("DJ304", 0.5, "户数低于 300", "under 300 households"),
                                  ("DJ306", 1.6, "户数高于 500", "over 500 households")):  # fmt: skip
        codes = {c["code"] for c in compounds_in(city, grid)}
        buildings = [b for b in city.buildings if b["compound_code"] in codes]
        for b in buildings:
            b["households"] = max(4, round(b["households"] * factor))
        total = sum(b["households"] for b in buildings)
        out.append(plant("grid_out_of_band", "grid:party", grid, [grid], _grid(city, grid)["geometry"],
                         f"网格 {grid} 共 {total} 户，{zh}", f"Grid {grid} holds {total} households, {en}"))  # fmt: skip
    return out


def to_lonlat_records(records: list[dict], transform) -> list[dict]:
    """Replace the metre position of each record by lon/lat."""
    out = []
    for r in records:
        lon, lat = transform(*r.pop("at"))
        out.append({**r, "lon": round(float(lon), 7), "lat": round(float(lat), 7)})
    return out


def points_far_from(stations: list, geoms: list, radius: float) -> list[bool]:
    tree = shapely.STRtree(stations)
    return [tree.query_nearest(g, return_distance=True)[1][0] > radius for g in geoms]

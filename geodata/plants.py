"""Planted defects and gaps: every kind of DOMAIN.md, each at a known code and place.

Each function breaks the clean city on purpose and returns what it planted as records for
``planted.json``: kind, layer, code, all codes involved, and a sentence in Chinese and English.
Coordinates here are metres of the generator's frame (see ``city.py``); the shapes are the real
blocks and footprints of ``blocks.py``, so every plant is placed where the real geometry allows
(the grids two neighbours share a border with, the compound nearest a border …).
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import MultiPolygon, Point, Polygon

from geodata import blocks
from geodata.city import STREET, City

OVERLAP = 5.0  # metres DJ201 reaches into DJ202: less than STREET, so no compound is cut by it
SLIVER = 0.5  # metres between DJ303 and DJ305
OUTSIDE = 50.0  # metres between the subdistrict and the compound north of it


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


def _border(a, b):
    """The line two touching shapes share."""
    return shapely.line_merge(shapely.intersection(a.boundary, b.boundary))


def _snap(geom):
    """On the cells' grid, and only its polygons (an overlay can leave lines beside them)."""
    parts = [p for p in shapely.get_parts(shapely.set_precision(geom, blocks.GRID))
             for p in shapely.get_parts(p) if p.geom_type == "Polygon"]  # fmt: skip
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def _one_piece(geom) -> bool:
    return geom.geom_type == "Polygon"


def plant_grid_defects(city: City) -> list[dict]:
    """Hole, overlap, sliver, straddle, split and multipart in the Party grid."""
    straddle = _straddle(city)  # first: the cell it moves must not border the hole
    return _hole(city) + _overlap(city) + _sliver(city) + straddle + _split(city)


def _hole(city: City) -> list[dict]:
    """留白: the cell of DJ503's last compound left out of the grid, but for a 3 m margin that
    keeps the hole inside DJ503 (a gap is named after the grid it borders most)."""
    cell = _grid(city, "DJ503")
    compound = compounds_in(city, "DJ503")[-1]
    hole = _snap(city.cells[compound["code"]].buffer(-3.0, join_style="mitre"))
    cell["geometry"] = _snap(cell["geometry"].difference(hole))
    code, area = compound["code"], hole.area
    return [plant("uncovered_area", "grid:party", "DJ503", ["DJ503", code], hole,
                  f"党建网格 DJ503 有约 {area / 1e4:.1f} 万平方米未划入任何网格，内有小区 {code}",
                  f"About {area:,.0f} m² of DJ503 lie in no grid, with compound {code}")]  # fmt: skip


def _overlap(city: City) -> list[dict]:
    """重叠: DJ201 drawn OVERLAP metres into DJ202 along their whole shared border."""
    a, b = _grid(city, "DJ201"), _grid(city, "DJ202")
    border = _border(a["geometry"], b["geometry"])
    strip = _snap(b["geometry"].intersection(border.buffer(OVERLAP, cap_style="flat")))
    a["geometry"] = _snap(a["geometry"].union(strip))
    length, area = border.length, strip.area
    return [plant("grid_overlap", "grid:party", "DJ201", ["DJ201", "DJ202"], strip,
                  f"DJ201 与 DJ202 沿共同边界重叠 {OVERLAP:.0f} 米 × {length:.0f} 米 (约 {area:.0f} 平方米)",
                  f"DJ201 and DJ202 overlap by {OVERLAP:.0f} m × {length:.0f} m (about {area:,.0f} m²)")]  # fmt: skip


def _sliver(city: City) -> list[dict]:
    """碎片: DJ303 stops SLIVER metres short of DJ305 along their shared border."""
    a, b = _grid(city, "DJ303"), _grid(city, "DJ305")
    border = _border(a["geometry"], b["geometry"])
    gap = border.buffer(SLIVER, cap_style="flat")
    a["geometry"] = _snap(a["geometry"].difference(gap))
    return [plant("sliver", "grid:party", "DJ303", ["DJ303", "DJ305"], gap.intersection(b["geometry"].buffer(SLIVER)),
                  f"DJ303 与 DJ305 之间有 {SLIVER} 米宽、{border.length:.0f} 米长的缝隙",
                  f"A {SLIVER} m wide, {border.length:.0f} m long gap between DJ303 and DJ305")]  # fmt: skip


def _straddle(city: City) -> list[dict]:
    """跨社区: DJ402 (银杏社区) takes a compound cell of the 玉林社区 grid beside it."""
    grid = _grid(city, "DJ402")
    donors = sorted((g for g in city.grids if g["community_code"] == "510199001005"),
                    key=lambda g: (g["code"] != "DJ501", -_border(grid["geometry"], g["geometry"]).length))  # fmt: skip
    for donor, moved in ((d, c) for d in donors for c in compounds_in(city, d["code"])):
        cell = city.cells[moved["code"]]
        rest, grown = _snap(donor["geometry"].difference(cell)), _snap(grid["geometry"].union(cell))
        if _one_piece(rest) and _one_piece(grown) and cell.area < grid["geometry"].area:
            break
    donor["geometry"], grid["geometry"] = rest, grown
    moved["grid_code"] = "DJ402"
    share = cell.area / grid["geometry"].area
    return [plant("grid_straddles_community", "grid:party", "DJ402", ["DJ402", moved["code"]], cell,
                  f"网格 DJ402 越过社区边界，约 {share:.0%} 在玉林社区 (含小区 {moved['code']})",
                  f"Grid DJ402 crosses into 玉林社区: about {share:.0%} of it lies there")]  # fmt: skip


def _split(city: City) -> list[dict]:
    """切分小区: the DJ601/DJ602 border moved into DJ602, through the compound nearest to it."""
    a, b = _grid(city, "DJ601"), _grid(city, "DJ602")
    border = _border(a["geometry"], b["geometry"])
    nearest = min(compounds_in(city, "DJ602"), key=lambda c: c["geometry"].distance(border))
    low, high = 0.0, 400.0
    for _ in range(40):  # the width that puts about a quarter of that compound in DJ601
        width = (low + high) / 2
        share = (
            nearest["geometry"].intersection(border.buffer(width)).area / nearest["geometry"].area
        )
        low, high = (width, high) if share < 0.25 else (low, width)
    strip = _snap(b["geometry"].intersection(border.buffer(width)))
    a["geometry"], b["geometry"] = (
        _snap(a["geometry"].union(strip)),
        _snap(b["geometry"].difference(strip)),
    )
    out = []
    for c in compounds_in(city, "DJ602"):
        share = c["geometry"].intersection(strip).area / c["geometry"].area
        if share > 0.99:
            c["grid_code"] = "DJ601"
        elif share > 0.01:
            out.append(plant("compound_split", "grid:party", c["code"], [c["code"], "DJ601", "DJ602"], c["geometry"],
                             f"小区 {c['name']} 被 DJ601 与 DJ602 分割 (约 {share:.0%} 在 DJ601)",
                             f"Compound {c['code']} is cut between DJ601 and DJ602 (about {share:.0%} in DJ601)"))  # fmt: skip
    return out


def plant_compound_defects(city: City, rng) -> list[dict]:
    """A compound across two communities, one outside the subdistrict, a bowtie compound."""
    return _across(city) + _outside(city) + _bowtie(city)


def _across(city: City) -> list[dict]:
    """跨社区小区: a compound of DJ108 stretched 60 m across the street into 芙蓉社区."""
    other = next(c for c in city.communities if c["code"] == "510199001002")["geometry"]
    west = max(
        compounds_in(city, "DJ108"), key=lambda c: _border(city.cells[c["code"]], other).length
    )
    border = _border(city.cells[west["code"]], other)
    reach = shapely.union_all([city.cells[west["code"]], other])
    grow = (
        west["geometry"]
        .buffer(60.0, join_style="mitre")
        .intersection(reach)
        .intersection(border.buffer(60.0))
    )
    west["geometry"] = _snap(_largest(west["geometry"].union(grow)))
    for c in city.compounds:
        if c["community_code"] == "510199001002" and c["geometry"].intersects(west["geometry"]):
            c["geometry"] = _snap(
                _largest(c["geometry"].difference(west["geometry"].buffer(STREET)))
            )
            city.buildings[:] = [b for b in city.buildings if b["compound_code"] != c["code"]
                                 or b["valid"].within(c["geometry"])]  # fmt: skip
    share = west["geometry"].intersection(other).area / west["geometry"].area
    return [plant("compound_straddles_community", "compound", west["code"], [west["code"], "510199001001", "510199001002"],
                  west["geometry"].intersection(other), f"小区 {west['name']} 跨锦绣社区与芙蓉社区 (约 {share:.0%} 在芙蓉社区)",
                  f"Compound {west['code']} straddles 锦绣社区 and 芙蓉社区 (about {share:.0%} in 芙蓉社区)")]  # fmt: skip


def _largest(geom):
    return max(shapely.get_parts(geom), key=lambda p: p.area)


def _outside(city: City) -> list[dict]:
    """社区外小区: real houses north of the subdistrict, claimed by 芙蓉社区 and by DJ207."""
    grid = _grid(city, "DJ207")
    houses = [g for g in city.beyond if g.area > 100]
    shape = shapely.convex_hull(shapely.union_all(houses)).buffer(12.0, join_style="mitre")
    dy = OUTSIDE - shape.distance(city.outline)  # moved north until it is OUTSIDE metres away
    shape = affinity.translate(shape, 0, dy)
    code = f"XQ{len(city.compounds) + 1:03d}"
    city.compounds.append({"code": code, "name": "北郊新苑", "community_code": "510199001002",
                           "grid_code": "DJ207", "property_company": None, "property_has_org": True,
                           "geometry": _snap(shape), "high_rise": False})  # fmt: skip
    for n, house in enumerate(houses, start=1):
        footprint = affinity.translate(house, 0, dy)
        city.buildings.append({"code": f"{code}-{n:02d}", "name": f"北郊新苑{n}栋", "compound_code": code,
                               "households": 24, "floors": 6, "geometry": footprint, "valid": footprint})  # fmt: skip
    part = _snap(shape.buffer(10.0, join_style="mitre"))
    grid["geometry"] = MultiPolygon([grid["geometry"], part])
    return [
        plant("compound_outside_community", "compound", code, [code], shape,
              f"小区 北郊新苑 在街道边界以北 {OUTSIDE:.0f} 米，不在任何社区内",
              f"Compound {code} lies {OUTSIDE:.0f} m north of the subdistrict, in no community"),
        plant("multipart_feature", "grid:party", "DJ207", ["DJ207", code], part,
              "网格 DJ207 由两个不相连的部分组成", "Grid DJ207 has two separate parts"),
    ]  # fmt: skip


def _bowtie(city: City) -> list[dict]:
    """几何无效: a compound outline whose closing edge crosses its first edge."""
    bad = compounds_in(city, "DJ301")[0]
    clean = shapely.orient_polygons(bad["geometry"])  # counter-clockwise: inside on the left
    ring = np.asarray(clean.exterior.coords)[:-1]
    for start in range(len(ring)):
        turned = np.roll(ring, -start, axis=0)
        along = (turned[1] - turned[0]) / np.linalg.norm(turned[1] - turned[0])
        spike = turned[0] + 6 * along - 4 * np.array([-along[1], along[0]])
        crossed = Polygon([*turned, spike])
        if not crossed.is_valid and abs(shapely.make_valid(crossed).area - clean.area) < 50:
            break
    bad["geometry"] = crossed
    return [plant("invalid_geometry", "compound", bad["code"], [bad["code"]], clean,
                  f"小区 {bad['name']} 的边界自相交 (导入时修复)",
                  f"Compound {bad['code']}'s outline crosses itself (repaired on import)")]  # fmt: skip


def plant_building_defects(city: City) -> list[dict]:
    """A building in no compound, real footprints invalid as mapped, a duplicated building."""
    return _lone(city) + _invalid_footprints(city) + _duplicate(city)


def _lone(city: City) -> list[dict]:
    """A real shed put up by a street of 银杏社区, in no compound."""
    community = next(c for c in city.communities if c["code"] == "510199001004")["geometry"]
    compounds = shapely.union_all([c["geometry"] for c in city.compounds])
    shed = min(city.spare, key=lambda g: abs(g.area - 60.0))
    centre, home = shed.centroid, community.centroid
    x0, y0, x1, y1 = community.bounds
    spots = [Point(x, y) for y in np.arange(y0, y1, 5.0) for x in np.arange(x0, x1, 5.0)]
    for spot in sorted(spots, key=lambda p: p.distance(home)):
        placed = affinity.translate(shed, spot.x - centre.x, spot.y - centre.y)
        if placed.within(community.buffer(-20.0)) and placed.distance(compounds) > 5.0:
            break
    city.buildings.append({"code": "LD-001", "name": "街边临建", "compound_code": None, "households": 8,
                           "floors": 2, "geometry": placed, "valid": placed})  # fmt: skip
    return [plant("building_outside_compound", "building", "LD-001", ["LD-001"], placed,
                  "楼栋 LD-001 不在任何小区内 (街边临建)", "Building LD-001 stands in no compound")]  # fmt: skip


def _invalid_footprints(city: City) -> list[dict]:
    """The largest real footprints invalid as mapped, each put in a compound with room for it.

    They are ways cut at the edge of the OpenStreetMap extract, which cross themselves there.
    """
    out = []
    hosts = [compounds_in(city, grid)[0] for grid in ("DJ604", "DJ206", "DJ302")]
    for footprint, host in zip(city.invalid, hosts, strict=False):
        mapped, valid = footprint
        spot = _free_spot(city, host, valid)
        dx, dy = spot.x - valid.centroid.x, spot.y - valid.centroid.y
        number = sum(b["compound_code"] == host["code"] for b in city.buildings) + 1
        code = f"{host['code']}-{number:02d}"
        moved = affinity.translate(valid, dx, dy)
        city.buildings.append({"code": code, "name": f"{host['name']}{number}栋", "compound_code": host["code"],
                               "households": max(2, round(moved.area * 4 * 0.75 / 90)), "floors": 4,
                               "geometry": affinity.translate(mapped, dx, dy), "valid": moved})  # fmt: skip
        out.append(plant("invalid_geometry", "building", code, [code], moved,
                         f"楼栋 {code} 轮廓自相交 (OpenStreetMap 原样，导入时修复)",
                         f"Building {code} crosses itself as mapped (repaired on import)"))  # fmt: skip
    return out


def _free_spot(city: City, host: dict, footprint) -> Point:
    """The first point of a 5 m lattice where ``footprint`` fits in ``host`` clear of its buildings."""
    others = shapely.union_all(
        [b["valid"] for b in city.buildings if b["compound_code"] == host["code"]]
    )
    x0, y0, x1, y1 = host["geometry"].bounds
    centre = footprint.centroid
    for y in np.arange(y0, y1, 5.0):
        for x in np.arange(x0, x1, 5.0):
            placed = affinity.translate(footprint, x - centre.x, y - centre.y)
            if placed.buffer(3.0).within(host["geometry"]) and placed.distance(others) > 4.0:
                return Point(x, y)
    raise ValueError(f"no room in {host['code']}")


def _duplicate(city: City) -> list[dict]:
    original = next(
        b for b in city.buildings if b["compound_code"] == compounds_in(city, "DJ104")[1]["code"]
    )
    copy = {
        **original,
        "code": f"{original['compound_code']}-99",
        "name": original["name"] + "(重复录入)",
    }
    city.buildings.append(copy)
    return [plant("duplicate_feature", "building", copy["code"], [original["code"], copy["code"]], original["valid"],
                  f"楼栋 {copy['code']} 与 {original['code']} 图形完全相同 (重复录入)",
                  f"Building {copy['code']} repeats {original['code']} exactly")]  # fmt: skip


def plant_household_band(city: City) -> list[dict]:
    """One grid far under the household band, one far over it."""
    out = []
    for grid, factor, zh, en in (("DJ304", 0.5, "户数低于 300", "under 300 households"),
                                  ("DJ306", 1.6, "户数高于 500", "over 500 households")):  # fmt: skip
        codes = {c["code"] for c in compounds_in(city, grid)}
        buildings = [b for b in city.buildings if b["compound_code"] in codes]
        for b in buildings:
            b["households"] = max(2, round(b["households"] * factor))
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

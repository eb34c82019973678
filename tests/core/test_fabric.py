"""The unit fabric on hand-made irregular communities: territories tile each community exactly,
and a compound above the ceiling is split into contiguous building groups."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely import Polygon, box

from gridmap.core.fabric import unit_fabric

CM2 = 1e-4  # one square centimetre, in m²


def frame(codes, geoms, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": codes, **columns}, geometry=list(geoms), crs=4544)


def blob(cx: float, cy: float, r: float, n: int, seed: int) -> Polygon:
    """An irregular star-shaped polygon (no rectangle, no right angle)."""
    rng = np.random.default_rng(seed)
    a = np.sort(rng.uniform(0, 2 * np.pi, n))
    rr = r * rng.uniform(0.6, 1.0, n)
    return Polygon(np.c_[cx + rr * np.cos(a), cy + rr * np.sin(a)])


def irregular_community(seed: int = 3):
    """One irregular community, irregular compounds with square buildings, loose buildings."""
    rng = np.random.default_rng(seed)
    area = blob(500, 500, 480, 14, seed)
    compounds: list[Polygon] = []
    for i in range(14):
        c = blob(*rng.uniform(150, 850, 2), 60, 7, seed * 100 + i)
        if c.within(area) and not any(c.intersects(o) for o in compounds):
            compounds.append(c)
    buildings, households, codes = [], [], []
    for k, c in enumerate(compounds):
        x0, y0, x1, y1 = c.bounds
        points = shapely.points(rng.uniform(x0, x1, 40), rng.uniform(y0, y1, 40))
        for j, p in enumerate([p for p in points if c.contains(p.buffer(7))][:5]):
            buildings.append(p.buffer(5, cap_style="square"))
            households.append(int(rng.integers(10, 90)))
            codes.append(f"B{k}-{j}")
    taken = shapely.union_all(compounds).buffer(10)
    spots = [(x, y) for x in range(100, 900, 37) for y in range(100, 900, 41)]
    free = [box(x, y, x + 9, y + 12) for x, y in spots if area.contains(box(x, y, x + 9, y + 12))
            and not taken.intersects(box(x, y, x + 9, y + 12))]  # fmt: skip
    for j, foot in enumerate([free[0], free[-1]]):
        buildings.append(foot)
        households.append(30)
        codes.append(f"L{j}")
    return (
        frame(["C1"], [area]),
        frame([f"X{k}" for k in range(len(compounds))], compounds),
        frame(codes, buildings, households=households),
    )


def assert_tiles(units: gpd.GeoDataFrame, area) -> None:
    geoms = np.asarray(units.geometry.values, dtype=object)
    union = shapely.union_all(geoms)
    assert shapely.area(shapely.symmetric_difference(union, area)) < CM2  # no gap, no spill
    assert shapely.area(geoms).sum() - union.area < CM2  # no overlap


def test_territories_of_an_irregular_community_tile_it_exactly():
    communities, compounds, buildings = irregular_community()
    members = frame(["M1", "M2", "M3"], shapely.point_on_surface(buildings.geometry.values[:3]),
                    category=["full", "full", "probationary"])  # fmt: skip
    units = unit_fabric(communities, compounds, buildings, members, ceiling=10_000)
    assert_tiles(units, communities.geometry.iloc[0])
    assert len(compounds) >= 6
    assert set(units["compound_code"].dropna()) == set(compounds["code"])
    assert (units["community_code"] == "C1").all()
    assert units["households"].sum() == buildings["households"].sum()
    assert units["buildings"].sum() == len(buildings)
    assert (units["members_full"].sum(), units["members_probationary"].sum()) == (2, 1)
    loose = units[units["kind"] == "buildings"]
    assert sorted(loose["code"]) == ["C1-LL0", "C1-LL1"]
    assert shapely.union_all(units.geometry.values).is_valid


def test_a_community_without_units_is_one_unit_of_ground():
    area = blob(0, 0, 200, 9, 7)
    none = frame([], [])
    units = unit_fabric(frame(["C9"], [area]), none, frame([], [], households=[]))
    assert units[["code", "kind", "households"]].values.tolist() == [["C9-G", "ground", 0]]
    assert_tiles(units, area)


def test_a_compound_above_the_ceiling_is_split_into_contiguous_groups_in_the_band():
    """860 households in 40 buildings: two contiguous groups of about 430, tiling its ground."""
    area = Polygon([(0, 0), (430, -20), (470, 180), (60, 230)])
    compound = Polygon([(20, 10), (410, -5), (445, 170), (70, 205)])
    feet = [box(x, y, x + 12, y + 15) for x in np.linspace(60, 380, 10) for y in (30, 70, 110, 150)]  # fmt: skip
    households = [21] * 20 + [22] * 20
    np.random.default_rng(0).shuffle(households)
    buildings = frame([f"B{i:02d}" for i in range(40)], feet, households=households)
    communities, compounds = frame(["C1"], [area]), frame(["X1"], [compound])
    units = unit_fabric(communities, compounds, buildings, floor=300, ceiling=500)
    assert units["code"].tolist() == ["C1-X1-1", "C1-X1-2"]
    assert (units["kind"] == "compound_part").all() and (units["compound_code"] == "X1").all()
    assert all(300 <= h <= 500 for h in units["households"]) and units["households"].sum() == 860
    assert (units.geometry.geom_type == "Polygon").all()  # each group is one piece
    assert_tiles(units, area)
    listed = [set(c.split(";")) for c in units["building_codes"]]
    assert listed[0].isdisjoint(listed[1]) and len(listed[0] | listed[1]) == 40
    whole = unit_fabric(communities, compounds, buildings, floor=300, ceiling=1000)
    assert whole["code"].tolist() == ["C1-X1"] and whole["households"].tolist() == [860]

"""The unit fabric on hand-made irregular communities: territories tile each community exactly,
a compound above the ceiling is split into contiguous building groups, and a compound across a
community border is one unit in each community."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import Polygon, box

from gridmap.core.fabric import unit_fabric
from gridmap.core.plans import cell_figures, validate
from gridmap.core.unit_plans import cells_from_assignment, compounds_by_community

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


def two_communities_and_a_compound_across_their_border():
    """Two irregular communities with a jagged shared border and an irregular compound lying
    mostly in the west one, its buildings on both sides; a neighbour compound on each side."""
    border = [(300, -10), (320, 80), (290, 170), (335, 260), (310, 410)]
    west = Polygon([(-20, -10), *border, (0, 390)])
    east = Polygon([*border, (640, 400), (610, 0)])
    across = Polygon([(180, 120), (260, 95), (372, 140), (358, 225), (250, 250), (170, 205)])
    others = [Polygon([(40, 40), (150, 30), (140, 110), (60, 120)]),
              Polygon([(420, 260), (560, 250), (580, 350), (430, 360)]),
              Polygon([(420, 30), (560, 50), (540, 120), (410, 110)])]  # fmt: skip
    feet = [box(200, 140, 215, 155), box(240, 190, 255, 205), box(330, 160, 345, 175),
            box(340, 190, 352, 205), box(60, 60, 80, 80), box(450, 280, 470, 300),
            box(450, 60, 470, 80)]  # fmt: skip
    return (
        frame(["W", "E"], [west, east]),
        frame(["XA", "X1", "X2", "X3"], [across, *others]),
        frame(
            [f"B{i}" for i in range(len(feet))], feet, households=[60, 70, 40, 30, 120, 200, 150]
        ),
    )


def test_each_communitys_part_of_a_compound_across_their_border_is_a_unit_of_its_own():
    communities, compounds, buildings = two_communities_and_a_compound_across_their_border()
    units = unit_fabric(communities, compounds, buildings).set_index("code")
    assert sorted(units.index) == ["E-X2", "E-X3", "E-XA", "W-X1", "W-XA"]
    assert units.loc[["W-XA", "E-XA"], "compound_code"].tolist() == ["XA", "XA"]
    assert units.loc[["W-XA", "E-XA"], "households"].tolist() == [130, 70]
    across = compounds.geometry.iloc[0]
    for code, area in zip(communities["code"], communities.geometry.values, strict=True):
        mine = units[units["community_code"] == code]
        assert_tiles(mine, area)
        part = shapely.intersection(across, area)  # whole in its own unit, nothing of it elsewhere
        assert shapely.area(shapely.difference(part, units.geometry[f"{code}-XA"])) < CM2
        others = mine.drop(index=f"{code}-XA").geometry.values
        assert shapely.area(shapely.intersection(others, across)).sum() < CM2


def test_cells_painted_from_the_parts_of_a_compound_across_a_border_never_cut_it():
    """Whatever cells the units go to, validation finds no cut compound: each community's part is
    one unit, and a compound in cells of two communities is not cut."""
    communities, compounds, buildings = two_communities_and_a_compound_across_their_border()
    units = unit_fabric(communities, compounds, buildings)
    rng = np.random.default_rng(5)
    for _ in range(8):
        cell = [f"{c}{rng.integers(2)}" for c in units["community_code"]]
        table = pd.DataFrame({"unit_code": units["code"], "cell_code": cell})
        cells = cells_from_assignment(units, table)
        problems = validate(cells, communities, compounds)
        assert problems.empty, problems[["kind", "code"]].values.tolist()


def test_a_sliver_of_a_compound_over_the_border_stays_whole_in_one_unit():
    """A compound reaching 0.5 % of its area over the border is no unit there, and that sliver
    lies whole in one unit of the other community (the Voronoi diagram would share it out)."""
    west, east = box(0, 0, 300, 300), box(300, 0, 600, 300)
    reach = Polygon([(100, 60), (301.5, 60), (301.5, 240), (100, 240)])  # 270 m² over, of 36,270
    east_compounds = [box(320, 20, 420, 145), box(320, 155, 420, 280)]  # the sliver lies between
    compounds = frame(["XW", "E1", "E2"], [reach, *east_compounds])
    buildings = frame(["B1", "B2", "B3"], [box(150, 100, 170, 120), box(350, 50, 370, 70), box(350, 200, 370, 220)], households=[100, 50, 50])  # fmt: skip
    units = unit_fabric(frame(["W", "E"], [west, east]), compounds, buildings)
    assert sorted(units["code"]) == ["E-E1", "E-E2", "W-XW"]
    sliver = shapely.intersection(reach, east)
    held = shapely.area(shapely.intersection(units.geometry.values, sliver))
    assert (held > CM2).sum() == 1 and abs(held.max() - sliver.area) < CM2


def test_cell_figures_on_compounds_by_community_hold_a_compound_across_a_border_whole():
    communities, compounds, buildings = two_communities_and_a_compound_across_their_border()
    units = unit_fabric(communities, compounds, buildings)
    cells = cells_from_assignment(units, pd.DataFrame({"unit_code": units["code"], "cell_code": units["community_code"] + "1"}))  # fmt: skip
    none = frame([], [], category=[])
    figures = cell_figures(cells, buildings, compounds_by_community(compounds, communities), none, none.drop(columns="category"))  # fmt: skip
    assert figures["compounds_cut"].tolist() == ["", ""]
    assert figures["compounds"].tolist() == ["X2;X3;XA", "X1;XA"]  # E1, W1: XA whole in each
    raw = cell_figures(cells, buildings, compounds, none, none.drop(columns="category"))
    assert all(cut.startswith("XA ") for cut in raw["compounds_cut"])  # the compound read as one


def test_a_duplicate_compound_code_on_each_side_of_a_border_makes_no_duplicate_unit():
    """Two compounds digitised with one code (a finding of the layer, not a crash): one mostly
    west reaching east, one east; the east unit of that code stands for both there."""
    west, east = box(0, 0, 300, 300), box(300, 0, 600, 300)
    compounds = frame(["XD", "XD"], [box(100, 50, 400, 250), box(450, 50, 550, 250)])
    buildings = frame(["B1", "B2"], [box(150, 100, 170, 120), box(480, 100, 500, 120)], households=[100, 50])  # fmt: skip
    units = unit_fabric(frame(["W", "E"], [west, east]), compounds, buildings)
    assert sorted(units["code"]) == ["E-XD", "W-XD"]
    assert_tiles(units[units["community_code"] == "E"], east)

"""Members per drawn cell are counted where the analysis places them (落位), not where their home
point falls: the editor's figures and the plan diff agree with the unit figures.

Two cells split by a jagged border (x = 50 south of y = 30, x = 40 north of it); a building of
cell B with an L-shaped footprint reaching west; members beside it, inside it and far from
everything.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from shapely.geometry import Point, Polygon, box

from gridmap.core.member_homes import PLACED, cells_of_homes, placed_homes, stored_homes
from gridmap.core.plans import cell_figures, diff

CRS = "EPSG:4547"
WEST = Polygon([(0, 0), (50, 0), (50, 30), (40, 30), (40, 60), (0, 60)])
EAST = Polygon([(50, 0), (100, 0), (100, 60), (40, 60), (40, 30), (50, 30)])
CELLS = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[WEST, EAST], crs=CRS)
# an L wholly in B, its foot 3 m from cell A's ground
L_BUILDING = Polygon([(53, 5), (80, 5), (80, 25), (70, 25), (70, 12), (53, 12)])
BUILDINGS = gpd.GeoDataFrame(
    {"code": ["BL", "BW"], "households": [40, 12]},
    geometry=[L_BUILDING, box(5, 40, 15, 50)], crs=CRS,
)  # fmt: skip
MEMBERS = gpd.GeoDataFrame(
    {
        "code": ["snapped-west", "inside", "far", "west"],
        "category": ["full", "full", "probationary", "full"],
    },
    # 4 m west of the L, inside cell A; in the L; 25 m from any building, in A; in BW
    geometry=[Point(49, 8), Point(75, 20), Point(25, 15), Point(10, 45)],
    crs=CRS,
)
NONE = gpd.GeoDataFrame({"code": []}, geometry=[], crs=CRS)


def figures(members=MEMBERS):
    out = cell_figures(CELLS, BUILDINGS, NONE, members, NONE)
    return out.set_index("code")[["households", "members_full", "members_probationary"]]


def test_a_member_snapped_to_a_building_across_a_drawn_border_counts_with_its_households():
    # by containment (what the editor counted before) cell A held 2 full members and the far
    # probationary one, B 1 full member
    by_point = gpd.sjoin(MEMBERS, CELLS, predicate="within").groupby("code_right")["code_left"]
    assert by_point.apply(sorted).to_dict() == {"A": ["far", "snapped-west", "west"], "B": ["inside"]}  # fmt: skip
    # by placement, as the unit figures count: the snapped member in B with the L's 40
    # households, the far one (placed in no building: a member_unassigned finding) in no cell
    assert figures().to_dict("index") == {
        "A": {"households": 12, "members_full": 1, "members_probationary": 0},
        "B": {"households": 40, "members_full": 2, "members_probationary": 0},
    }


def test_the_stored_placement_wins_over_the_home_point():
    # the analysis placed "far" in BW (the layers changed since) and "west" nowhere
    stored = MEMBERS.assign(**{PLACED: ["BL", "BL", "BW", None]})
    assert figures(stored).to_dict("index") == {
        "A": {"households": 12, "members_full": 0, "members_probationary": 1},
        "B": {"households": 40, "members_full": 2, "members_probationary": 0},
    }


def test_the_rosters_own_building_column_is_not_a_placement():
    # the member layer as read carries the roster's 所住楼栋 (building_code), usually empty:
    # taken for the placement it counted every member nowhere (0 members in every cell)
    roster = MEMBERS.assign(building_code=[None, None, None, None])
    assert figures(roster).to_dict("index") == figures().to_dict("index")
    assert figures(roster)[["members_full"]].sum().item() == 3


def test_homes_are_building_rows_and_cells_follow_the_building():
    homes = placed_homes(BUILDINGS.geometry.values, MEMBERS.geometry.values, snap_distance_m=10)
    assert homes.tolist() == [0, 0, -1, 1]
    assert placed_homes(BUILDINGS.geometry.values, MEMBERS.geometry.values, 2.0).tolist() == [-1, 0, -1, 1]  # fmt: skip
    assert stored_homes(BUILDINGS, MEMBERS) is None
    building_cell = np.array([1, 0])
    assert cells_of_homes(building_cell, homes).tolist() == [1, 1, -1, 0]


def test_a_member_moves_in_the_diff_only_when_their_building_moves():
    # the border moved 5 m west in the south: the snapped member's home point changes cell
    # (containment would move a member from A to B), the building it is placed in does not
    strip = box(45, 0, 50, 30)
    plan = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[WEST.difference(strip), EAST.union(strip)], crs=CRS)  # fmt: skip
    assert plan.contains(MEMBERS.geometry[0]).tolist() == [False, True]
    cells, moves = diff(plan, CELLS, BUILDINGS, MEMBERS)
    assert cells["code"].tolist() == ["A", "B"]
    assert moves.empty
    # giving BW's ground to B moves BW, its 12 households and the member placed in it
    plan = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[WEST.difference(box(0, 35, 20, 60)), EAST.union(box(0, 35, 20, 60))], crs=CRS)  # fmt: skip
    _, moves = diff(plan, CELLS, BUILDINGS, MEMBERS)
    assert moves[["from_code", "to_code", "buildings", "households", "members"]].values.tolist() == [["A", "B", 1, 12, 1]]  # fmt: skip

"""Two plans scored and compared on hand-made cells of one 30 × 20 m community (metres).

Side a: two clean 15 × 20 m cells. Side b: a pentagon and a 14 × 14 m square overlapping it by
2 × 14 m and leaving a 96 m² piece of the community to no cell (留白)."""

from __future__ import annotations

import math

import geopandas as gpd
import pytest
from shapely import Point, Polygon, box

from gridmap.config import Settings
from gridmap.core.plan_scores import Context, compare, differences, polsby_popper

CRS = 4544
PENTAGON = Polygon([(0, 0), (18, 0), (18, 14), (10, 20), (0, 20)])  # 336 m², perimeter 72 m
SETTINGS = Settings(grid_households_min=100, grid_households_max=130)


def frame(geoms, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=list(geoms), crs=CRS)


A = frame([box(0, 0, 15, 20), box(15, 0, 30, 20)], code=["A", "B"])
B = frame([PENTAGON, box(16, 0, 30, 14)], code=["A", "B"])
CONTEXT = Context(
    communities=frame([box(0, 0, 30, 20)], code=["C"]),
    compounds=frame([box(2, 2, 8, 8), box(13, 15, 17, 18)], code=["K1", "K2"]),
    # b1 moves from B to A, b4 from B to no cell (留白 in b); b2 and b3 stay
    buildings=frame([box(15.2, 5, 15.8, 6), box(2, 2, 3, 3), box(25, 2, 26, 3), box(25, 17, 26, 18)],
                    code=["b1", "b2", "b3", "b4"], households=[40, 100, 70, 30]),
    members=frame([Point(15.5, 5.5), Point(2.5, 2.5), Point(25.5, 2.5)], category=["full", "full", "probationary"]),
)  # fmt: skip


def test_polsby_popper_of_a_pentagon_and_a_square():
    found = polsby_popper([PENTAGON, box(0, 0, 14, 14)])
    assert found == pytest.approx([4 * math.pi * 336 / 72**2, math.pi / 4])


def test_each_side_scores_its_band_cuts_overlaps_and_uncovered_ground():
    table = compare(A, B, CONTEXT, SETTINGS).set_index("key")
    a, b = table["a"].to_dict(), table["b"].to_dict()
    assert [a[k] for k in ("cells", "cells_within", "cells_below", "cells_above")] == [2, 1, 0, 1]
    assert [b[k] for k in ("cells", "cells_within", "cells_below", "cells_above")] == [2, 0, 1, 1]
    assert (a["households_min"], a["households_median"], a["households_max"]) == (100, 120.0, 140)
    assert (b["households_min"], b["households_median"], b["households_max"]) == (70, 105.0, 140)
    # K2 straddles a's border; in b its part outside the pentagon is 留白, not a cut
    assert (a["compounds_cut"], b["compounds_cut"]) == (1, 0)
    assert (a["overlaps"], a["overlap_m2"], a["uncovered"], a["uncovered_m2"]) == (0, 0.0, 0, 0.0)
    assert (b["overlaps"], b["overlap_m2"], b["uncovered"], b["uncovered_m2"]) == (1, 28.0, 1, 96.0)
    assert a["compactness_min"] == a["compactness_median"] == round(4 * math.pi * 300 / 70**2, 3)
    assert b["compactness_min"] == round(math.pi / 4, 3)
    assert b["compactness_median"] == round((math.pi / 4 + 4 * math.pi * 336 / 72**2) / 2, 3)
    # every cell has fewer than 3 full members: none could build its own branch
    assert a["cells_without_branch"] == b["cells_without_branch"] == 2


def test_households_and_members_change_grid_with_the_cell_holding_their_building():
    between = compare(A, B, CONTEXT, SETTINGS).set_index("key")["between"]
    assert between["households_moved"] == 40 + 30
    assert between["buildings_moved"] == 2
    assert between["members_moved"] == 1
    assert compare(A, A, CONTEXT, SETTINGS).set_index("key")["between"]["households_moved"] == 0


def test_differences_are_the_ground_whose_cell_code_changes():
    pieces = differences(A, B)
    found = {(r.a_code, r.b_code): r.area_m2 for r in pieces.itertuples()}
    # a's B inside the pentagon but not where b's B overlaps it (B on both sides there: 28 m²
    # unchanged); the 留白 of b on either side of a's border at x = 15
    assert found == {("B", "A"): pytest.approx(45.4 - 28, abs=0.1), ("A", None): pytest.approx(9.4, abs=0.1),
                     ("B", None): pytest.approx(86.6, abs=0.1)}  # fmt: skip
    assert differences(A, A).empty

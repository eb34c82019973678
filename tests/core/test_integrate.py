"""多网合一 as one run (core/integrate.integrate): every layer checked, the unified grid, its
figures, crosswalk and disagreements, on a small hand-made place given in lon/lat.

Two communities meet along a dog-leg; the Party grid has an L-shaped cell, an overlap and a
hole; the comprehensive-governance (综治) grid has one cell across the community border.
"""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely import affinity
from shapely.geometry import Point, Polygon, box

from gridmap.config import Settings
from gridmap.core.integrate import Layers, integrate
from gridmap.errors import NotFoundError

METRIC = "EPSG:4544"
X0, Y0 = 500_000, 3_390_000  # about 105° E, 30.6° N


def frame(data: dict, geoms) -> gpd.GeoDataFrame:
    moved = [affinity.translate(g, X0, Y0) for g in geoms]
    return gpd.GeoDataFrame(data, geometry=moved, crs=METRIC).to_crs(4326)


WEST = Polygon([(0, 0), (100, 0), (100, 60), (120, 60), (120, 150), (0, 150)])
EAST = Polygon([(100, 0), (250, 0), (250, 150), (120, 150), (120, 60), (100, 60)])
COMMUNITIES = frame({"code": ["W", "E"], "name": ["西社区", "东社区"]}, [WEST, EAST])
PARTY = frame(
    {"code": ["P1", "P2", "P3"]},
    [
        WEST,  # the west community, whole
        Polygon([(100, 0), (250, 0), (250, 80), (95, 80), (95, 60), (100, 60)]),  # over W by 5 m
        Polygon([(120, 90), (250, 90), (250, 150), (120, 150)]),  # leaves a 10 m strip bare
    ],
)
ZONGZHI = frame({"code": ["Z1", "Z2"]}, [box(0, 0, 180, 150), box(180, 0, 250, 150)])
COMPOUNDS = frame(
    {"code": ["K1", "K2"], "name": ["甲苑", "乙园"], "community_code": ["W", "E"]},
    [Polygon([(10, 10), (90, 10), (90, 50), (50, 70), (10, 50)]), box(150, 20, 230, 70)],
)
BUILDINGS = frame(
    {"code": ["B1", "B2"], "compound_code": ["K1", "K2"], "households": [120, 80]},
    [box(20, 20, 40, 40), box(160, 30, 190, 50)],
)
MEMBERS = frame(
    {"code": ["M1", "M2", "M3"], "category": ["full", "probationary", "full"]},
    [Point(30, 30), Point(195, 40), Point(60, 120)],  # in B1; 5 m off B2; far from both
)


def layers(**grids) -> Layers:
    grids = grids or {"party": PARTY, "zongzhi": ZONGZHI}
    return Layers(COMMUNITIES, COMPOUNDS, BUILDINGS, grids, MEMBERS)


@pytest.fixture(scope="module")
def result():
    return integrate(layers(), Settings())


def test_the_unified_grid_nests_in_the_communities_and_leaves_no_gap(result):
    unified = result.unified
    assert unified.crs.to_epsg() == 4326
    assert sorted(unified["community_code"]) == ["E", "E", "W"]
    metric = unified.to_crs(METRIC)
    total = COMMUNITIES.to_crs(METRIC).union_all()
    assert abs(metric.union_all().area - total.area) < 1.0  # the bare strip was filled
    assert metric.area.sum() == pytest.approx(total.area, abs=1.0)  # and nothing overlaps


def test_every_layer_is_checked_and_findings_name_their_community(result):
    found = result.findings
    kinds = set(zip(found["kind"], found["layer"], strict=True))
    assert ("grid_overlap", "grid:party") in kinds  # P1 and P2 share a 5 m × 20 m piece
    assert ("uncovered_area", "grid:party") in kinds  # the strip between P2 and P3
    assert ("grid_straddles_community", "grid:party") in kinds  # P2 reaches into W
    assert ("grid_straddles_community", "grid:zongzhi") in kinds  # Z1 covers both communities
    assert found["community_code"].notna().all()
    assert found.crs.to_epsg() == 4326


def test_members_are_placed_once_and_counted_with_their_buildings(result):
    placed = result.placements.set_index("code")
    assert placed.loc["M1", ["building_code", "how"]].tolist() == ["B1", "inside"]
    assert placed.loc["M2", ["building_code", "how"]].tolist() == ["B2", "snapped"]
    assert placed.loc["M3", "how"] == "unplaced"
    cells = result.unified.set_index("community_code")
    assert cells.loc["W", ["households", "members_full", "members_probationary"]].tolist() == [120, 1, 0]  # fmt: skip
    assert result.unified["members_full"].sum() == 1  # M3 counts in no cell


def test_the_crosswalk_and_the_disagreements_of_the_other_grid(result):
    cross = result.crosswalk
    assert set(cross["layer"]) == {"party", "zongzhi"}
    z1 = cross[(cross["layer"] == "zongzhi") & (cross["dept_code"] == "Z1")]
    assert z1["households_shared"].sum() == 200  # both buildings lie in Z1
    assert z1["share_of_dept"].sum() == pytest.approx(1.0, abs=1e-3)
    split = result.disagreements.set_index("dept_code")
    assert split.loc["Z1", "community_codes"] == "E;W"
    assert result.summary["base"] == "party" and result.summary["unified_cells"] == 3


def test_a_missing_base_layer_is_a_clear_error_and_unified_is_never_an_input():
    with pytest.raises(NotFoundError, match="没有网格图层 party"):
        integrate(layers(zongzhi=ZONGZHI), Settings())
    again = integrate(layers(party=PARTY, unified=ZONGZHI), Settings())
    assert set(again.crosswalk["layer"]) == {"party"}

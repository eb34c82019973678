"""The place hierarchy (building → compound → grid → community) on hand-made irregular shapes
(metres, EPSG:4544): largest area share wins, ties and weak shares are findings, departmental
layers go by representative point."""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import Polygon, box

from gridmap.config import Settings
from gridmap.core.hierarchy import assign_by_area, assign_by_point, build_hierarchy

CRS = "EPSG:4544"
SETTINGS = Settings()
# two communities meeting along a zigzag
WEST = Polygon([(0, 0), (100, 0), (100, 50), (80, 50), (80, 100), (0, 100)])
EAST = Polygon([(100, 0), (200, 0), (200, 100), (80, 100), (80, 50), (100, 50)])
COMMUNITIES = gpd.GeoDataFrame({"code": ["W", "E"]}, geometry=[WEST, EAST], crs=CRS)
# a compound mostly west (a pentagon reaching over the zigzag), one wholly east
COMPOUNDS = gpd.GeoDataFrame(
    {"code": ["K1", "K2"]},
    geometry=[Polygon([(10, 10), (110, 10), (110, 40), (60, 45), (10, 40)]), box(120, 60, 180, 90)],
    crs=CRS,
)
BUILDINGS = gpd.GeoDataFrame(
    {"code": ["B1", "B2", "B3", "B4"], "households": [20, 30, 40, 5]},
    geometry=[
        box(20, 15, 30, 35),  # in K1, west
        Polygon([(95, 15), (108, 15), (108, 30), (95, 30)]),  # in K1, mostly east of x = 100
        box(130, 65, 140, 75),  # in K2
        box(30, 70, 50, 90),  # in no compound: placed in its community directly
    ],
    crs=CRS,
)


def codes(column) -> list:
    """Codes with every missing one as None (the tables hold None or NaN for none)."""
    return [c if isinstance(c, str) else None for c in column]


def test_each_child_gets_the_parent_with_the_largest_share_and_the_runner_up():
    table, found = assign_by_area(COMPOUNDS, COMMUNITIES, "compound", "community", SETTINGS)
    k1 = table.set_index("code").loc["K1"]
    assert (k1["parent"], k1["second"]) == ("W", "E")
    assert k1["share"] > 0.9 and round(k1["share"] + k1["second_share"], 4) == 1.0
    assert table.set_index("code").loc["K2", ["parent", "share", "second"]].tolist() == ["E", 1.0, None]  # fmt: skip
    assert found.empty


def test_a_tie_and_a_weak_share_are_findings_not_silent_choices():
    halves = gpd.GeoDataFrame({"code": ["tie", "weak"]}, geometry=[box(90, 60, 110, 70), box(60, 0, 150, 5)], crs=CRS)  # fmt: skip
    thirds = gpd.GeoDataFrame({"code": ["A", "B", "C"]}, geometry=[box(0, 0, 100, 100), box(100, 0, 120, 100), box(120, 0, 200, 100)], crs=CRS)  # fmt: skip
    table, found = assign_by_area(halves, thirds, "building", "grid:party", Settings(share_threshold=0.6))  # fmt: skip
    assert table["parent"].tolist() == ["A", "A"]  # the tie goes to the first found, and says so
    assert found["kind"].tolist() == ["ambiguous_parent", "ambiguous_parent"]
    assert found["code"].tolist() == ["tie", "weak"]
    assert found["codes"].tolist() == ["tie;A;B", "weak;A;C"]


def test_a_child_touching_no_parent_has_none_and_no_finding():
    table, found = assign_by_area(gpd.GeoDataFrame({"code": ["out"]}, geometry=[box(500, 500, 510, 510)], crs=CRS), COMMUNITIES, "building", "community", SETTINGS)  # fmt: skip
    assert table[["parent", "share", "second"]].values.tolist() == [[None, 0.0, None]]
    assert found.empty


def test_buildings_follow_their_compound_to_its_community_even_across_the_border():
    grids = {"party": COMMUNITIES.assign(code=["G1", "G2"]), "城管": gpd.GeoDataFrame({"code": ["U1"]}, geometry=[box(0, 0, 100, 100)], crs=CRS)}  # fmt: skip
    h = build_hierarchy(BUILDINGS, COMPOUNDS, grids, COMMUNITIES, SETTINGS)
    b = h.buildings.set_index("code")
    # B2 lies mostly east of the border, but its compound K1 is in W: the chain decides
    assert [c if isinstance(c, str) else None for c in b["compound_code"]] == [
        "K1",
        "K1",
        "K2",
        None,
    ]
    assert b["community_code"].tolist() == ["W", "W", "E", "W"]
    # the reported party grid goes by area (B2 mostly in G2); the departmental one by point
    assert b["grid_code__party"].tolist() == ["G1", "G2", "G2", "G1"]
    assert codes(b["grid_code__城管"]) == ["U1", None, None, "U1"]
    assert h.compounds.set_index("code")["grid_code__party"].tolist() == ["G1", "G2"]


def test_assign_by_point_uses_a_point_inside_even_for_a_u_shape():
    u = Polygon([(0, 0), (30, 0), (30, 30), (20, 30), (20, 10), (10, 10), (10, 30), (0, 30)])
    inner = gpd.GeoDataFrame(
        {"code": ["gap"]}, geometry=[box(10, 10, 20, 30)], crs=CRS
    )  # its centroid's cell
    outer = gpd.GeoDataFrame({"code": ["body"]}, geometry=[box(-1, -1, 31, 31).difference(inner.geometry[0])], crs=CRS)  # fmt: skip
    parents = gpd.GeoDataFrame(geometry=[inner.geometry[0], outer.geometry[0]], data={"code": ["gap", "body"]}, crs=CRS)  # fmt: skip
    children = gpd.GeoDataFrame({"code": ["U"]}, geometry=[u], crs=CRS)
    assert u.centroid.within(inner.geometry[0])
    assert assign_by_point(children, parents).tolist() == ["body"]

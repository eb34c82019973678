"""Plan figures, the fixes of the problems validation finds, and the diff on hand-made geometry
(metres); each rule on its own in test_plan_checks.py.

Two communities side by side, 100 m × 100 m each; in the west one two compounds and a building
outside any compound; a station in the east one.
"""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Point, box

from gridmap.core.plan_checks import validate
from gridmap.core.plans import Band, cell_figures, clip_to_community, diff, fill_gap, snap_compound

CRS = "EPSG:4547"
COMMUNITIES = gpd.GeoDataFrame({"code": ["C1", "C2"]}, geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=CRS)  # fmt: skip
COMPOUNDS = gpd.GeoDataFrame({"code": ["K1", "K2"]}, geometry=[box(10, 10, 40, 40), box(50, 10, 90, 40)], crs=CRS)  # fmt: skip
BUILDINGS = gpd.GeoDataFrame(
    {"code": ["K1-1", "K2-1", "B-3"], "compound_code": ["K1", "K2", None], "households": [100, 200, 50]},
    geometry=[box(15, 15, 25, 25), box(60, 15, 70, 25), box(50, 60, 55, 65)], crs=CRS,
)  # fmt: skip
MEMBERS = gpd.GeoDataFrame(
    {"code": ["M1", "M2", "M3", "M4"], "category": ["full", "full", "probationary", "full"]},
    geometry=[Point(20, 20), Point(21, 21), Point(65, 20), Point(52, 62)], crs=CRS,
)  # fmt: skip
STATIONS = gpd.GeoDataFrame({"code": ["S1"]}, geometry=[Point(150, 50)], crs=CRS)


def cells(*boxes, codes=None) -> gpd.GeoDataFrame:
    codes = codes or [f"G{i + 1}" for i in range(len(boxes))]
    return gpd.GeoDataFrame({"code": codes}, geometry=list(boxes), crs=CRS)


def kinds(problems) -> list[tuple[str, str]]:
    return list(zip(problems["kind"], problems["code"], strict=True))


GOOD = cells(box(0, 0, 45, 100), box(45, 0, 100, 100))


def test_figures_of_each_cell():
    f = cell_figures(GOOD, BUILDINGS, COMPOUNDS, MEMBERS, STATIONS, band=Band(120, 300), station_radius_m=60)  # fmt: skip
    g1, g2 = f.iloc[0], f.iloc[1]
    assert (g1["households"], g1["buildings"], g1["compounds"]) == (100, 1, "K1")
    assert (g2["households"], g2["buildings"], g2["compounds"]) == (250, 2, "K2")
    assert (g1["members_full"], g1["members_probationary"]) == (2, 0)
    assert (g2["members_full"], g2["members_probationary"], g2["members"]) == (1, 1, 2)
    assert (g1["band"], g2["band"]) == ("below", "ok")
    # the station at x=150 is 50 m from G2's east edge, 105 m from G1's
    assert (g1["stations_in_reach"], g2["stations_in_reach"]) == ("", "S1")
    assert g1["compounds_cut"] == g2["compounds_cut"] == ""


def test_figures_name_the_cut_compound_and_its_share():
    f = cell_figures(cells(box(0, 0, 20, 100), box(20, 0, 100, 100)), BUILDINGS, COMPOUNDS, MEMBERS, STATIONS)  # fmt: skip
    assert f.iloc[0]["compounds_cut"] == "K1 33%"
    assert f.iloc[1]["compounds_cut"] == "K1 67%" and f.iloc[1]["compounds"] == "K2"


def test_cell_across_a_community_boundary_and_the_ground_it_leaves():
    plan = cells(box(0, 0, 45, 100), box(45, 0, 120, 100))
    problems = validate(plan, COMMUNITIES, COMPOUNDS)
    assert kinds(problems) == [("plan_crosses_community", "G2"), ("plan_uncovered", "C2")]
    crossing, gap = problems.iloc[0], problems.iloc[1]
    assert crossing["measure"] == pytest.approx(2000) and crossing["codes"] == "G2;C2"
    assert crossing["fix"] == "clip_to_community"
    assert gap["measure"] == pytest.approx(8000)
    fixed = clip_to_community(plan.geometry.iloc[1], COMMUNITIES)
    assert fixed.equals(box(45, 0, 100, 100))


def test_gap_found_measured_and_filled():
    plan = cells(box(0, 0, 40, 100), box(45, 0, 100, 100))
    problems = validate(plan, COMMUNITIES, COMPOUNDS)
    assert kinds(problems) == [("plan_uncovered", "C1")]
    assert problems.iloc[0]["measure"] == pytest.approx(500)
    changed = fill_gap(plan, problems.iloc[0]["geometry"])
    assert len(changed) == 1
    fixed = plan.copy()
    fixed.loc[changed.index, "geometry"] = changed.geometry
    assert validate(fixed, COMMUNITIES, COMPOUNDS).empty


def test_snapping_gives_the_cut_compound_to_its_largest_share():
    plan = cells(box(0, 0, 20, 100), box(20, 0, 100, 100))
    problems = validate(plan, COMMUNITIES, COMPOUNDS)
    assert kinds(problems) == [("plan_cuts_compound", "K1")]
    cut = problems.iloc[0]
    assert cut["codes"] == "K1;G2;G1" and cut["measure"] == pytest.approx(1 / 3)
    changed = snap_compound(plan, COMPOUNDS.geometry.iloc[0])
    assert list(changed["code"]) == ["G1", "G2"]
    fixed = plan.copy()
    fixed.loc[changed.index, "geometry"] = changed.geometry
    assert validate(fixed, COMMUNITIES, COMPOUNDS).empty
    assert shapely.contains(fixed.geometry.iloc[1], COMPOUNDS.geometry.iloc[0])
    # nothing lost: the two cells still tile the community
    assert shapely.union_all(fixed.geometry.values).area == pytest.approx(10_000)


def test_a_compound_across_a_community_border_is_cut_only_within_one_community():
    # K3 spans x 80–130: 20 m in C1, 30 m in C2; a cell on each side holds its part there
    k3 = gpd.GeoDataFrame({"code": ["K3"]}, geometry=[box(80, 50, 130, 90)], crs=CRS)
    plan = cells(box(0, 0, 100, 100), box(100, 0, 200, 100))
    assert validate(plan, COMMUNITIES, k3).empty  # the border, not the plan, divides it
    # C2's part split between two cells of C2 is a cut; the fix keeps C1's part where it is
    plan = cells(box(0, 0, 100, 100), box(100, 0, 120, 100), box(120, 0, 200, 100))
    problems = validate(plan, COMMUNITIES, k3)
    assert kinds(problems) == [("plan_cuts_compound", "K3")]
    assert problems.iloc[0]["codes"] == "K3;G2;G3"
    assert problems.geometry.iloc[0].area == pytest.approx(10 * 40)  # C2's part outside G2
    changed = snap_compound(plan, k3.geometry.iloc[0], COMMUNITIES)
    fixed = plan.copy()
    fixed.loc[changed.index, "geometry"] = changed.geometry
    assert validate(fixed, COMMUNITIES, k3).empty
    assert fixed.geometry.iloc[0].equals(box(0, 0, 100, 100))  # G1 (C1) keeps its part


def test_diff_lists_changed_cells_and_what_moves():
    plan = cells(box(0, 0, 58, 100), box(58, 0, 100, 100), box(100, 0, 200, 100), codes=["G1", "G2", "G3"])  # fmt: skip
    changes, moves = diff(plan, GOOD, BUILDINGS, MEMBERS)
    assert changes.set_index("code")["change"].to_dict() == {"G1": "reshaped", "G2": "reshaped", "G3": "added"}  # fmt: skip
    assert changes.set_index("code").loc["G1", "changed_m2"] == pytest.approx(1300)
    # building B-3 (x 50–55, 50 households) and member M4 move from G2 to G1; K2's building does not
    assert moves.to_dict("records") == [
        {"from_code": "G2", "to_code": "G1", "buildings": 1, "households": 50, "members": 1, "building_codes": "B-3"},
    ]  # fmt: skip
    _, back = diff(GOOD, plan, BUILDINGS, MEMBERS)
    assert back.to_dict("records")[0]["from_code"] == "G1"
    removed, _ = diff(cells(box(0, 0, 100, 100), codes=["G1"]), GOOD, BUILDINGS, MEMBERS)
    assert removed.set_index("code")["change"].to_dict() == {"G1": "reshaped", "G2": "removed"}

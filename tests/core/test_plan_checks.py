"""The rules a drawn plan must keep, each check on its own and all of them through validate, on
hand-made geometry (metres).

Two communities side by side, 100 m × 100 m each; in the west one two compounds.
"""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from gridmap.core import plans
from gridmap.core.plan_checks import (
    PROBLEM_COLUMNS,
    PlanLayout,
    community_crossings,
    cut_compounds,
    overlaps,
    uncovered,
    validate,
)

CRS = "EPSG:4547"
COMMUNITIES = gpd.GeoDataFrame({"code": ["C1", "C2"]}, geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=CRS)  # fmt: skip
COMPOUNDS = gpd.GeoDataFrame({"code": ["K1", "K2"]}, geometry=[box(10, 10, 40, 40), box(50, 10, 90, 40)], crs=CRS)  # fmt: skip


def cells(*boxes) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": [f"G{i + 1}" for i in range(len(boxes))]}, geometry=list(boxes), crs=CRS)  # fmt: skip


def kinds(problems) -> list[tuple[str, str]]:
    return list(zip(problems["kind"], problems["code"], strict=True))


GOOD = cells(box(0, 0, 45, 100), box(45, 0, 100, 100))
# G1 and G2 overlap over x 30–45 and both hold part of K1; G2 reaches 20 m into C2, whose
# other 80 m no cell covers
BROKEN = cells(box(0, 0, 45, 100), box(30, 0, 120, 100))


def test_a_good_plan_has_no_problems():
    problems = validate(GOOD, COMMUNITIES, COMPOUNDS)
    assert problems.empty and list(problems.columns) == PROBLEM_COLUMNS


def test_overlap_and_the_compound_it_cuts():
    plan = cells(box(0, 0, 45, 100), box(30, 0, 100, 100))
    problems = validate(plan, COMMUNITIES, COMPOUNDS)
    assert kinds(problems) == [("plan_cuts_compound", "K1"), ("plan_overlap", "G1")]
    overlap = problems[problems["kind"] == "plan_overlap"].iloc[0]
    assert overlap["measure"] == pytest.approx(1500) and overlap["codes"] == "G1;G2"
    assert overlap["geometry"].equals(box(30, 0, 45, 100))


def test_each_check_finds_its_own_rule_only():
    plan = PlanLayout.of(BROKEN, COMMUNITIES)
    assert [(r["kind"], r["codes"]) for r in overlaps(plan, 1.0)] == [("plan_overlap", "G1;G2")]
    crossing = community_crossings(plan, 1.0)
    assert [(r["kind"], r["codes"], r["fix"]) for r in crossing] == [("plan_crosses_community", "G2;C2", "clip_to_community")]  # fmt: skip
    assert crossing[0]["measure"] == pytest.approx(2000)
    assert crossing[0]["geometry"].equals(box(100, 0, 120, 100))
    cut = cut_compounds(plan, COMPOUNDS, 1.0)
    # K1 (x 10–40): 30 m in G1, 10 m in G2, and both hold the overlap x 30–40
    assert [(r["code"], r["codes"], r["fix"]) for r in cut] == [("K1", "K1;G1;G2", "snap_compound")]  # fmt: skip
    assert cut[0]["measure"] == pytest.approx(300 / 1200)
    gap = uncovered(plan, 1.0)
    assert [(r["code"], r["fix"]) for r in gap] == [("C2", "fill_gap")]
    assert gap[0]["measure"] == pytest.approx(8000)
    assert gap[0]["geometry"].equals(box(120, 0, 200, 100))


def test_validate_is_every_check_sorted_by_kind_and_code():
    problems = validate(BROKEN, COMMUNITIES, COMPOUNDS)
    assert kinds(problems) == [
        ("plan_crosses_community", "G2"),
        ("plan_cuts_compound", "K1"),
        ("plan_overlap", "G1"),
        ("plan_uncovered", "C2"),
    ]
    assert problems.crs == BROKEN.crs


def test_each_cell_belongs_to_the_community_holding_most_of_it():
    plan = PlanLayout.of(cells(box(0, 0, 45, 100), box(80, 0, 200, 100), box(300, 0, 310, 10)), COMMUNITIES)  # fmt: skip
    assert plan.community_of_cells().tolist()[:2] == [0, 1]
    assert plan.community_of_cells().isna().tolist() == [False, False, True]  # in no community


def test_tiny_nicks_below_the_tolerance_are_not_problems():
    plan = cells(box(0, 0, 45, 100), box(44.999, 0, 100, 100))  # 0.1 m² overlap
    assert validate(plan, COMMUNITIES, COMPOUNDS, tolerance_m2=1).empty
    assert kinds(validate(plan, COMMUNITIES, COMPOUNDS, tolerance_m2=0.01)) == [("plan_overlap", "G1")]  # fmt: skip


def test_the_editor_finds_the_checks_where_it_always_did():
    assert plans.validate is validate and plans.PROBLEM_COLUMNS is PROBLEM_COLUMNS


def test_a_cell_in_no_community_is_a_problem_without_a_fix():
    """A cell drawn where no community is (beyond the subdistrict's communities) belongs to
    none: it is reported whole, with no clip to offer, and a cell inside keeps its own answer."""
    far = cells(box(0, 0, 100, 100), box(300, 0, 340, 50))
    rows = community_crossings(PlanLayout.of(far, COMMUNITIES), 1.0)
    assert [(r["code"], r["fix"]) for r in rows] == [("G2", None)]
    assert rows[0]["measure"] == pytest.approx(2000.0) and rows[0]["geometry"].equals(
        box(300, 0, 340, 50)
    )
    assert "不在任何社区内" in rows[0]["message_zh"] and "no community" in rows[0]["message_en"]
    assert ("plan_crosses_community", "G2") in kinds(validate(far, COMMUNITIES, COMPOUNDS))

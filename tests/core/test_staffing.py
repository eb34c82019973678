"""Who serves each place: vacancies and reminders from hand-made rosters, in milliseconds."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import pandas as pd
from shapely import box

from gridmap.config import Settings
from gridmap.core.staffing import People, Places, check_staffing

CRS = "EPSG:32648"
TODAY = date(2026, 12, 1)


def places(**overrides) -> Places:
    def frame(codes, **columns):
        shapes = [box(i * 100, 0, i * 100 + 90, 90) for i in range(len(codes))]
        return gpd.GeoDataFrame({"code": codes, "name": codes, **columns}, geometry=shapes, crs=CRS)

    base = dict(
        grids=frame(["G1", "G2", "G3"]),
        grid_layer="grid:party",
        grid_households={"G1": 400, "G2": 1200, "G3": 0},
        orgs=pd.DataFrame({"code": ["ZB1", "ZB2", "DW"], "name": ["一支部", "二支部", "党委"],
                           "kind": ["branch", "joint_branch", "committee"],
                           "covers": ["XQ1", "XQ2", None], "groups": [2, None, None]}),
        compounds=frame(["XQ1", "XQ2"]),
        buildings=frame(["B1", "B2"], households=[80, 20]),
        communities=frame(["SQ1"]),
        community_households={"SQ1": 2000},
    )  # fmt: skip
    return Places(**{**base, **overrides})


def staff(*rows: tuple) -> pd.DataFrame:
    columns = ["code", "role", "places", "party_member", "category", "joined_party", "took_post"]
    return pd.DataFrame([dict(zip(columns, r, strict=False)) for r in rows], columns=columns)


ROSTER = staff(
    ("R1", "grid_worker_full", "G1"),
    ("R2", "grid_worker_part", "G2"),
    ("R3", "secretary", "ZB1", True, "full", "2001-07-01", "2018-01-01"),
    ("R4", "secretary", "ZB2", True, "probationary", "2026-03-01", "2024-01-01"),
    ("R5", "group_leader", "ZB1", True, "full"),
    ("R6", "building_head", "B2"),
    ("R7", "community_worker", "SQ1"),
)


def found(people: People, settings: Settings | None = None, **overrides) -> list[tuple]:
    gaps = check_staffing(people, places(**overrides), settings or Settings(), TODAY)
    assert gaps.crs == "EPSG:4326"
    return sorted(zip(gaps["kind"], gaps["code"], gaps["measure"], strict=True))


def test_each_vacancy_is_found_at_its_place_with_its_measure():
    kinds = found(People(ROSTER))
    assert kinds == [
        ("branch_without_group_leader", "ZB1", 1.0),
        ("building_without_head", "B1", 80.0),
        ("community_workers_short", "SQ1", 9.0),
        ("secretary_not_qualified", "ZB2", 1.0),
        ("term_expired", "ZB1", 8.9),
        ("worker_overloaded", "G2", 1200.0),
    ]


def test_an_empty_roster_leaves_every_place_vacant_but_empty_grids():
    kinds = {(k, c) for k, c, _ in found(People(staff()))}
    assert ("grid_without_worker", "G1") in kinds and ("grid_without_worker", "G2") in kinds
    assert ("grid_without_worker", "G3") not in kinds  # no households, no vacancy
    assert {("branch_without_secretary", "ZB1"), ("branch_without_secretary", "ZB2")} <= kinds
    assert ("branch_without_secretary", "DW") not in kinds  # a committee is not a branch


def test_settings_move_the_thresholds():
    settings = Settings(worker_max_households=1500, building_head_min_households=100,
                        community_workers_per_10k=1, term_years=10, secretary_min_party_years=0)  # fmt: skip
    kinds = {k for k, _, _ in found(People(ROSTER), settings)}
    assert kinds == {"branch_without_group_leader", "secretary_not_qualified"}  # probationary


def test_a_young_full_member_is_not_yet_a_qualified_secretary():
    roster = staff(("R1", "secretary", "ZB1", True, "full", "2026-03-01"))
    gaps = check_staffing(People(roster), places(), Settings(), TODAY)
    row = gaps[gaps["kind"] == "secretary_not_qualified"].iloc[0]
    assert row["code"] == "ZB1" and "党龄不足 1 年" in row["message_zh"]
    assert "R1" in row["codes"] and "R1" not in row["message_zh"]


def test_population_when_given_counts_instead_of_households():
    communities = places().communities.assign(population=[500])
    assert "community_workers_short" not in {
        k for k, _, _ in found(People(ROSTER), communities=communities)
    }


def test_property_and_committee_findings():
    firms = pd.DataFrame({"code": ["WY1", "WY2", "WY3"], "name": ["甲物业", "乙物业", "丙物业"],
                          "compounds": ["XQ1;XQ2", "XQ2", "XQ1"],
                          "has_instructor": pd.array([None, True, False], dtype="boolean")})  # fmt: skip
    roster = pd.concat([ROSTER, staff(("R9", "instructor", "WY3"))], ignore_index=True)
    committees = pd.DataFrame({"code": ["YW1", "YW2"], "name": ["一业委会", "二业委会"],
                               "compound_code": ["XQ1", "XQ2"], "members": [5, 7],
                               "party_members": [0, 2], "cross_serving": [1, 0]})  # fmt: skip
    gaps = check_staffing(People(roster, firms, committees), places(), Settings(), TODAY)
    mine = gaps[gaps["layer"].isin(["property", "owners_committee"])]
    assert sorted(zip(mine["kind"], mine["code"], mine["measure"], strict=True)) == [
        ("committee_without_cross_serving", "YW2", 7.0),
        ("committee_without_party_member", "YW1", 5.0),
        ("property_without_instructor", "WY1", 2.0),
    ]
    assert mine.geometry.notna().all()

"""Inside a branch: Party groups per building cluster, splits of large compounds, member households."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely import Point, box

from gridmap.config import Settings
from gridmap.core.groups import member_households, party_groups, split_branches

S = Settings()


def buildings(xs, households=30) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": [f"B{i}" for i in range(len(xs))], "households": households},
                            geometry=[box(x, 0, x + 20, 10) for x in xs], crs=4544)  # fmt: skip


def test_a_large_branch_gets_one_party_group_per_building_cluster():
    b = buildings([0, 30, 200, 230])  # two clusters, 180 m apart
    total = pd.Series({"B0": 3, "B1": 2, "B2": 4, "B3": 1})
    rows = party_groups("X1", "C1", b, total, total, S)
    assert [(r["buildings"], r["full_members"]) for r in rows] == [("B0;B1", 5), ("B2;B3", 5)]
    assert all(r["explanation_zh"].startswith("建议") for r in rows)


def test_a_small_branch_or_one_cluster_needs_no_party_groups():
    b = buildings([0, 30, 60])
    assert (
        party_groups(
            "X1",
            "C1",
            b,
            pd.Series({"B0": 3, "B1": 3, "B2": 3}),
            pd.Series({"B0": 3, "B1": 3, "B2": 3}),
            S,
        )
        == []
    )
    far = buildings([0, 300])
    assert (
        party_groups(
            "X1", "C1", far, pd.Series({"B0": 2, "B1": 2}), pd.Series({"B0": 2, "B1": 2}), S
        )
        == []
    )


def test_sixty_members_split_into_two_contiguous_branches_of_at_most_fifty():
    b = buildings([0, 30, 60, 90, 120, 150])
    total = pd.Series({f"B{i}": 10 for i in range(6)})
    rows = split_branches("X1", "C1", b, total, total, S)
    assert [r["buildings"] for r in rows] == ["B0;B1;B2", "B3;B4;B5"]
    assert all(r["full_members"] <= S.branch_max_members for r in rows)


def test_member_household_only_where_no_member_lives_within_fifty_metres():
    b = buildings([0, 40, 300])  # the member lives in B0; B1's wall is 35 m from them, B2's 295 m
    homes = gpd.GeoDataFrame({"code": ["m"]}, geometry=[Point(5, 5)], crs=4544)
    rows = member_households(b, homes, {"B0": "X1", "B1": "X1", "B2": "X2"})
    assert [(r["buildings"], r["compounds"]) for r in rows] == [("B2", "X2")]

"""Inside a branch: Party groups per building cluster, splits of large compounds, member households."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely import Point, box

from gridmap.config import Settings
from gridmap.core.groups import (
    member_households,
    party_groups,
    party_groups_of,
    split_branches,
    split_branches_of,
)

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


def _split_one_by_one(codes, xs, members, limit):
    """The splitting rule written out building by building (what split_branches_of must equal)."""
    total = sum(members)
    parts = -(-total // limit)
    if parts < 2:
        return []
    order = sorted(range(len(codes)), key=lambda i: xs[i])
    target = total / parts
    rows, chosen, acc = [], [], 0
    for position, i in enumerate(order):
        chosen.append(codes[i])
        acc += members[i]
        if (acc >= target and len(rows) < parts - 1) or position == len(order) - 1:
            rows.append(";".join(chosen))
            chosen, acc = [], 0
    return rows


def test_all_compounds_at_once_split_as_each_compound_alone():
    rng = np.random.default_rng(7)
    frames, counts, expected = [], {}, []
    for k in range(60):
        n = int(rng.integers(1, 12))
        xs = (rng.permutation(n) * 30.0).tolist()
        members = rng.choice([0, 0, 5, 20, 40, 70], n).tolist()
        codes = [f"X{k}-B{i}" for i in range(n)]
        frames.append(buildings(xs).assign(code=codes, compound=f"X{k}"))
        counts.update(zip(codes, members, strict=True))
        expected += _split_one_by_one(codes, xs, members, S.branch_max_members)
    layer = pd.concat(frames, ignore_index=True)
    layer = layer.iloc[rng.permutation(len(layer))]  # compounds interleaved in the layer
    branches = pd.DataFrame({"compound": [f"X{k}" for k in range(60)], "community_code": "C1"})
    total = pd.Series(counts)
    rows = split_branches_of(branches, layer, total, total, S)
    assert rows["buildings"].tolist() == expected
    assert len(expected) > 40


def test_clusters_do_not_reach_across_compounds_and_match_one_compound_at_a_time():
    xs = [0, 30, 200, 230, 400, 10_000, 10_030, 10_200]
    layer = buildings(xs).assign(compound=["X1", "X2", "X1", "X2", "X1", "X3", "X3", "X3"])
    total = pd.Series({f"B{i}": 4 for i in range(len(xs))})
    branches = pd.DataFrame({"compound": ["X3", "X1", "X2"], "community_code": "C1"})
    together = party_groups_of(branches, layer, total, total, S)
    alone = [
        r
        for code in branches["compound"]
        for r in party_groups(code, "C1", layer[layer["compound"] == code], total, total, S)
    ]
    assert together["proposal_id"].tolist() == [r["proposal_id"] for r in alone]
    assert together["buildings"].tolist() == ["B5;B6", "B7", "B0", "B2", "B4", "B1", "B3"]

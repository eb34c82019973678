"""The Party organisation rules at their boundaries (3 / 7 / 50 / 5 units), full members only."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely import box

from gridmap.config import Settings
from gridmap.core.branches import check_organisations, own_branch_kind, propose_branches

S = Settings()


def counts(**compounds) -> pd.DataFrame:
    rows = {code: {"full": f, "probationary": p} for code, (f, p) in compounds.items()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table["total"] = table["full"] + table["probationary"]
    return table


def row_of(n: int, spacing: float = 100.0, community: str = "C1") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": [f"X{i}" for i in range(n)], "community_code": community},
        geometry=[box(i * spacing, 0, i * spacing + 50, 50) for i in range(n)], crs=4544,
    )  # fmt: skip


def test_two_full_and_one_probationary_member_make_no_branch():
    assert own_branch_kind(2, 3, S) is None


@pytest.mark.parametrize(
    "full,total,kind",
    [
        (3, 3, "secretary"),
        (6, 9, "secretary"),
        (7, 7, "committee"),
        (50, 50, "committee"),
        (40, 51, "general_branch"),
    ],
)
def test_branch_kind_at_each_boundary(full, total, kind):
    assert own_branch_kind(full, total, S) == kind


def test_thresholds_are_settings():
    assert own_branch_kind(3, 3, Settings(branch_min_full_members=4)) is None


def test_six_small_compounds_in_a_row_need_at_least_two_joint_branches():
    compounds = row_of(6)
    table = counts(**{f"X{i}": (1, 0) for i in range(6)})
    proposals = propose_branches(compounds, table, {f"X{i}": 50 for i in range(6)}, S)
    joint = proposals[proposals["kind"] == "joint_branch"]
    assert len(joint) == 2
    for units in joint["compounds"]:
        assert 3 <= len(units.split(";")) <= S.joint_branch_max_units
    assert set(";".join(joint["compounds"]).split(";")) == {f"X{i}" for i in range(6)}
    assert all("建议" in text for text in joint["explanation_zh"])


def test_a_small_compound_far_from_all_others_is_not_joinable():
    compounds = pd.concat([row_of(3), gpd.GeoDataFrame({"code": ["FAR"], "community_code": "C1"},
                                                        geometry=[box(5000, 0, 5050, 50)], crs=4544)])  # fmt: skip
    table = counts(X0=(1, 0), X1=(1, 0), X2=(1, 0), FAR=(1, 0))
    proposals = propose_branches(
        compounds.reset_index(drop=True), table, dict.fromkeys(table.index, 30), S
    )
    assert proposals.set_index("proposal_id").loc["N-FAR", "kind"] == "not_joinable"
    assert proposals[proposals["kind"] == "joint_branch"]["compounds"].tolist() == ["X0;X1;X2"]


def test_compounds_of_different_communities_are_never_joined():
    compounds = pd.concat(
        [row_of(2, community="C1"), row_of(2, community="C2").assign(code=["Y0", "Y1"])]
    )
    table = counts(X0=(1, 0), X1=(1, 0), Y0=(2, 0), Y1=(1, 0))
    proposals = propose_branches(
        compounds.reset_index(drop=True), table, dict.fromkeys(table.index, 30), S
    )
    joint = proposals[proposals["kind"] == "joint_branch"]
    assert joint["compounds"].tolist() == ["Y0;Y1"]


def test_existing_organisations_checked_against_the_rules():
    compounds = row_of(8)
    table = counts(
        X0=(2, 1), X1=(45, 6), X2=(8, 0), X3=(1, 0), X4=(1, 0), X5=(1, 0), X6=(1, 0), X7=(1, 0)
    )
    orgs = pd.DataFrame([
        {"code": "A", "name": "A支部", "kind": "branch", "has_committee": False, "covers": "X0"},
        {"code": "B", "name": "B支部", "kind": "branch", "has_committee": True, "covers": "X1"},
        {"code": "C", "name": "C支部", "kind": "branch", "has_committee": False, "covers": "X2"},
        {"code": "J", "name": "J联合支部", "kind": "joint_branch", "has_committee": False, "covers": "X3;X4;X5;X6;X7;X0"},
    ])  # fmt: skip
    households = {f"X{i}": 40 for i in range(8)} | {"X9": 10}
    found = check_organisations(orgs, compounds, table, households, S)
    assert sorted(found[["kind", "code"]].itertuples(index=False, name=None)) == [
        ("branch_needs_committee", "C"), ("branch_needs_committee", "J"),  # J: 5 + 2 = 7 full
        ("branch_too_large", "B"), ("branch_too_small", "A"), ("joint_branch_too_many_units", "J"),
    ]  # fmt: skip
    uncovered = check_organisations(orgs[orgs["code"] != "C"], compounds, table, households, S)
    assert uncovered[uncovered["kind"] == "compound_without_org"]["code"].tolist() == ["X2"]


@pytest.mark.parametrize(
    "full,message",
    [
        (1, "A支部 covers only 1 full member (fewer than 3)"),
        (2, "A支部 covers only 2 full members (fewer than 3)"),
        (0, "A支部 covers only 0 full members (fewer than 3)"),
    ],
)
def test_a_small_branch_counts_its_full_members_in_good_english(full, message):
    orgs = pd.DataFrame(
        [{"code": "A", "name": "A支部", "kind": "branch", "has_committee": False, "covers": "X0"}]
    )
    found = check_organisations(orgs, row_of(1), counts(X0=(full, 0)), {"X0": 40}, S)
    small = found[found["kind"] == "branch_too_small"]
    assert small["message_en"].tolist() == [message]
    assert small["message_zh"].tolist() == [f"A支部 覆盖的小区只住有 {full} 名正式党员 (少于 3 名)"]

"""Staffing rates (两个覆盖's people side) on hand-made tables: grids staffed, branches with a
qualified secretary, property companies covered, compounds with 红色物业, per community and for the subdistrict."""

from __future__ import annotations

from datetime import date

import pandas as pd

from gridmap.config import Settings
from gridmap.core.coverage import staffing_by_unit, staffing_rates
from gridmap.core.staffing import People

TODAY = date(2026, 12, 1)
COMPOUNDS = pd.DataFrame({
    "code": ["K1", "K2", "K3"], "community_code": ["S1", "S1", "S2"],
    "grid_code__unified": ["U1", "U1", "U2"], "households": [40, 30, 50],
    "covered": [True, False, True], "own_branch": [True, False, False], "members": [3, 0, 1],
})  # fmt: skip
BUILDINGS = pd.DataFrame({
    "households": [40, 30, 50, 0], "community_code": ["S1", "S1", "S2", "S2"],
    "grid_code__party": ["G1", "G2", "G3", "G4"],  # G4 has no households: not counted
})  # fmt: skip
STAFF = pd.DataFrame({
    "code": ["R1", "R2", "R3", "R4", "R5"],
    "role": ["grid_worker_full", "grid_leader", "secretary", "secretary", "instructor"],
    "places": ["G1", "G3", "O1", "O2", "P1"],
    "party_member": [False, False, True, True, True],
    "category": [None, None, "full", "probationary", "full"],
    "joined_party": [None, None, "2010-07-01", "2026-06-01", "2001-07-01"],
})  # fmt: skip
ORGS = pd.DataFrame({
    "code": ["O1", "O2", "O3", "O4"], "kind": ["branch", "branch", "joint_branch", "committee"],
    "covers": ["K1", "K2", "K3", "K1;K2;K3"],
})  # fmt: skip
FIRMS = pd.DataFrame({
    "code": ["P1", "P2", "P3"], "compounds": ["K1", "K2;K3", "K3"],
    "party_org": ["none", "none", "joint"], "has_instructor": [None, None, None],
})  # fmt: skip


def _rates(people: People) -> dict:
    frame = staffing_rates(people, ORGS, COMPOUNDS, BUILDINGS, "party", Settings(), TODAY)
    return frame.set_index("code").drop(columns="level").to_dict("index")


def test_each_rate_counts_what_serves_the_place_per_community_and_once_for_the_subdistrict():
    rates = _rates(People(STAFF, FIRMS))
    # G1 (S1) and G3 (S2) staffed, G2 (S1) not; O1 qualified, O2 probationary (S1), O3 none (S2);
    # P1 has an instructor, P2 nothing (serves S1 and S2), P3 a joint organisation (S2);
    # compounds with 红色物业: K3 only (P3), not K1 (P1: an instructor is no organisation) nor K2
    assert rates[""] == {"grid_staffed_rate": 0.6667, "qualified_secretary_rate": 0.3333,
                         "property_covered_rate": 0.6667, "red_property_rate": 0.3333}  # fmt: skip
    assert rates["S1"] == {"grid_staffed_rate": 0.5, "qualified_secretary_rate": 0.5,
                           "property_covered_rate": 0.5, "red_property_rate": 0.0}  # fmt: skip
    assert rates["S2"] == {"grid_staffed_rate": 1.0, "qualified_secretary_rate": 0.0,
                           "property_covered_rate": 0.5, "red_property_rate": 1.0}  # fmt: skip


def test_a_layer_not_loaded_leaves_its_rates_null():
    staffing = staffing_rates(People(), ORGS, COMPOUNDS, BUILDINGS, "party", Settings(), TODAY)
    empty = dict.fromkeys(
        (
            "grid_staffed_rate",
            "qualified_secretary_rate",
            "property_covered_rate",
            "red_property_rate",
        )
    )
    assert staffing_by_unit(staffing) == {"": empty, "S1": empty, "S2": empty}
    with_firms = staffing_rates(People(None, FIRMS), ORGS, COMPOUNDS, BUILDINGS, "party", Settings(), TODAY)  # fmt: skip
    assert staffing_by_unit(with_firms)["S2"] == {
        **empty,
        "property_covered_rate": 0.5,
        "red_property_rate": 1.0,
    }


CELLS = BUILDINGS.assign(grid_code__unified=["U1", "U2", "U2", "U2"])


def _figures(people: People) -> dict:
    from gridmap.core.staffing_rates import staffing_figures

    rows = pd.DataFrame({"level": ["subdistrict", "community", "community", "grid", "grid", "compound"],
                         "code": ["", "S1", "S2", "U1", "U2", "K1"]})  # fmt: skip
    out = staffing_figures(rows, people, ORGS, COMPOUNDS, CELLS, "party", Settings())
    return out.set_index("code").drop(columns="level").to_dict("index")


def test_a_cell_counts_its_base_grids_branches_of_its_compounds_and_its_compounds_served():
    figures = _figures(People(STAFF, FIRMS))
    # U1 holds G1 (staffed); U2 holds G2 (not) and G3 (staffed). K1 and K2 lie in U1: O1 covers
    # K1 (qualified), O2 K2 (probationary); K3 in U2: O3 (none). P1 and P2 have no Party
    # organisation (P1's instructor counts for the companies, not for red property), P3 joint:
    # K1 (P1) and K2 (P2) are not red property, K3 (P2 and P3) is
    assert figures["U1"] == {"grid_staffed_rate": 1.0, "qualified_secretary_rate": 0.5, "red_property_rate": 0.0}  # fmt: skip
    assert figures["U2"] == {"grid_staffed_rate": 0.5, "qualified_secretary_rate": 0.0, "red_property_rate": 1.0}  # fmt: skip
    assert figures["S1"]["red_property_rate"] == 0.0 and figures["S2"]["red_property_rate"] == 1.0
    assert figures[""] == {"grid_staffed_rate": 0.6667, "qualified_secretary_rate": 0.3333, "red_property_rate": 0.3333}  # fmt: skip
    assert all(pd.isna(v) for v in figures["K1"].values())  # compounds: no staffing rates


def test_the_whole_area_from_partitions_flags_counts_each_unit_once():
    from gridmap.core.staffing_rates import owned_flags, staffing_flags, whole_area_staffing

    flags = staffing_flags(People(STAFF, FIRMS), ORGS, COMPOUNDS, CELLS, "party", Settings(), TODAY)
    # two partitions (S1, S2): P2 serves both and is reported by each, counted once
    parts = owned_flags(flags, ["S1"]) + owned_flags(flags, ["S2"])
    whole = whole_area_staffing(parts)
    assert {k: whole[k] for k in _rates(People(STAFF, FIRMS))[""]} == _rates(People(STAFF, FIRMS))[""]  # fmt: skip
    assert whole["red_property_rate"] == 0.3333

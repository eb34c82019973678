"""The whole analysis (core/analysis.analyze) on a small hand-made community, not the demo: one
pentagonal community, an L-shaped and an irregular grid cell, two compounds (a trapezoid and a
quadrilateral), four buildings (one L-shaped, one outside any compound), six members (one far
from every building, one in service and not reported) and one station.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon, box

from gridmap.config import Settings
from gridmap.core.analysis import analyze
from gridmap.core.integrate import Layers

METRIC = "EPSG:4544"  # CGCS2000 3° zone, central meridian 105° E
X0, Y0 = 500_000, 3_390_000  # about 105° E, 30.6° N


def shape(geom):
    from shapely import affinity

    return affinity.translate(geom, X0, Y0)


def frame(data, geoms):
    return gpd.GeoDataFrame(data, geometry=[shape(g) for g in geoms], crs=METRIC).to_crs(4326)


COMMUNITY = Polygon([(0, 0), (300, 0), (300, 160), (240, 220), (0, 220)])
G1 = Polygon([(0, 0), (140, 0), (140, 100), (100, 100), (100, 220), (0, 220)])
G2 = COMMUNITY.difference(G1)
K1 = Polygon([(10, 10), (130, 10), (120, 90), (20, 90)])
K2 = Polygon([(170, 20), (290, 20), (290, 150), (170, 100)])


def layers(members=True):
    communities = frame({"code": ["C1"], "name": ["甲社区"], "subdistrict_code": ["S1"], "population": [None]}, [COMMUNITY])  # fmt: skip
    compounds = frame({"code": ["K1", "K2"], "name": ["梧桐苑", "银杏里"], "community_code": ["C1", "C1"],
                       "property_company": [None, "某物业"], "property_has_org": [None, False], "aliases": [None, None]},
                      [K1, K2])  # fmt: skip
    buildings = frame({"code": ["B1", "B2", "B3", "B4"], "name": [None] * 4, "compound_code": ["K1", "K1", "K2", None],
                       "households": [40, 35, 60, 10], "floors": [6] * 4},
                      [box(20, 20, 50, 50), Polygon([(70, 20), (110, 20), (110, 60), (90, 60), (90, 40), (70, 40)]),
                       box(200, 40, 260, 80), box(20, 150, 50, 180)])  # fmt: skip
    grids = {"party": frame({"code": ["G1", "G2"], "name": ["一网格", "二网格"], "community_code": ["C1", "C1"]}, [G1, G2])}  # fmt: skip
    people = None
    if members:
        people = frame({
            "code": ["M1", "M2", "M3", "M4", "M5", "M6"],
            "category": ["full", "full", "full", "probationary", "full", "full"],
            "in_service": [False, False, True, False, False, False],
            "reported": [False, False, False, False, False, True],
            "building_code": [None] * 6,
        }, [Point(30, 30), Point(40, 40), Point(35, 25), Point(100, 50), Point(230, 60), Point(150, 200)])  # fmt: skip
    return Layers(communities, compounds, buildings, grids, people)


def stations():
    return frame({"code": ["S1"], "name": ["甲站"], "kind": ["站"]}, [Point(60, 60)])


def orgs():
    return pd.DataFrame({"code": [], "name": [], "kind": [], "parent_name": [], "has_committee": [], "covers": [], "groups": []})  # fmt: skip


SETTINGS = Settings(station_radius_m=150, grid_households_min=50, grid_households_max=120)


@pytest.fixture(scope="module")
def result():
    return analyze(layers(), stations(), orgs(), SETTINGS)


def test_every_gap_is_found_once_with_its_place(result):
    found = result.gaps[["kind", "code", "codes"]].values.tolist()
    assert found == [
        ["building_outside_compound", "B4", "B4"],
        ["building_without_member", "B4", "B4"],  # 10 households, nobody lives there
        ["member_not_reported", "M3", "M3"],  # in service, lives here, not reported
        ["member_unassigned", "M6", "M6"],  # about 100 m from the nearest building
        ["property_without_org", "K2", "K2"],
    ]
    assert result.gaps["community_code"].tolist() == ["C1"] * 5
    assert result.gaps.crs.to_epsg() == 4326


def test_members_count_in_the_compound_of_their_building(result):
    figures = result.figures.set_index(["level", "code"])
    k1, k2 = figures.loc[("compound", "K1")], figures.loc[("compound", "K2")]
    # M1–M3 in B1, the probationary M4 in the L-shaped B2 (its home point in the L's corner)
    assert (k1["households"], k1["members_full"], k1["members_probationary"]) == (75, 3, 1)
    assert (k2["households"], k2["members_full"], k2["members_probationary"]) == (60, 1, 0)
    # the community holds the placed members only; the subdistrict every member on the roster
    assert figures.loc[("community", "C1"), ["members_full", "members_probationary"]].tolist() == [4, 1]  # fmt: skip
    assert figures.loc[("subdistrict", ""), ["members_full", "members_probationary"]].tolist() == [5, 1]  # fmt: skip
    cells = figures.loc["grid"]
    assert cells["households"].sum() == 145 and cells["members_full"].sum() == 4


def test_three_full_members_make_a_branch_and_one_cannot_stand_alone(result):
    proposals = result.proposals[["kind", "compounds", "full_members", "probationary_members"]]
    assert proposals.values.tolist()[:2] == [["branch", "K1", 3, 1], ["not_joinable", "K2", 1, 0]]
    assert result.figures.set_index("code").loc[["K1", "K2"], "proposal"].tolist() == ["branch", "not_joinable"]  # fmt: skip


def test_the_summary_counts_what_was_given_and_lists_what_could_not_be_checked(result):
    assert result.summary["counts"] == {
        "communities": 1, "unified_cells": 2, "compounds": 2, "buildings": 4, "households": 145,
        "members": 6, "members_full": 5, "members_assigned": 5, "stations": 1,
    }  # fmt: skip
    unchecked = {u["kind"] for u in result.summary["unchecked"]}
    # no organisation table: no compound can be said to lack one
    assert {"compound_without_org", "branch_too_small"} <= unchecked
    assert "compound_without_org" not in result.summary["gaps"]


def test_beyond_station_reach_is_measured_from_the_station():
    near = analyze(layers(), stations(), orgs(), SETTINGS)
    assert "beyond_station_reach" not in set(near.gaps["kind"])
    tight = analyze(layers(), stations(), orgs(), Settings(station_radius_m=60, grid_households_min=50, grid_households_max=120))  # fmt: skip
    far = tight.gaps[tight.gaps["kind"] == "beyond_station_reach"]
    # B3 (of K2) is about 140 m from the station, the loose B4 about 90 m; B1 and B2 within 60 m
    assert far[["layer", "code", "measure"]].values.tolist() == [["building", "B4", 10.0], ["compound", "K2", 60.0]]  # fmt: skip


def test_without_members_no_grid_is_called_blank():
    bare = analyze(layers(members=False), stations(), orgs(), SETTINGS)
    assert "grid_without_member" not in set(bare.gaps["kind"])
    assert "grid_without_member" in {u["kind"] for u in bare.summary["unchecked"]}
    assert bare.summary["counts"]["members"] == 0

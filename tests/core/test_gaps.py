"""Every finding names the community it lies in (所属社区), on hand-made geometry (EPSG:4544)."""

from __future__ import annotations

import re

import geopandas as gpd
from shapely import LineString, Point, box

from gridmap.config import Settings
from gridmap.core import coverage, topology
from gridmap.core.gap_names import name_text_zh, names_of, with_names
from gridmap.core.gaps import (
    GAP_KINDS,
    NEXT_STEPS,
    Gap,
    concat_gaps,
    make_gaps,
    with_community_codes,
)
from gridmap.core.integrate import Layers, integrate

S = Settings()
X0, Y0 = 404000.0, 3376000.0  # near 104.0°E, 30.5°N in CGCS2000 Gauss–Krüger CM 105E


def at(x0, y0, x1, y1):
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def frame(codes, geoms, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": codes, **columns}, geometry=list(geoms), crs=4544)


# two communities side by side: C1 west of x = 200, C2 east of it
COMMUNITIES = frame(["C1", "C2"], [at(0, 0, 200, 100), at(200, 0, 400, 100)], name=["一", "二"])
# G2 lies 20% in C1 and 80% in C2; compound X1 is cut between G1 and G2, mostly in C1
GRIDS = frame(["G1", "G2"], [at(0, 0, 150, 100), at(150, 0, 400, 100)])
COMPOUNDS = frame(["X1", "X2"], [at(100, 10, 180, 90), at(280, 10, 380, 90)])
BUILDINGS = frame(
    ["B1", "B2", "B3"], [at(110, 20, 130, 40), at(300, 20, 320, 40), at(330, 20, 350, 40)],
    households=[30, 40, 50],
)  # fmt: skip
MEMBERS = gpd.GeoDataFrame(
    {"code": ["M1", "M2", "M3"], "category": "full", "in_service": True, "reported": False},
    geometry=[Point(X0 + 120, Y0 + 30), Point(X0 + 310, Y0 + 30), Point(X0 + 900, Y0 + 50)],
    crs=4544,
)


def stored(geom, crs=4544):
    """A geometry drawn in metres, as a gap frame holds it (EPSG:4326)."""
    return gpd.GeoSeries([geom], crs=crs).to_crs(4326).iloc[0]


def placed(gaps: gpd.GeoDataFrame) -> list[tuple[str, str, str]]:
    return sorted(gaps[["kind", "code", "community_code"]].itertuples(index=False, name=None))


def test_gaps_of_every_kind_take_the_community_holding_them():
    in_service = coverage.members_not_reported(MEMBERS)
    empty = coverage.buildings_without_member(BUILDINGS, {"B3": 1}, {"B1": "X1", "B2": "X2"})
    split = topology.compound_splits(COMPOUNDS, GRIDS, "grid:party", S)
    line = Gap("sliver", "grid:party", "G1", "", 0.4, "m", "缝隙", "a thin gap",
               stored(LineString([(X0 + 10, Y0 + 50), (X0 + 60, Y0 + 50)])))  # fmt: skip
    gaps = concat_gaps([in_service, empty, split, make_gaps([line])])
    assert set(gaps["community_code"]) == {""}  # the checks themselves do not place them
    assert placed(with_community_codes(gaps, COMMUNITIES)) == [
        ("building_without_member", "B1", "C1"),
        ("building_without_member", "B2", "C2"),
        ("compound_split", "X1", "C1"),
        ("member_not_reported", "M1", "C1"),
        ("member_not_reported", "M2", "C2"),
        ("member_not_reported", "M3", ""),  # 500 m east of every community
        ("sliver", "G1", "C1"),
    ]


def test_codes_already_set_are_kept_and_gaps_without_geometry_stay_unplaced():
    straddle = topology.straddles(GRIDS, COMMUNITIES, "grid_straddles_community", "grid:party", S)
    assert placed(straddle) == [("grid_straddles_community", "G2", "C2")]
    # named by the check after its larger part, though its point may lie elsewhere
    named = Gap("member_not_reported", "member", "M9", "", 1, "members", "未报到", "not reported",
                stored(Point(X0 + 50, Y0 + 50)), community_code="C2")  # fmt: skip
    nowhere = Gap("duplicate_feature", "building", "B9", "", 1, "count", "重复", "duplicate", None)
    gaps = concat_gaps([straddle, make_gaps([named, nowhere])])
    assert placed(with_community_codes(gaps, COMMUNITIES)) == [
        ("duplicate_feature", "B9", ""),
        ("grid_straddles_community", "G2", "C2"),
        ("member_not_reported", "M9", "C2"),
    ]


def test_communities_in_the_storage_crs_place_the_gaps_alike():
    gaps = coverage.buildings_without_member(BUILDINGS, {}, {})
    assert placed(with_community_codes(gaps, COMMUNITIES.to_crs(4326))) == placed(
        with_community_codes(gaps, COMMUNITIES)
    ) == [("building_without_member", c, p) for c, p in (("B1", "C1"), ("B2", "C2"), ("B3", "C2"))]  # fmt: skip


def test_overlapping_communities_give_the_lowest_code_and_none_give_none():
    overlapping = frame(["C9", "C3"], [at(0, 0, 200, 100), at(100, 0, 400, 100)])
    gaps = coverage.buildings_without_member(BUILDINGS, {}, {})
    assert with_community_codes(gaps, overlapping)["community_code"].tolist() == ["C3"] * 3
    assert with_community_codes(gaps, COMMUNITIES.iloc[:0])["community_code"].tolist() == [""] * 3
    assert with_community_codes(gaps.iloc[:0], COMMUNITIES).empty


def test_integration_places_every_finding_in_its_community():
    layers = Layers(COMMUNITIES, COMPOUNDS, BUILDINGS, {"party": GRIDS}, MEMBERS)
    found = integrate(layers, S).findings
    assert placed(found) == [
        ("compound_split", "X1", "C1"),
        ("grid_straddles_community", "G2", "C2"),
    ]
    assert isinstance(found, gpd.GeoDataFrame) and found.crs.to_epsg() == 4326


def test_every_gap_kind_has_a_next_step_in_chinese_then_english():
    assert list(NEXT_STEPS) == list(GAP_KINDS)
    for kind, (zh, en) in NEXT_STEPS.items():
        assert re.search(r"[\u4e00-\u9fff]", zh) and not re.search(r"[A-Za-z_]{4,}", zh), kind
        assert en[0].isupper() and not re.search(r"[\u4e00-\u9fff]{3,}", en), kind
        assert kind not in zh + en  # a coordinator's words, no machine key


def test_findings_read_names_first_and_codes_second_but_never_name_a_member():
    grids = frame(["G1", "G2"], [at(0, 0, 150, 100), at(150, 0, 400, 100)], name=["东网格", "西片"])
    hole = frame(["C1"], [at(0, 0, 500, 100)], name=["玉林社区"])
    compounds = frame(["X1", "X2"], [at(100, 10, 180, 90), at(280, 10, 380, 90)], name=["玉林雅居", None])  # fmt: skip
    gaps = concat_gaps([
        topology.coverage_gaps(grids, hole, "grid:party", S),
        topology.compound_splits(compounds, grids, "grid:party", S),
        coverage.members_not_reported(MEMBERS),
    ])  # fmt: skip
    named = with_names(gaps, names_of({"community": hole, "grid": [grids], "compound": compounds}))
    rows = {(k, c): (n, zh, en) for k, c, n, zh, en in named[["kind", "code", "name", "message_zh", "message_en"]].itertuples(index=False)}  # fmt: skip
    name, zh, en = rows[("uncovered_area", "G2")]
    assert name == "西片"
    assert zh == "玉林社区（C1）内有 10000 平方米不属于任何网格 (留白)，相邻网格: 西片（G2）"
    assert en == "10000 m² of community 玉林社区 (C1) lie in no grid; next to: 西片 (G2)"
    name, zh, _ = rows[("compound_split", "X1")]
    assert (name, zh) == (
        "玉林雅居",
        "小区玉林雅居（X1）被网格分割: 东网格（G1）62%、西片（G2）38%",
    )
    # a member keeps the code (personal data), and a place without a name keeps its code
    assert rows[("member_not_reported", "M1")][0] == "" and "M1" in rows[("member_not_reported", "M1")][1]  # fmt: skip
    assert name_text_zh("小区 X2 有 5 户", names_of({"compound": compounds})) == "小区 X2 有 5 户"

"""Addresses matched to hand-made compounds and buildings: rules, confidence, refusals."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from gridmap.core.geocode import (
    building_numbers,
    compound_names,
    distances_m,
    match_addresses,
    placed,
)
from gridmap.io.address import parse_many
from gridmap.io.read import ReadOptions, read_layer_file

LON0, LAT0 = 114.30, 30.55
D = 0.001  # about 100 m


def _compounds() -> gpd.GeoDataFrame:
    rows = [
        ("XQ1", "紫阳花园", "紫阳小区;干休所大院"),
        ("XQ2", "紫阳花园二期", None),
        ("XQ3", "枫林苑", None),
        ("XQ4", "东湖名居", "东湖名居(老)"),
        ("XQ5", "幸福小区", None),
        ("XQ6", "幸福小区", None),
        ("XQ7", "水乡花园", None),
    ]
    return gpd.GeoDataFrame(
        {
            "code": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "aliases": [r[2] for r in rows],
        },
        geometry=[box(LON0 + i * D, LAT0, LON0 + (i + 1) * D, LAT0 + D) for i in range(len(rows))],
        crs="EPSG:4326",
    )


def _buildings() -> gpd.GeoDataFrame:
    rows = [(f"XQ1-{n:02d}", f"紫阳花园{n}栋", "XQ1") for n in range(1, 6)]
    rows += [(f"XQ2-{n:02d}", f"紫阳花园二期{n}栋", "XQ2") for n in range(1, 4)]
    rows += [("XQ3-01", "1号楼", "XQ3"), ("XQ3-02", "2号楼", "XQ3"), ("XQ3-B", "B座", "XQ3")]
    rows += [("XQ4-01", None, "XQ4"), ("XQ4-02", None, "XQ4")]  # numbers only in the codes
    rows += [("XQ5-01", "幸福小区1栋", "XQ5"), ("XQ6-01", "幸福小区1栋", "XQ6")]
    rows += [("XQ7-07", "水乡花园7栋", "XQ7"), ("XQ7-77", "水乡花园7栋", "XQ7")]  # a number twice
    geoms = [
        box(LON0 + i * D / 4, LAT0 + 2 * D, LON0 + (i + 0.5) * D / 4, LAT0 + 2.2 * D)
        for i in range(len(rows))
    ]
    return gpd.GeoDataFrame(
        {"code": [r[0] for r in rows], "name": [r[1] for r in rows],
         "compound_code": [r[2] for r in rows]},
        geometry=geoms, crs="EPSG:4326",
    )  # fmt: skip


def _match(*addresses, **columns) -> pd.DataFrame:
    parsed = parse_many(pd.Series(list(addresses), dtype=object) if addresses else None, **columns)
    return match_addresses(parsed, _compounds(), _buildings())


def _one(address: str) -> dict:
    return _match(address).iloc[0].to_dict()


@pytest.mark.parametrize(
    "address, building, rule, confidence",
    [
        ("紫阳花园3栋2单元501室", "XQ1-03", "exact", "high"),
        ("紫阳花园二期2栋1单元301", "XQ2-02", "exact", "high"),
        ("紫阳花园三栋", "XQ1-03", "exact", "high"),
        ("武昌区首义路街道紫阳花园3号楼2-501", "XQ1-03", "exact", "high"),
        ("紫阳小区4幢", "XQ1-04", "alias", "high"),
        ("干休所大院5号", "XQ1-05", "alias", "high"),
        ("枫林苑B座1201", "XQ3-B", "exact", "high"),
        ("枫林苑2座", "XQ3-02", "exact", "high"),
        ("东湖名居2栋", "XQ4-02", "exact", "high"),
        ("东湖明居1栋", "XQ4-01", "fuzzy", "medium"),
        ("水乡花园7栋", None, None, "low"),
    ],
)
def test_each_rule_places_the_right_building(address, building, rule, confidence):
    got = _one(address)
    assert (got["building_code"], got["rule"], got["confidence"]) == (building, rule, confidence)


def test_the_exact_name_wins_over_the_longer_similar_one():
    got = _match("紫阳花园1栋", "紫阳花园二期1栋", "紫阳花园（二期）1栋")
    assert got["building_code"].tolist() == ["XQ1-01", "XQ2-01", "XQ2-01"]
    assert got["rule"].tolist() == ["exact"] * 3


def test_a_name_between_two_compounds_is_ambiguous_and_not_placed():
    got = _one("紫阳花园三期3栋")
    assert (got["status"], got["confidence"], got["building_code"]) == ("ambiguous", "low", None)
    assert got["geometry"] is None
    assert "相近" in got["reason_zh"] and "close to several" in got["reason_en"]
    assert "紫阳花园二期 (XQ2" in got["candidates"] and "紫阳花园 (XQ1" in got["candidates"]


def test_two_compounds_of_one_name_are_ambiguous_with_both_codes():
    got = _one("幸福小区1栋")
    assert got["status"] == "ambiguous" and got["building_code"] is None
    assert got["candidates"] == "幸福小区 (XQ5); 幸福小区 (XQ6)"


def test_the_community_named_in_the_address_tells_two_compounds_of_one_name_apart():
    compounds = _compounds().assign(community_code=["C1"] * 5 + ["C2", "C1"])
    communities = pd.DataFrame({"code": ["C1", "C2"], "name": ["东湖社区", "西湖社区"]})
    parsed = parse_many(
        pd.Series(["西湖社区幸福小区1栋", "武昌区东湖社区居委会幸福小区1栋", "幸福小区1栋"])
    )
    got = match_addresses(parsed, compounds, _buildings(), communities=communities)
    assert got["building_code"].tolist() == ["XQ6-01", "XQ5-01", None]
    assert got["confidence"].tolist() == ["high", "high", "low"]


def test_a_compound_that_does_not_exist_is_unmatched_with_no_guess():
    got = _one("金沙家园3栋2单元501")
    assert (got["status"], got["rule"], got["compound_code"]) == ("unmatched", None, None)
    assert got["reason_en"].startswith("no compound has this name")


def test_a_building_number_that_does_not_exist_lists_the_compounds_numbers():
    got = _one("紫阳花园9栋1单元101")
    assert (got["status"], got["building_code"]) == ("unmatched", None)
    assert got["reason_en"] == "the compound has no building with this number"
    assert got["candidates"] == "该小区的楼栋号 numbers: 1, 2, 3, 4, 5"


def test_two_buildings_with_one_number_are_ambiguous():
    got = _one("水乡花园7栋")
    assert got["status"] == "ambiguous" and "同一楼栋号" in got["reason_zh"]


def test_no_building_number_no_compound_or_no_address_say_so():
    got = _match("紫阳花园", "3-2-501", "", None)
    assert got["status"].tolist() == ["unmatched"] * 4
    assert got["reason_en"].tolist() == [
        "the address gives no building number",
        "the address names no compound",
        "the address is empty",
        "the address is empty",
    ]


def test_the_same_person_twice_gets_the_same_place_twice():
    got = _match("紫阳花园3栋2单元501室", "紫阳花园3栋2单元501室")
    assert got["building_code"].tolist() == ["XQ1-03", "XQ1-03"]
    assert got.geometry.iloc[0].equals(got.geometry.iloc[1])


def test_the_point_is_the_buildings_representative_point_inside_it():
    got = _match("枫林苑1号楼", "金沙家园1栋")
    building = _buildings().set_index("code").geometry["XQ3-01"]
    assert building.contains(got.geometry.iloc[0])
    assert got.geometry.iloc[1] is None
    assert placed(got).tolist() == [True, False]


def test_separate_columns_match_like_an_address():
    got = _match(
        compounds=pd.Series(["紫阳花园", "枫林苑", "XQ4"]),
        buildings=pd.Series(["3", None, "1"]),
        rooms=pd.Series(["2-501", "2-1-301", None]),
    )
    assert got["building_code"].tolist() == ["XQ1-03", "XQ3-02", "XQ4-01"]


def test_an_existing_building_code_places_the_row_whatever_the_address():
    parsed = parse_many(pd.Series(["金沙家园3栋", "紫阳花园1栋"]))
    got = match_addresses(parsed, _compounds(), _buildings(), pd.Series(["XQ3-B", "NOPE"]))
    assert got["building_code"].tolist() == ["XQ3-B", "XQ1-01"]
    assert got["rule"].tolist() == ["code", "exact"]


def test_aliases_stored_in_properties_count_too():
    compounds = _compounds().drop(columns="aliases")
    compounds["properties"] = [{"aliases": "老紫阳"}] + [{}] * (len(compounds) - 1)
    names = compound_names(compounds)
    assert names[names["rule"] == "alias"]["label"].tolist() == ["老紫阳"]


def test_building_numbers_come_from_names_then_codes():
    numbers = building_numbers(_buildings(), _compounds()).set_index("building_code")["number"]
    assert numbers[["XQ1-03", "XQ2-02", "XQ3-01", "XQ3-B", "XQ4-02"]].tolist() == [
        "3", "2", "1", "B", "2",
    ]  # fmt: skip


def test_distances_between_given_and_matched_points_are_metres():
    a = gpd.GeoSeries([Point(LON0, LAT0), Point(LON0, LAT0), None], crs="EPSG:4326")
    b = gpd.GeoSeries([Point(LON0 + 0.001, LAT0), Point(LON0, LAT0), Point(0, 0)], crs="EPSG:4326")
    d = distances_m(a, b)
    assert 95 < d[0] < 97 and d[1] == 0 and np.isnan(d[2])


# --- a roster of the demo subdistrict, as offices write addresses -------------------------------

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo_places():
    """The demo's compounds, buildings and members, read as ``gridmap load`` reads them."""
    demo = REPO / "geodata" / "demo"
    manifest = {i["layer"]: i for i in json.loads((demo / "manifest.json").read_text("utf-8"))}
    frames = {}
    for layer in ("compound", "building", "member"):
        item = manifest[layer]
        options = ReadOptions(crs=item.get("crs"))
        frames[layer] = read_layer_file(demo / item["file"], layer, options).frame
    return frames["compound"], frames["building"], frames["member"]


def _roster_tools():
    sys.path.insert(0, str(REPO / "benchmarks"))
    import bench_geocode

    return bench_geocode


def test_a_generated_roster_of_the_demo_is_placed_at_least_98_percent_and_never_wrongly_high(
    demo_places,
):
    compounds, buildings, _members = demo_places
    tools = _roster_tools()
    roster = tools.variant_roster(compounds, buildings, 3000, seed=20261206, typo_rate=0.05)
    assert roster["form"].nunique() == len(tools.FORMS) + 1  # every form and some typos
    matches = match_addresses(parse_many(roster["address"]), compounds, buildings)
    got = tools.score(matches, roster["truth"])
    assert got["wrong_high"] == 0
    assert got["correct"] / len(roster) >= 0.98, got
    plain = roster["form"] != "typo"
    assert (matches["building_code"][plain] == roster["truth"][plain]).all()


def test_the_demo_members_addresses_name_the_building_they_live_in(demo_places):
    compounds, buildings, members = demo_places
    home = gpd.sjoin(
        members[["geometry"]], buildings[["code", "geometry"]], predicate="within", how="left"
    )
    home = home[~home.index.duplicated()]["code"]
    matches = match_addresses(parse_many(members["address"]), compounds, buildings)
    inside = home.notna()  # planted members outside every building are left out
    assert inside.mean() > 0.95
    got = _roster_tools().score(matches[inside], home[inside])
    assert got["wrong_high"] == 0
    assert got["correct"] / inside.sum() >= 0.98, got

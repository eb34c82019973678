"""A check whose inputs are missing is listed as not checked (未能检查), with why — never a zero."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely import Point, box

from gridmap.core.gaps import GAP_KINDS, unchecked_kinds
from gridmap.layers import CHECK_NEEDS, LAYERS

PROPERTY_REASON_ZH = (
    "小区数据中没有一列说明物业企业是否建立党组织 (如「物业党组织」是/否)，或该列全为空"
)
PROPERTY_REASON_EN = (
    "no column says whether a property company has a Party organisation (物业党组织 yes/no), "
    "or the column is empty"
)


def _frame(layer: str, rows: list[dict], point: bool = False) -> gpd.GeoDataFrame:
    columns = {name: [r.get(name) for r in rows] for name in ("code", *LAYERS[layer].field_names)}
    geoms = [Point(104, 30) if point else box(104, 30, 104.001, 30.001) for _ in rows]
    return gpd.GeoDataFrame(columns, geometry=geoms, crs=4326)


def _complete() -> dict[str, pd.DataFrame]:
    """Every input of every check, with a value in every column a check needs."""
    return {
        "grid": _frame("grid", [{"code": "G1"}]),
        "compound": _frame(
            "compound",
            [{"code": "C1", "property_company": "锦绣物业", "property_has_org": False}],
        ),
        "building": _frame("building", [{"code": "B1", "households": 40}]),
        "member": _frame(
            "member",
            [{"code": "M1", "category": "full", "in_service": True, "reported": False}],
            point=True,
        ),
        "station": _frame("station", [{"code": "S1"}], point=True),
        "org": pd.DataFrame(
            {
                "code": ["支部"],
                "name": ["支部"],
                "kind": ["branch"],
                "covers": ["C1"],
                "has_committee": [False],
                "groups": [2],
            }
        ),
    }


def test_every_input_present_leaves_nothing_unchecked():
    assert unchecked_kinds(_complete()) == []


def test_a_compound_table_without_the_property_org_column_leaves_red_property_unchecked():
    inputs = _complete()
    inputs["compound"] = inputs["compound"].drop(columns="property_has_org")
    assert unchecked_kinds(inputs) == [
        {
            "kind": "property_without_org",
            "reason_zh": PROPERTY_REASON_ZH,
            "reason_en": PROPERTY_REASON_EN,
        }
    ]


def test_a_column_the_store_holds_but_no_row_filled_counts_as_missing():
    inputs = _complete()
    inputs["compound"]["property_has_org"] = None
    (only,) = unchecked_kinds(inputs)
    assert only["kind"] == "property_without_org"
    assert only["reason_zh"] == PROPERTY_REASON_ZH


def test_one_value_in_the_column_is_enough_to_check():
    inputs = _complete()
    two = _frame(
        "compound",
        [{"code": "C1", "property_company": "锦绣物业"}, {"code": "C2", "property_has_org": True}],
    )
    inputs["compound"] = two
    assert unchecked_kinds(inputs) == []


def test_a_roster_without_reported_column_leaves_the_reporting_check_unchecked():
    inputs = _complete()
    inputs["member"]["reported"] = None
    assert unchecked_kinds(inputs) == [
        {
            "kind": "member_not_reported",
            "reason_zh": "党员名册中没有「已报到」列 (是/否)，或该列全为空",
            "reason_en": "the member roster has no column saying who has reported to the "
            "community (已报到), or the column is empty",
        }
    ]


def test_no_stations_leaves_the_walking_reach_unchecked():
    inputs = _complete()
    inputs["station"] = inputs["station"].iloc[:0]
    assert unchecked_kinds(inputs) == [
        {
            "kind": "beyond_station_reach",
            "reason_zh": "未导入党群服务中心 / 站",
            "reason_en": "no Party service centres or stations are loaded",
        }
    ]


def test_no_members_leaves_every_member_check_unchecked_in_gap_kind_order():
    inputs = {**_complete(), "member": None}
    got = unchecked_kinds(inputs)
    assert [u["kind"] for u in got] == [
        "grid_without_member", "building_without_member", "member_unassigned",
        "member_not_reported", "branch_too_small", "branch_too_large", "branch_needs_committee",
    ]  # fmt: skip
    # the roster's columns are not named again when the roster itself is missing
    assert {u["reason_zh"] for u in got} == {"未导入党员名册"}


def test_organisations_without_covered_compounds_leave_the_rules_unchecked():
    inputs = _complete()
    inputs["org"]["covers"] = None
    got = {u["kind"]: u["reason_zh"] for u in unchecked_kinds(inputs)}
    assert set(got) == {
        "compound_without_org", "branch_too_small", "branch_too_large",
        "branch_needs_committee", "joint_branch_too_many_units",
    }  # fmt: skip
    assert got["compound_without_org"] == "党组织表中没有「覆盖小区」列，或该列全为空"


def test_both_columns_missing_are_named_in_one_reason():
    inputs = _complete()
    inputs["compound"] = inputs["compound"].drop(columns=["property_company", "property_has_org"])
    (only,) = unchecked_kinds(inputs)
    assert only["reason_zh"] == f"小区数据中没有「物业公司」列，或该列全为空；{PROPERTY_REASON_ZH}"


def test_every_check_with_needs_is_a_gap_kind_and_needs_known_fields():
    for kind, check in CHECK_NEEDS.items():
        assert kind in GAP_KINDS
        for layer, name in check.needs:
            assert name is None or name in LAYERS[layer].field_names

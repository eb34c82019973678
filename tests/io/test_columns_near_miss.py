"""Headers that almost match a field are reported with the --field to use; unrelated ones are not.

And a field that a check of the analysis needs, when no column gives it, is named in the load
report with the checks it stops.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gridmap.io.columns import (
    NEAR_MISS_SIMILARITY,
    header_similarity,
    match_columns,
    near_misses,
    parse_field_options,
)
from gridmap.io.read import ReadOptions, read_layer_file
from gridmap.layers import LAYERS

# (layer, the file's headers, the column that almost matches, the field it resembles)
NEAR_MISSES = [
    ("compound", ["小区编码", "小区名称", "物业有党组织"], "物业有党组织", "property_has_org"),
    ("compound", ["小区编码", "物业是否有党组织"], "物业是否有党组织", "property_has_org"),
    ("compound", ["小区编码", "小区名称", "物业服务公司"], "物业服务公司", "property_company"),
    ("compound", ["小区代号", "小区名称"], "小区代号", "code"),
    ("compound", ["小区编码", "所属社区编码"], "所属社区编码", "community_code"),
    ("building", ["楼栋编号", "户数", "所在小区"], "所在小区", "compound_code"),
    ("building", ["楼栋编号", "户数", "楼层总数"], "楼层总数", "floors"),
    ("building", ["楼幢号", "户数"], "楼幢号", "code"),
    ("member", ["姓名", "党员类别", "联系手机"], "联系手机", "phone"),
    ("member", ["姓名", "党员类别", "是否已报到"], "是否已报到", "reported"),
    ("member", ["姓名", "党员类别", "组织关系"], "组织关系", "org_name"),
    ("org", ["组织名称", "组织类型", "覆盖的小区"], "覆盖的小区", "covers"),
    ("grid", ["网格编码", "所在社区"], "所在社区", "community_code"),
]

# columns that resemble no field of their layer: nothing may be reported
UNRELATED = [
    ("compound", ["小区编码", "小区名称", "备注", "序号", "姓名", "面积", "物业费", "物业电话"]),
    ("compound", ["小区编码", "所属街道", "建成年代", "联系人"]),
    ("building", ["楼栋编号", "户数", "单元数", "楼栋地址", "结构", "备注"]),
    (
        "member",
        ["姓名", "党员类别", "性别", "出生日期", "入党时间", "学历", "身份证号码", "未报到"],
    ),
    ("member", ["姓名", "党员类别", "经度", "纬度", "工作单位", "所在小区"]),
    ("org", ["组织名称", "组织类型", "书记", "党员人数", "成立时间"]),
]


@pytest.mark.parametrize(("layer", "headers", "column", "field"), NEAR_MISSES)
def test_a_header_that_almost_matches_is_reported_with_its_field_option(
    layer, headers, column, field
):
    spec = LAYERS[layer]
    mapping = match_columns(headers, spec, {})
    assert column not in mapping.values()
    (miss,) = near_misses(headers, spec, mapping)
    assert (miss.column, miss.field) == (column, field)
    assert miss.option == f"--field {column}={field}"
    # the option, as printed, maps the column when given back
    assert match_columns(headers, spec, parse_field_options([miss.option[8:]]))[field] == column


@pytest.mark.parametrize(("layer", "headers"), UNRELATED)
def test_columns_that_resemble_no_field_are_not_reported(layer, headers):
    spec = LAYERS[layer]
    assert near_misses(headers, spec, match_columns(headers, spec, {})) == []


@pytest.mark.parametrize(
    ("a", "b"),
    [("物业有党组织", "物业党组织"), ("楼号", "楼栋编号"), ("联系电话", "手机号码"),
     ("所在小区", "所属小区"), ("小区代号", "小区代码"), ("住户总数", "住户数")],
)  # fmt: skip
def test_headers_alike_by_characters_or_meaning_pass_the_threshold_both_ways(a, b):
    assert header_similarity(a, b) >= NEAR_MISS_SIMILARITY
    assert header_similarity(b, a) == header_similarity(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("备注", "名称"), ("序号", "编号"), ("姓名", "名称"), ("姓名", "名字"), ("所属街道", "所属社区"),
     ("物业费", "物业公司"), ("身份证号码", "手机号码"), ("未报到", "已报到"), ("人员类别", "党员类别")],
)  # fmt: skip
def test_unrelated_short_headers_stay_below_the_threshold_both_ways(a, b):
    assert header_similarity(a, b) < NEAR_MISS_SIMILARITY
    assert header_similarity(b, a) < NEAR_MISS_SIMILARITY


def test_a_field_already_mapped_is_not_suggested_again():
    headers = ["小区编码", "物业党组织", "物业有党组织"]
    spec = LAYERS["compound"]
    assert near_misses(headers, spec, match_columns(headers, spec, {})) == []


def test_a_column_with_spaces_gets_a_quoted_option():
    headers = ["小区编码", "物业 有 党组织?"]
    spec = LAYERS["compound"]
    (miss,) = near_misses(headers, spec, match_columns(headers, spec, {}))
    assert miss.option == '--field "物业 有 党组织?=property_has_org"'


def test_a_missing_required_column_names_the_near_miss_in_the_error():
    from gridmap.errors import SchemaError

    with pytest.raises(SchemaError) as caught:
        match_columns(["楼栋编号", "住户总数"], LAYERS["building"], {})
    assert "--field 住户总数=households" in caught.value.message_zh
    assert "--field 住户总数=households" in caught.value.message_en


SQUARE = "POLYGON ((104.06 30.66, 104.061 30.66, 104.061 30.661, 104.06 30.661, 104.06 30.66))"


def _compound_csv(path, red_column: str = "物业有党组织"):
    path.write_text(
        f"小区编码,小区名称,物业公司,{red_column},备注,序号,姓名,wkt\n"
        f'XQ1,锦绣花园,锦绣物业,否,无,1,张演示,"{SQUARE}"\n',
        encoding="utf-8",
    )
    return path


def test_load_report_names_the_near_miss_and_the_check_it_would_stop(tmp_path):
    result = read_layer_file(_compound_csv(tmp_path / "小区.csv"), "compound")
    warnings = result.report.warnings
    assert [w for w in warnings if "--field" in w] == [
        "列「物业有党组织」未被使用，但与「物业党组织」(property_has_org) 相近；如果是同一项，请加 "
        "--field 物业有党组织=property_has_org / column 物业有党组织 was not used but resembles "
        "property_has_org (物业党组织); if it is that field, add --field 物业有党组织=property_has_org"
    ]
    assert [w for w in warnings if "无法进行" in w] == [
        "本文件没有「物业党组织」列：红色物业检查 (property_without_org) 将无法进行 / this file "
        "has no property_has_org (物业党组织) column: property_without_org cannot be checked"
    ]
    assert not any(c in w for w in warnings for c in ("备注", "序号", "姓名"))
    assert result.frame["properties"][0]["物业有党组织"] == "否"


def test_with_the_suggested_option_the_column_is_read_and_nothing_is_reported(tmp_path):
    fields = parse_field_options(["物业有党组织=property_has_org"])
    options = ReadOptions(crs="4326", fields=fields)
    result = read_layer_file(_compound_csv(tmp_path / "小区.csv"), "compound", options)
    assert result.report.warnings == []
    assert result.frame["property_has_org"].tolist() == [False]


def test_a_needed_column_that_is_empty_is_named_as_empty(tmp_path):
    path = tmp_path / "小区.csv"
    path.write_text(
        f'小区编码,物业公司,物业党组织,wkt\nXQ1,锦绣物业,,"{SQUARE}"\n', encoding="utf-8"
    )
    (warning,) = read_layer_file(path, "compound", ReadOptions(crs="4326")).report.warnings
    assert warning.startswith("本文件的「物业党组织」列 (物业党组织) 全为空：红色物业检查")


def test_member_table_without_report_columns_names_the_reporting_check(tmp_path):
    path = tmp_path / "党员.csv"
    path.write_text("姓名,党员类别,经度,纬度\n张演示,正式党员,104.06,30.66\n", encoding="utf-8")
    report = read_layer_file(path, "member", ReadOptions(crs="4326")).report
    warnings = [w for w in report.warnings if "无法进行" in w]
    assert [w.split("：")[0] for w in warnings] == [
        "本文件没有「在职党员」列",
        "本文件没有「已报到」列",
    ]
    assert all("在职党员报到检查 (member_not_reported)" in w for w in warnings)


def test_gridmap_load_prints_the_option_to_use(tmp_path):
    env = {**os.environ, "GRIDMAP_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}", "COLUMNS": "400"}
    run = subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "load", "compound", _compound_csv(tmp_path / "x.csv")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "--field 物业有党组织=property_has_org" in run.stdout
    assert "property_without_org cannot be checked" in run.stdout


def test_gridmap_load_prints_a_column_name_that_looks_like_markup_as_it_is(tmp_path):
    env = {**os.environ, "GRIDMAP_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}", "COLUMNS": "400"}
    path = _compound_csv(tmp_path / "x.csv", red_column="[/z]物业有党组织")
    run = subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "load", "compound", path],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert '--field "[/z]物业有党组织=property_has_org"' in run.stdout

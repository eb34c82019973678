"""Workbooks as offices hand them over (.xlsx, .xls, .ods), loaded through ``gridmap load``.

The rosters are built here with openpyxl the way offices make them: a title merged across the
top, a blank row, a two-level header (住址 over 小区 / 楼栋 / 单元), phones typed as numbers,
dates as Excel dates, as serial numbers and as text, a blank row, a 合计 row and a footnote.
The .xls, .ods and password-protected fixtures in ``tests/data/spreadsheets`` were made once from
the same roster (see ``make_fixtures.py`` there); no test needs LibreOffice.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from factories import LAT0, LON0
from python_calamine import CalamineWorkbook

from gridmap.config import Settings
from gridmap.errors import InputFileError
from gridmap.io.read import ReadOptions, read_layer_file
from gridmap.io.sheet_table import table_from_rows
from gridmap.io.sources import read_source
from gridmap.io.spreadsheet import ods_header_merges
from gridmap.store.db import make_engine
from gridmap.store.features import read_features

FIXTURES = Path(__file__).parents[1] / "data" / "spreadsheets"
TITLE = "锦绣街道党员花名册"
HEADER = ["序号", "党员编号", "姓名", "手机号码", "住址", None, None, "党员类别", "入党日期", "经度", "纬度"]  # fmt: skip
SUBHEADER = [None, None, None, None, "小区", "楼栋", "单元", None, None, None, None]
# (Excel row, cells): phones as a number, as text and with a leading zero; dates as a date, as
# text (2021.3, 2021年3月) and as a bare serial number (44256 = 2021-03-01).
MEMBERS = {
    5: [1, "M1", "测试甲", 10012345678, "紫阳花园", 3, 2, "正式党员", dt.date(2021, 3, 1), LON0, LAT0],
    6: [2, "M2", "测试乙", "10087654321", "紫阳花园", 3, 1, "预备党员", "2021.3", LON0 + 0.001, LAT0],
    8: [3, "M3", "测试丙", 10011112222.0, "锦绣花园", "B座", None, "正式党员", "2021年3月", LON0, LAT0 + 0.001],
    9: [4, "M4", "测试丁", "01001234567", "锦绣花园", 1, 1, "正式党员", 44256, LON0 + 0.001, LAT0 + 0.001],
}  # fmt: skip
EXPECTED = {  # code: (name, phone, {unmapped columns}); 住址's parts feed the address fields
    "M1": ("测试甲", "10012345678", {"序号": "1", "入党日期": "2021-03-01"}),
    "M2": ("测试乙", "10087654321", {"序号": "2", "入党日期": "2021.3"}),
    "M3": ("测试丙", "10011112222", {"序号": "3", "入党日期": "2021年3月"}),
    "M4": ("测试丁", "01001234567", {"序号": "4", "入党日期": "2021-03-01"}),
}  # fmt: skip


def roster_sheet(ws, members: dict[int, list] | None = None) -> None:
    """A 党员花名册 on ``ws`` as an office lays it out (rows as in :data:`MEMBERS`)."""
    members = MEMBERS if members is None else members
    ws["A1"] = TITLE
    ws.merge_cells("A1:K1")
    for c, value in enumerate(HEADER, start=1):
        ws.cell(3, c, value)
    for c, value in enumerate(SUBHEADER, start=1):
        ws.cell(4, c, value)
    ws.merge_cells("E3:G3")
    for letter in "ABCDHIJK":
        ws.merge_cells(f"{letter}3:{letter}4")
    for row, cells in members.items():
        for c, value in enumerate(cells, start=1):
            cell = ws.cell(row, c, value)
            if isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd"
    last = max(members) + 1
    ws.cell(last, 1, "合  计")
    ws.cell(last, 3, f"{len(members)}人")
    ws.cell(last + 1, 1, "注：本表为测试数据")
    ws.merge_cells(f"A{last + 1}:K{last + 1}")


def roster_workbook(path: Path, **sheets) -> Path:
    """A workbook with a roster on sheet 花名册 (or on each sheet named in ``sheets``)."""
    wb = openpyxl.Workbook()
    wb.active.title = "花名册" if not sheets else next(iter(sheets))
    for i, (name, members) in enumerate((sheets or {"花名册": MEMBERS}).items()):
        roster_sheet(wb.active if i == 0 else wb.create_sheet(name), members)
    wb.save(path)
    return path


def gridmap(*args, db: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRIDMAP_DATABASE_URL": f"sqlite:///{db}", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "gridmap.cli", *map(str, args)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


def stored_members(db: Path) -> dict[str, tuple]:
    engine = make_engine(Settings(database_url=f"sqlite:///{db}"))
    try:
        with engine.connect() as conn:
            frame = read_features(conn, "member", include_personal=True)
    finally:
        engine.dispose()
    return {
        r.code: (r.name, r.phone, {k: v for k, v in r.properties.items() if k in EXPECTED["M1"][2]})
        for r in frame.itertuples()
    }


def loaded(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return " ".join(result.stdout.split())  # rich wraps long lines


# --- one roster, three formats ----------------------------------------------------------------


def test_roster_with_title_two_level_header_and_totals_loads_exact_rows(tmp_path):
    db = tmp_path / "g.db"
    out = loaded(gridmap("load", "member", roster_workbook(tmp_path / "党员花名册.xlsx"), db=db))
    assert stored_members(db) == EXPECTED
    assert "跳过空行 / skipped blank rows: 第 7 行" in out
    assert "跳过合计行 / skipped totals rows: 第 10 行" in out
    assert "跳过说明行 / skipped note rows: 第 11 行" in out
    assert "入党日期: 1 个数字按 Excel 日期序号读作日期" in out
    assert "测试" not in out  # no personal data in the report


def test_two_level_headers_are_named_group_and_sub_header(tmp_path):
    path = roster_workbook(tmp_path / "花名册.xlsx")
    columns = ["序号", "党员编号", "姓名", "手机号码", "住址_小区", "住址_楼栋", "住址_单元", "党员类别", "入党日期", "经度", "纬度"]  # fmt: skip
    assert list(read_source(path).frame.columns) == columns
    # a sub-header that is a known header of the layer by itself keeps its own name
    known = frozenset({"姓名", "小区"})
    assert list(read_source(path, known_headers=known).frame.columns)[4:7] == ["小区", "住址_楼栋", "住址_单元"]  # fmt: skip


@pytest.mark.parametrize("fixture", ["roster.xls", "roster.ods"])
def test_xls_and_ods_rosters_load_like_the_xlsx(tmp_path, fixture):
    db = tmp_path / "g.db"
    out = loaded(gridmap("load", "member", FIXTURES / fixture, db=db))
    assert stored_members(db) == EXPECTED
    assert "第 10 行" in out and "第 7 行" in out


def test_ods_merges_are_read_from_its_xml_like_those_of_the_xls():
    xls = CalamineWorkbook.from_path(FIXTURES / "roster.xls").get_sheet_by_index(0)
    ods = ods_header_merges(FIXTURES / "roster.ods", "花名册")
    assert sorted(ods) == sorted(xls.merged_cell_ranges)
    assert ((2, 4), (2, 6)) in ods  # 住址 over 小区 / 楼栋 / 单元


def test_excel_rows_are_named_in_rejections_and_nothing_is_written(tmp_path):
    members = {**MEMBERS, 8: [*MEMBERS[8][:7], "群众", *MEMBERS[8][8:]]}
    path = roster_workbook(tmp_path / "花名册.xlsx", 花名册=members)
    db = tmp_path / "g.db"
    refused = gridmap("load", "member", path, db=db)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "第 8 行 (row 8), 字段 党员类别: 无法识别的取值“群众”" in refused.stderr
    assert "未导入任何数据" in refused.stderr
    assert loaded(gridmap("init", db=db))
    assert stored_members(db) == {}
    loaded(gridmap("load", "member", path, "--skip-invalid", db=db))
    assert sorted(stored_members(db)) == ["M1", "M2", "M4"]


# --- sheets -----------------------------------------------------------------------------------


def test_several_sheets_with_data_and_no_sheet_option_are_refused_with_their_list(tmp_path):
    path = roster_workbook(tmp_path / "支部.xlsx", 一支部={5: MEMBERS[5]}, 二支部={6: MEMBERS[6]})
    db = tmp_path / "g.db"
    loaded(gridmap("init", db=db))
    refused = gridmap("load", "member", path, db=db)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "有多个有数据的工作表: 1. 一支部; 2. 二支部" in refused.stderr
    assert "--sheet" in refused.stderr and "Choose one with --sheet NAME" in refused.stderr
    assert stored_members(db) == {}
    loaded(gridmap("load", "member", path, "--sheet", "二支部", db=db))
    assert sorted(stored_members(db)) == ["M2"]
    loaded(gridmap("load", "member", path, "--sheet", "1", db=db))
    assert sorted(stored_members(db)) == ["M1", "M2"]
    missing = gridmap("load", "member", path, "--sheet", "三支部", db=db)
    assert missing.returncode == 2 and "没有工作表 “三支部”" in missing.stderr


def test_blank_and_hidden_sheets_are_passed_over(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Sheet1"  # left blank
    roster_sheet(wb.create_sheet("花名册"))
    hidden = wb.create_sheet("字典")  # the lists behind drop-downs, hidden by the office
    hidden.append(["党员类别"])
    hidden.append(["正式党员"])
    hidden.sheet_state = "hidden"
    wb.save(tmp_path / "花名册.xlsx")
    result = read_layer_file(tmp_path / "花名册.xlsx", "member")
    assert result.frame["code"].tolist() == ["M1", "M2", "M3", "M4"]
    assert result.rows.tolist() == [5, 6, 8, 9]
    assert "读取工作表 “花名册” (唯一有数据的工作表)" in result.report.warnings[0]
    chosen = read_layer_file(tmp_path / "花名册.xlsx", "member", ReadOptions(sheet="2"))
    assert chosen.frame["code"].tolist() == ["M1", "M2", "M3", "M4"]


# --- what a cell holds ------------------------------------------------------------------------


def test_phones_and_dates_stay_as_text_and_merged_cells_fill_their_span():
    rows = [
        ["社区", "姓名", "手机号码", "入党时间", "出生日期"],
        ["锦绣社区", "测试甲", 10012345678.0, 2021.3, dt.datetime(1960, 5, 4)],
        ["", "测试乙", "01001234567", "2021年3月", 22040.0],
        ["", "测试丙", 1.0012345678e10, dt.datetime(2021, 3, 1, 8, 30), "1960.5"],
    ]
    frame, numbers, warnings = table_from_rows(rows, [((1, 0), (3, 0))], {"姓名"})
    assert frame.values.tolist() == [
        ["锦绣社区", "测试甲", "10012345678", "2021.3", "1960-05-04"],
        ["锦绣社区", "测试乙", "01001234567", "2021年3月", "1960-05-04"],
        ["锦绣社区", "测试丙", "10012345678", "2021-03-01 08:30:00", "1960.5"],
    ]
    assert numbers.tolist() == [2, 3, 4]
    assert warnings == ["列 出生日期: 1 个数字按 Excel 日期序号读作日期 / 1 number(s) read as Excel date serials"]  # fmt: skip


def test_title_right_above_and_group_headers_without_vertical_merges():
    # no blank row under the title; 姓名 left blank under itself instead of merged down
    rows = [
        ["党员花名册", "党员花名册", "党员花名册", "党员花名册"],
        ["姓名", "住址", "住址", "手机号码"],
        ["", "小区", "楼栋", ""],
        ["测试甲", "紫阳花园", 3.0, 10012345678.0],
    ]
    merges = [((0, 0), (0, 3)), ((1, 1), (1, 2))]
    frame, numbers, _ = table_from_rows(rows, merges, {"姓名", "手机号码"})
    assert list(frame.columns) == ["姓名", "住址_小区", "住址_楼栋", "手机号码"]
    assert frame.values.tolist() == [["测试甲", "紫阳花园", "3", "10012345678"]]
    assert numbers.tolist() == [4]


def test_section_labels_merged_across_the_table_are_skipped_and_reported():
    rows = [
        ["姓名", "手机号码", "党员类别"],
        ["一、锦绣社区", "", ""],
        ["测试甲", 10012345678.0, "正式党员"],
        ["二、紫阳社区", "", ""],
        ["测试乙", 10087654321.0, "预备党员"],
    ]
    merges = [((1, 0), (1, 2)), ((3, 0), (3, 2))]
    frame, numbers, warnings = table_from_rows(rows, merges, {"姓名", "手机号码"})
    assert frame["姓名"].tolist() == ["测试甲", "测试乙"] and numbers.tolist() == [3, 5]
    assert warnings == ["跳过分组行 / skipped section rows: 第 2, 4 行"]


def test_a_title_as_wide_as_the_header_is_no_group_even_beside_wider_data():
    rows = [
        ["党员花名册", "党员花名册", "党员花名册", ""],
        ["姓名", "手机号码", "党员类别", ""],
        ["测试甲", 10012345678.0, "正式党员", "另记"],
    ]
    frame, _, _ = table_from_rows(rows, [((0, 0), (0, 2))], {"姓名", "手机号码"})
    assert list(frame.columns) == ["姓名", "手机号码", "党员类别", "D列"]
    assert frame.values.tolist() == [["测试甲", "10012345678", "正式党员", "另记"]]


def test_group_header_above_the_best_matching_row_joins_the_header():
    # the sub-headers carry the known names (姓名 written at the bottom); 基本信息 groups them
    rows = [
        ["", "基本信息", "基本信息", ""],
        ["序号", "姓名", "手机号码", "备注"],
        [1.0, "测试甲", 10012345678.0, ""],
    ]
    frame, _, _ = table_from_rows(rows, [((0, 1), (0, 2))], {"姓名", "手机号码"})
    assert list(frame.columns) == ["序号", "姓名", "手机号码", "备注"]
    assert frame.values.tolist() == [["1", "测试甲", "10012345678", None]]


def test_a_table_without_geometry_loads_from_a_workbook(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["锦绣社区党组织一览表"])
    ws.append(["组织名称", "组织类型", "上级组织", "设支委会", "覆盖小区"])
    ws.append(["测试第一支部", "党支部", "测试社区党委", "否", "C1；C2"])
    ws.append(["测试社区党委", "党委", None, "是", None])
    ws.append(["合计", "2个"])
    wb.save(tmp_path / "党组织.xlsx")
    result = read_layer_file(tmp_path / "党组织.xlsx", "org")
    assert result.frame[["name", "kind", "has_committee", "covers"]].values.tolist() == [
        ["测试第一支部", "branch", False, "C1;C2"],
        ["测试社区党委", "committee", True, None],
    ]
    assert result.rows.tolist() == [3, 4]
    assert "跳过合计行 / skipped totals rows: 第 5 行" in result.report.warnings


def test_header_without_known_names_is_the_first_full_row_of_text(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "2024年统计"
    ws.append(["填表单位：锦绣社区"])
    ws.append(["甲", "乙", "丙"])
    ws.append([1, 2, 3])
    wb.save(tmp_path / "t.xlsx")
    raw = read_source(tmp_path / "t.xlsx")
    assert list(raw.frame.columns) == ["甲", "乙", "丙"]
    assert raw.frame.values.tolist() == [["1", "2", "3"]] and raw.row_numbers.tolist() == [4]


# --- files that are not what they say ---------------------------------------------------------


def test_password_protected_workbook_gets_a_clear_message(tmp_path):
    db = tmp_path / "g.db"
    result = gridmap("load", "member", FIXTURES / "roster-password.xlsx", db=db)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "设有打开密码" in result.stderr and "password-protected" in result.stderr
    assert "删除密码后另存" in result.stderr


def test_csv_named_xlsx_is_read_as_the_csv_it_is_with_a_warning(tmp_path):
    path = tmp_path / "党员.xlsx"
    text = (
        f"党员编号,姓名,手机号码,党员类别,经度,纬度\nM1,测试甲,10012345678,正式党员,{LON0},{LAT0}\n"
    )
    path.write_bytes(text.encode("gbk"))
    db = tmp_path / "g.db"
    out = loaded(gridmap("load", "member", path, db=db))
    assert "党员.xlsx 实际是文本表格 (CSV)，不是 Excel 工作簿，已按 CSV 读取" in out
    assert stored_members(db) == {"M1": ("测试甲", "10012345678", {})}


@pytest.mark.parametrize(
    "content,message",
    [
        (
            "<html><table><tr><td>姓名</td></tr></table></html>".encode(),
            "是网页 (HTML) 或 XML 格式的表格",
        ),
        (b"PK\x03\x04 damaged", "文件已损坏、不完整或不是 Excel/ODS 工作簿"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
            "文件已损坏、不完整或不是 Excel/ODS 工作簿",
        ),
        (b"%PDF-1.4", "的内容是PDF 文档"),
    ],
)
def test_damaged_and_disguised_workbooks_get_a_message_not_a_traceback(tmp_path, content, message):
    path = tmp_path / "党员.xls"
    path.write_bytes(content)
    with pytest.raises(InputFileError, match=re.escape(message)):
        read_source(path)


def test_cli_reports_a_damaged_workbook_without_a_traceback(tmp_path):
    good = roster_workbook(tmp_path / "good.xlsx").read_bytes()
    (tmp_path / "cut.xlsx").write_bytes(good[: len(good) // 2])
    result = gridmap("load", "member", tmp_path / "cut.xlsx", db=tmp_path / "g.db")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "无法读取工作簿 cut.xlsx" in result.stderr


def test_a_sheet_without_any_header_row_is_named_in_the_message(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "统计"
    wb.active["C3"] = 42
    wb.save(tmp_path / "表.xlsx")
    with pytest.raises(InputFileError, match=re.escape("表.xlsx 工作表 “统计”: 找不到表头行")):
        read_source(tmp_path / "表.xlsx")

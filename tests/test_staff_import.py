"""Importing the staff roster, property companies and owners' committees: bad rows are named by
row and field, nothing is written unless --skip-invalid, dates read as offices type them."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from factories import buildings_frame

from gridmap.errors import RowsRejectedError
from gridmap.io.dates import parse_date
from gridmap.loading import LoadOptions, load_file
from gridmap.store.db import make_engine
from gridmap.store.features import layer_counts, read_features

HEADER = "人员编号,姓名,手机,职务,服务范围,政治面貌,党员类别,入党时间,任职时间,值班电话\n"
GOOD = "RY1,测试甲,10012345678,党支部书记,XQ1,中共党员,正式党员,2001.7,2021年3月,100-8888\n"


@pytest.fixture
def engine(sqlite_settings, tmp_path):
    eng = make_engine(sqlite_settings)
    frame = buildings_frame(2).rename(columns={"编号": "code"})
    frame.to_file(tmp_path / "b.geojson")
    load_file(eng, "building", tmp_path / "b.geojson")
    (tmp_path / "c.csv").write_text(
        '编号,名称,WKT\nXQ1,测试小区,"POLYGON((104 30,104.01 30,104.01 30.01,104 30))"\n',
        encoding="utf-8",
    )
    load_file(eng, "compound", tmp_path / "c.csv")
    yield eng
    eng.dispose()


def roster(tmp_path, *rows: str, encoding: str = "utf-8"):
    path = tmp_path / "花名册.csv"
    path.write_text(HEADER + "".join(rows), encoding=encoding)
    return path


def test_a_good_roster_loads_with_its_dates_and_keeps_names_personal(engine, tmp_path):
    report = load_file(engine, "staff", roster(tmp_path, GOOD, encoding="gbk"))
    assert report.loaded == 1
    with engine.connect() as conn:
        public = read_features(conn, "staff")
        full = read_features(conn, "staff", include_personal=True)
    row = public.iloc[0]
    assert (row["role"], row["places"], row["party_member"], row["category"]) == (
        "secretary", "XQ1", True, "full")  # fmt: skip
    assert (row["joined_party"], row["took_post"], row["duty_phone"]) == (
        "2001-07-01", "2021-03-01", "100-8888")  # fmt: skip
    assert "name" not in public and "phone" not in public
    assert full.iloc[0]["name"] == "测试甲"


def test_every_bad_row_is_named_and_nothing_is_written(engine, tmp_path):
    path = roster(
        tmp_path,
        GOOD,
        "RY2,测试乙,10000000002,网格长,NOPE,群众,,,2021.3,\n",  # unknown place
        "RY3,测试甲,10012345678,党支部书记,XQ1,中共党员,正式党员,2001.7,2022-01-01,\n",  # twice
        "RY4,测试丙,10000000004,党小组长,XQ1,群众,,,2021.3,\n",  # post needs a member
        "RY5,测试丁,10000000005,楼栋长,XQ1,群众,,,2999-01-01,\n",  # in the future
        "RY6,测试戊,10000000006,楼栋长,XQ1,群众,,,2021,\n",  # a year alone
    )
    with pytest.raises(RowsRejectedError) as caught:
        load_file(engine, "staff", path)
    problems = {(p.row, p.field): p.reason_en for p in caught.value.problems}
    assert set(problems) == {(3, "places"), (4, "role"), (5, "party_member"), (6, "任职时间"),
                             (7, "任职时间")}  # fmt: skip
    assert "NOPE" in problems[(3, "places")] and "in row 2" in problems[(4, "role")]
    assert "future" in problems[(6, "任职时间")] and "year only" in problems[(7, "任职时间")]
    with engine.connect() as conn:
        assert layer_counts(conn)["staff"] == 0
    report = load_file(engine, "staff", path, LoadOptions(skip_invalid=True))
    assert report.loaded == 1


def test_property_and_committee_name_compounds_that_exist(engine, tmp_path):
    (tmp_path / "p.csv").write_text(
        "企业编号,企业名称,服务小区,从业人员,党员数,党组织,派驻党建指导员\n"
        "WY1,测试物业,XQ1,20,2,联合建立,否\nWY2,测试物业二,XQ9,5,0,未建立,否\n",
        encoding="utf-8",
    )
    with pytest.raises(RowsRejectedError) as caught:
        load_file(engine, "property", tmp_path / "p.csv")
    assert [(p.row, p.field) for p in caught.value.problems] == [(3, "compounds")]
    (tmp_path / "o.csv").write_text(
        "业委会编号,所在小区,委员人数,党员人数,交叉任职人数,党组织\nYW1,XQ1,5,0,1,功能型党支部\n",
        encoding="utf-8",
    )
    assert load_file(engine, "owners_committee", tmp_path / "o.csv").loaded == 1
    with engine.connect() as conn:
        committee = read_features(conn, "owners_committee").iloc[0]
    assert (committee["members"], committee["party_org"]) == (5, "functional")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2021.3", "2021-03-01"), ("2021.10", "2021-10-01"), ("2021年3月1日", "2021-03-01"),
     ("2021/3/1", "2021-03-01"), ("20210301", "2021-03-01"), ("44256", "2021-03-01"),
     ("2021-03-01 00:00:00", "2021-03-01"), ("2021.1", None), ("2021.13", None), ("3月", None),
     ("2021", None), ("2027.1.5", None)],
)  # fmt: skip
def test_dates_as_offices_type_them(text, expected):
    assert parse_date(text, date(2026, 12, 6))[0] == expected


def test_a_workbook_roster_reads_excel_dates_and_refuses_an_ambiguous_one(engine, tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["锦绣街道楼栋长名册"])  # a title row above the header, as offices have
    sheet.append(["人员编号", "姓名", "手机", "职务", "服务范围", "是否党员", "任职时间"])
    sheet.append(["R1", "测试甲", 10012345678, "楼栋长", "B000", "否", datetime(2021, 3, 1)])
    sheet.append(["R2", "测试乙", 10012345679, "楼栋长", "B001", "否", 44256])
    sheet.append(["R3", "测试丙", 10012345670, "楼栋长", "B001", "否", 2021.1])
    book.save(tmp_path / "名册.xlsx")
    with pytest.raises(RowsRejectedError) as caught:
        load_file(engine, "staff", tmp_path / "名册.xlsx")
    assert [(p.row, p.field) for p in caught.value.problems] == [(5, "任职时间")]
    load_file(engine, "staff", tmp_path / "名册.xlsx", LoadOptions(skip_invalid=True))
    with engine.connect() as conn:
        stored = read_features(conn, "staff")
    assert stored["took_post"].tolist() == ["2021-03-01", "2021-03-01"]
    assert "phone" not in stored  # personal, left out unless asked for

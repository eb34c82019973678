"""A roster without coordinates, loaded through the real command line into SpatiaLite and PostGIS:
placed by address, refused by row when an address names nothing, fixed in its match report and
loaded again."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from gridmap.store.db import make_engine
from gridmap.store.features import read_features

LON0, LAT0 = 104.10, 30.60
STEP = 0.002


def _square(x: float, y: float, size: float) -> str:
    x0, y0 = LON0 + x, LAT0 + y
    return (
        f"POLYGON(({x0} {y0},{x0 + size} {y0},{x0 + size} {y0 + size},{x0} {y0 + size},{x0} {y0}))"
    )


def _write(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def gridmap(url: str, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRIDMAP_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "gridmap.cli", *map(str, args)],
        capture_output=True, text=True, env=env, timeout=180,
    )  # fmt: skip


@pytest.fixture
def places(db_settings, tmp_path) -> str:
    """Two compounds (one with a former name), three buildings each, loaded as offices hand them."""
    url = db_settings.database_url
    compounds = _write(
        tmp_path / "小区.csv",
        ["小区编号", "小区名称", "曾用名", "WKT"],
        [["XQ1", "测试甲花园", "甲字大院", _square(0, 0, STEP)],
         ["XQ2", "测试甲花园二期", "", _square(STEP * 2, 0, STEP)]],
    )  # fmt: skip
    buildings = _write(
        tmp_path / "楼栋.csv",
        ["楼栋编号", "楼栋名称", "所属小区", "户数", "WKT"],
        [[f"{c}-{n}", f"{name}{n}栋", c, 20, _square(dx + n * STEP / 4, STEP / 2, STEP / 8)]
         for c, name, dx in (("XQ1", "测试甲花园", 0), ("XQ2", "测试甲花园二期", STEP * 2))
         for n in (1, 2, 3)],
    )  # fmt: skip
    for layer, path in (("compound", compounds), ("building", buildings)):
        result = gridmap(url, "load", layer, path)
        assert result.returncode == 0, result.stderr
    return url


ROSTER_HEADER = ["姓名", "手机号码", "住址", "党员类别"]
ROSTER = [
    ["测试甲", "10000000001", "测试甲花园3栋2单元501室", "正式党员"],
    ["测试乙", "10000000002", "锦绣街道测试甲花园二期一号楼1-302", "正式党员"],
    ["测试丙", "10000000003", "甲字大院2幢", "预备党员"],
    ["测试丁", "10000000004", "测试甲花圆二期3栋", "正式党员"],
]


def _members(url: str):
    engine = make_engine_for(url)
    with engine.connect() as conn:
        members = read_features(conn, "member", include_personal=True)
    engine.dispose()
    return members.sort_values("name").reset_index(drop=True)


def make_engine_for(url: str):
    from gridmap.config import Settings

    return make_engine(Settings(database_url=url))


def _inside(url: str, members) -> list[bool]:
    engine = make_engine_for(url)
    with engine.connect() as conn:
        buildings = read_features(conn, "building").set_index("code").geometry
    engine.dispose()
    return [
        buildings[b].contains(p)
        for b, p in zip(members["building_code"], members.geometry, strict=True)
    ]


def test_a_roster_of_addresses_is_placed_in_the_buildings_they_name(places, tmp_path):
    roster = _write(tmp_path / "党员.csv", ROSTER_HEADER, ROSTER)
    result = gridmap(places, "load", "member", roster)
    assert result.returncode == 0, result.stderr
    members = _members(places)
    assert members["name"].tolist() == ["测试丁", "测试丙", "测试乙", "测试甲"]
    assert members["building_code"].tolist() == ["XQ2-3", "XQ1-2", "XQ2-1", "XQ1-3"]
    assert all(_inside(places, members))
    # the counts by rule are printed; the addresses themselves never are
    out = " ".join(result.stdout.split())
    assert "名称 exact │ 2" in out and "别名 alias │ 1" in out and "近似 fuzzy │ 1" in out
    assert not any(row[2] in result.stdout + result.stderr for row in ROSTER)
    engine = make_engine_for(places)
    with engine.connect() as conn:
        logged = conn.execute(
            text("SELECT summary FROM change_log WHERE layer = 'member'")
        ).scalar()
    engine.dispose()
    summary = logged if isinstance(logged, dict) else json.loads(logged)
    assert summary["matches"]["exact"] == 2 and summary["matches"]["placed_by_address"] == 4
    assert "测试甲花园" not in json.dumps(summary, ensure_ascii=False)


def test_unmatched_rows_are_refused_by_row_then_fixed_in_the_match_report(places, tmp_path):
    rows = [*ROSTER, ["测试戊", "10000000005", "测试乙小区1栋", "正式党员"],
            ["测试己", "10000000006", "测试甲花园9栋", "正式党员"]]  # fmt: skip
    roster = _write(tmp_path / "党员.csv", ROSTER_HEADER, rows)
    report = tmp_path / "匹配.csv"
    refused = gridmap(places, "load", "member", roster, "--match-report", report)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    err = " ".join(refused.stderr.split())
    assert "第 6 行 (row 6), 字段 address: 无法按住址落位" in err
    assert "第 7 行 (row 7)" in err and "numbers: 1, 2, 3" in err
    assert len(_members(places)) == 0  # all or nothing

    with report.open(encoding="utf-8-sig") as f:
        table = list(csv.DictReader(f))
    assert [r["匹配状态 status"] for r in table] == ["matched"] * 4 + ["unmatched"] * 2
    assert [r["原行号 row"] for r in table] == ["2", "3", "4", "5", "6", "7"]
    assert table[2]["匹配规则 rule"] == "alias" and table[3]["置信度 confidence"] == "medium"
    table[4]["住址"], table[5]["住址"] = "测试甲花园1栋", "测试甲花园二期2栋"
    fixed = _write(tmp_path / "改正.csv", list(table[0]), [list(r.values()) for r in table])

    loaded = gridmap(places, "load", "member", fixed)
    assert loaded.returncode == 0, loaded.stderr
    members = _members(places)
    assert len(members) == 6 and all(_inside(places, members))
    assert members.set_index("name").loc[["测试戊", "测试己"], "building_code"].tolist() == [
        "XQ1-1", "XQ2-2",
    ]  # fmt: skip
    # the report's own columns do not become the members' properties
    assert not [k for p in members["properties"] for k in (p or {}) if "status" in k]
    again = gridmap(places, "load", "member", roster, "--skip-invalid")
    assert again.returncode == 0 and len(_members(places)) == 6  # same codes: updated, not doubled


def test_coordinates_far_from_the_address_are_reported_and_kept(places, tmp_path):
    rows = [["测试甲", "10000000001", "测试甲花园1栋", "正式党员", LON0 + 0.0003, LAT0 + 0.0013],
            ["测试乙", "10000000002", "测试甲花园1栋", "正式党员", LON0 + 0.03, LAT0 + 0.03]]  # fmt: skip
    roster = _write(tmp_path / "党员.csv", [*ROSTER_HEADER, "经度", "纬度"], rows)
    result = gridmap(places, "load", "member", roster)
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert (
        "1 行的住址与表中坐标相距超过 100 米" in out and "第 3 行" in out and "第 2 行" not in out
    )
    far = _members(places).set_index("name").geometry["测试乙"]
    assert (far.x, far.y) == pytest.approx((LON0 + 0.03, LAT0 + 0.03))


def test_separate_compound_building_and_room_columns(places, tmp_path):
    roster = _write(
        tmp_path / "党员.csv",
        ["姓名", "党员类别", "小区", "楼号", "门牌号"],
        [["测试甲", "正式党员", "测试甲花园", "2", "1-1201"],
         ["测试乙", "正式党员", "测试甲花园二期", "3号楼", "2单元101"]],
    )  # fmt: skip
    result = gridmap(places, "load", "member", roster)
    assert result.returncode == 0, result.stderr
    members = _members(places)
    assert members["building_code"].tolist() == ["XQ2-3", "XQ1-2"]
    assert members["address"].tolist() == ["测试甲花园二期3号楼2单元101", "测试甲花园2栋1-1201"]


def test_half_empty_addresses_are_named_by_row_and_nothing_is_written(places, tmp_path):
    rows = [["测试甲", "10000000001", "测试甲花园1栋", "正式党员"],
            ["测试乙", "10000000002", "", "正式党员"]]  # fmt: skip
    roster = _write(tmp_path / "党员.csv", ROSTER_HEADER, rows)
    result = gridmap(places, "load", "member", roster)
    assert result.returncode == 2
    assert "第 3 行 (row 3), 字段 address: 住址为空" in " ".join(result.stderr.split())
    assert len(_members(places)) == 0


def test_the_same_person_twice_is_refused_by_row(places, tmp_path):
    roster = _write(tmp_path / "党员.csv", ROSTER_HEADER, [ROSTER[0], ROSTER[1], ROSTER[0]])
    result = gridmap(places, "load", "member", roster)
    assert result.returncode == 2
    assert "第 4 行 (row 4), 字段 code" in result.stderr and "与第 2 行重复" in result.stderr
    assert len(_members(places)) == 0


def test_a_workbook_roster_with_the_address_under_a_two_level_header_is_placed(places, tmp_path):
    import openpyxl

    from gridmap.loading import load_file

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["锦绣街道党员花名册"])
    ws.merge_cells("A1:G1")
    ws.append(["姓名", "手机号码", "党员类别", "住址", None, None, None])
    ws.merge_cells("D2:G2")
    ws.append([None, None, None, "小区", "楼栋", "单元", "门牌号"])
    ws.append(["测试甲", 10000000001, "正式党员", "测试甲花园", "三栋", 2, 501])
    ws.append(["测试乙", 10000000002, "正式党员", "甲字大院", 1, None, "1-101"])
    path = tmp_path / "花名册.xlsx"
    wb.save(path)
    engine = make_engine_for(places)
    report = load_file(engine, "member", path)
    engine.dispose()
    assert (report.loaded, report.matches.counts["alias"]) == (2, 1)
    members = _members(places)
    assert members["building_code"].tolist() == ["XQ1-1", "XQ1-3"]
    assert members["phone"].tolist() == ["10000000002", "10000000001"]
    assert members["address"].tolist() == ["甲字大院1栋1-101", "测试甲花园三栋2单元501"]

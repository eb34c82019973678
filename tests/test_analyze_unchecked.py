"""``gridmap analyze`` on data with columns missing: the checks it could not run are listed in the
summary, the store and report.json with why, and report no findings instead of false ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from unchecked_demo import UNCHECKED, incomplete_database

from gridmap.config import Settings
from gridmap.store.db import make_engine
from gridmap.store.results import latest_run, read_gaps, run_summary


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("unchecked")
    url = f"sqlite:///{folder / 'gridmap.db'}"
    reports, result = incomplete_database(url, folder / "data", folder / "out")
    return url, reports, result, folder / "out"


def test_the_load_reports_named_the_near_miss_and_the_checks_that_will_not_run(analysed):
    _url, reports, _result, _out = analysed
    by_layer = {r.layer: r.warnings for r in reports}
    assert any("--field 物业有党组织=property_has_org" in w for w in by_layer["compound"])
    assert any("property_without_org cannot be checked" in w for w in by_layer["compound"])
    assert any("member_not_reported cannot be checked" in w for w in by_layer["member"])


def test_report_json_lists_every_kind_it_could_not_check_with_why(analysed):
    _url, _reports, _result, out = analysed
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    unchecked = doc["summary"]["unchecked"]
    assert [u["kind"] for u in unchecked] == UNCHECKED
    red = unchecked[1]
    assert red["reason_zh"].startswith("小区数据中没有一列说明物业企业是否建立党组织")
    assert red["reason_en"].startswith(
        "no column says whether a property company has a Party organisation"
    )
    assert unchecked[2]["reason_en"] == "no Party service centres or stations are loaded"
    # not zero findings: no count and no finding of a kind that was not checked
    assert not set(UNCHECKED) & set(doc["summary"]["gaps"])
    assert not {g["kind"] for g in doc["gaps"]} & set(UNCHECKED)


def test_in_service_members_are_not_all_called_unreported_when_nobody_said(analysed):
    url, _reports, result, _out = analysed
    # the roster says who is in service (在职党员) but not who reported: before, every one of them
    # was a member_not_reported finding
    assert (result.gaps["kind"] == "member_not_reported").sum() == 0
    engine = make_engine(Settings(database_url=url))
    with engine.connect() as conn:
        run = latest_run(conn, "analyze")
        stored = run_summary(conn, run)["unchecked"]
        kinds = set(read_gaps(conn)["kind"])
    engine.dispose()
    assert [u["kind"] for u in stored] == UNCHECKED
    assert not kinds & set(UNCHECKED)
    # the checks that had their inputs still ran
    assert {"compound_without_org", "grid_without_member", "branch_too_large"} <= kinds


def test_gridmap_analyze_prints_each_kind_not_checked_and_why(analysed):
    url = analysed[0]
    env = {**os.environ, "GRIDMAP_DATABASE_URL": url, "COLUMNS": "200"}
    run = subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "analyze"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    table = run.stdout[run.stdout.index("未能检查的问题类型 / kinds not checked") :]
    assert [k for k in UNCHECKED if k in table] == UNCHECKED
    assert "物业未建党组织 (红色物业)" in table and "未导入党群服务中心 / 站" in table

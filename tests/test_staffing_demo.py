"""The demo's people who serve the places: every planted vacancy and reminder found by kind, name
and community, on SpatiaLite and PostGIS, and never a person's name or phone in a finding."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from factories import finds
from fastapi.testclient import TestClient

from gridmap.api.app import create_app
from gridmap.auth import add_account, issue_token
from gridmap.cli import DEMO_DATA, load_demo
from gridmap.config import Settings
from gridmap.exporting import export_layer
from gridmap.runs import run_analyze
from gridmap.store.db import make_engine, transaction
from gridmap.store.features import read_features
from gridmap.store.results import read_gaps

PLANTED = json.loads((Path(DEMO_DATA).parent / "planted_people.json").read_text(encoding="utf-8"))
AS_OF = "2026-12-01"  # the date the demo's Party ages and terms were planted for


@pytest.fixture(scope="module", params=["spatialite", "postgis"])
def staffed(request, tmp_path_factory):
    """The demo loaded and analysed once per database; its engine and stored gaps."""
    if request.param == "spatialite":
        url = f"sqlite:///{tmp_path_factory.mktemp('staffing') / 'demo.db'}"
    else:
        url = request.getfixturevalue("postgis_cluster").create_db("staffing_demo")
    settings = Settings(database_url=url, staffing_as_of=AS_OF)
    engine = make_engine(settings)
    load_demo(engine, DEMO_DATA)
    result = run_analyze(engine, settings)
    with engine.connect() as conn:
        gaps = read_gaps(conn)
    yield engine, result, gaps, settings
    engine.dispose()


def test_every_planted_vacancy_is_found_by_name_and_place(staffed):
    _engine, result, gaps, _ = staffed
    records = gaps.to_dict("records")
    found = {
        p["kind"]: sorted({(g["name"], g["community_code"]) for g in records if finds(g, p)})
        for p in PLANTED
    }
    assert found == {p["kind"]: [(p["name"], p["community_code"])] for p in PLANTED}
    assert {k for k in result.summary["gaps"] if k in found} == set(found)
    assert len(found) == 11 and result.summary["unchecked"] == []


def test_the_summary_counts_compounds_with_red_property_from_the_demos_companies(staffed):
    """红色物业小区占比, counted here from property.csv: a compound with households is red when
    any company serving it has its own or a joint Party organisation."""
    _engine, result, _gaps, _ = staffed
    with (Path(DEMO_DATA) / "property.csv").open(encoding="utf-8") as f:
        firms = list(csv.DictReader(f))
    red: dict[str, bool] = {}
    for firm in firms:
        for code in firm["服务小区"].split(";"):
            red[code] = red.get(code, False) or firm["党组织"] in ("单独建立", "联合建立")
    compounds = result.figures[result.figures["level"] == "compound"]
    homes = compounds[compounds["households"] > 0]
    flags = {c: red[c] for c in homes["code"] if c in red}
    staffing = result.summary["staffing"]
    assert staffing[""]["red_property_rate"] == round(sum(flags.values()) / len(flags), 4)
    assert 0 < staffing[""]["red_property_rate"] < 1 and not flags["XQ017"]  # 南苑物业, none
    community_of = dict(zip(homes["code"], homes["community_code"], strict=True))
    for community in {community_of[c] for c in flags}:
        mine = [ok for c, ok in flags.items() if community_of[c] == community]
        assert staffing[community]["red_property_rate"] == round(sum(mine) / len(mine), 4)


def test_findings_name_places_and_posts_never_people(staffed):
    engine, _result, gaps, _ = staffed
    with engine.connect() as conn:
        staff = read_features(conn, "staff", include_personal=True)
    texts = " ".join(gaps[["name", "message_zh", "message_en"]].fillna("").to_numpy().ravel())
    assert not any(name in texts for name in staff["name"])
    assert not any(phone in texts for phone in staff["phone"])
    assert (
        staff["phone"].str.fullmatch(r"100\d{8}").all() and staff["name"].str.contains("演示").all()
    )


def test_the_roster_leaves_personal_fields_out_of_exports(staffed, tmp_path):
    engine, _result, _gaps, _ = staffed
    path, n = export_layer(engine, "staff", tmp_path / "staff.csv")
    text = path.read_text(encoding="utf-8-sig")
    assert n > 500 and "演示" not in text and ",1009" not in text  # names and phones left out
    assert "100-8800-" in text  # the public duty phone stays


def test_the_api_serves_the_roster_to_no_one_without_the_right(staffed):
    engine, _result, _gaps, settings = staffed
    with transaction(engine) as conn:
        for name, role in (("测试查看者", "viewer"), ("测试管理员", "admin")):
            add_account(conn, name, role, "510199001" if role != "admin" else None, "pw-not-secret-1", "tests")  # fmt: skip
        viewer, admin = (
            issue_token(conn, n, "tests", "tests") for n in ("测试查看者", "测试管理员")
        )
    with TestClient(create_app(settings)) as client:

        def get(path: str, token: str):
            return client.get(path, headers={"Authorization": f"Bearer {token}"})

        assert get("/api/export/staff?format=csv", viewer).status_code == 403
        assert get("/api/layers/staff/features", admin).status_code == 404  # never a map layer
        listed = {row["layer"]: row["count"] for row in get("/api/layers", viewer).json()}
        assert listed["staff"] == 550 and listed["owners_committee"] == 32
        allowed = get("/api/export/staff?format=csv&include_personal=true", admin)
        assert allowed.status_code == 200 and "演示" in allowed.text

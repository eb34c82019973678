"""What the map's staffing choropleths and compound panel read: the staffing rates in the unit
figures (/api/figures) — the summary's rates for every community and the subdistrict, and per
unified cell; a planted vacancy reads as not covered — and a compound's property company and
owners' committee (/api/people?level=compound), names masked by role, duty phones for all.

One real server per database on the analysed demo (its staff are fictional: 邓演示0528 …).
"""

from __future__ import annotations

import csv

import httpx
import pytest
from servers import ADMIN, demo_server, headers

from gridmap.cli import DEMO_DATA

VIEWER, COORDINATOR = "查看者", "社区协调员"  # the subdistrict, masked; 锦绣社区 only
GUIHUA, YULIN = "510199001003", "510199001005"
with (DEMO_DATA / "property.csv").open(encoding="utf-8") as f:
    FIRMS = list(csv.DictReader(f))


@pytest.fixture(scope="module", params=["spatialite", "postgis"])
def server(request, tmp_path_factory):
    yield from demo_server(request, tmp_path_factory, "peoplemap")


def get(base: str, path: str, who: str = ADMIN, **params) -> httpx.Response:
    return httpx.get(base + path, params=params, headers=headers(base, who), timeout=60)


def figures(base: str, level: str) -> dict[str, dict]:
    return {f["code"]: f for f in get(base, "/api/figures", level=level).json()}


def test_the_figures_carry_the_summarys_staffing_rates_for_every_community(server):
    staffing = get(server, "/api/summary").json()["staffing"]
    rows = {**figures(server, "community"), "": figures(server, "subdistrict")[""]}
    assert set(rows) == set(staffing) and len(rows) == 7
    for code, rates in staffing.items():
        for key in ("grid_staffed_rate", "qualified_secretary_rate"):
            assert rows[code][key] == rates[key], (code, key)
    assert rows[GUIHUA]["grid_staffed_rate"] == 0.875  # DJ304 of 8 grids has no worker
    assert rows[YULIN]["qualified_secretary_rate"] < 1  # 锦绣雅居党支部 has no secretary


def test_a_cell_is_staffed_as_its_base_grid_and_the_planted_vacancy_is_not(server):
    cells = figures(server, "grid")
    guihua = {c: f["grid_staffed_rate"] for c, f in cells.items() if f["community_code"] == GUIHUA}
    # DJ304 (桂花社区第4网格, planted grid_without_worker) is the fourth cell; the others staffed
    assert guihua == {f"{GUIHUA}00{i}": 0.0 if i == 4 else 1.0 for i in range(1, 9)}
    # every compound's cell counts the branches covering its compounds: 锦绣雅居党支部 (no
    # secretary) covers one in 玉林社区's second cell, with three qualified ones
    assert cells[f"{YULIN}002"]["qualified_secretary_rate"] == 0.75
    assert all(f["level"] == "grid" for f in cells.values())


def test_compounds_with_red_property_are_counted_from_the_property_companies(server):
    compounds = figures(server, "compound")
    red: dict[str, bool] = {}
    for firm in FIRMS:
        for code in firm["服务小区"].split(";"):
            red[code] = red.get(code, False) or firm["党组织"] in ("单独建立", "联合建立")
    by_community: dict[str, list[bool]] = {}
    for code, ok in red.items():
        if compounds.get(code, {}).get("households"):
            by_community.setdefault(compounds[code]["community_code"], []).append(ok)
    communities = figures(server, "community")
    for code, flags in by_community.items():
        assert communities[code]["red_property_rate"] == round(sum(flags) / len(flags), 4), code
    # 南苑花园 (XQ017, served by 南苑物业, no Party organisation) keeps 锦绣社区 below 100 %
    assert not red["XQ017"] and communities["510199001001"]["red_property_rate"] < 1
    assert all(f["red_property_rate"] is None for f in compounds.values())


def test_a_compound_shows_its_property_company_and_owners_committee(server):
    answer = get(server, "/api/people", level="compound", code="XQ144").json()
    assert answer["place"] == "书香雅居（XQ144）" and not answer["masked"]
    [firm] = answer["property"]
    assert (firm["code"], firm["name"], firm["party_org"], firm["party_org_zh"], firm["red"]) == (
        "WY02", "书香物业服务有限公司", "yes", "单独建立", True)  # fmt: skip
    assert [(p["role"], p["name"]) for p in firm["instructors"]] == [("instructor", "邓演示0528")]
    assert firm["instructors"][0]["phone"] == "10090000528"
    [committee] = answer["owners_committee"]
    assert (committee["name"], committee["members"], committee["party_members"],
            committee["cross_serving"], committee["party_org_zh"]) == (
        "书香雅居业主委员会", 5, 1, 1, "功能型党支部")  # fmt: skip
    red = get(server, "/api/people", level="compound", code="XQ017").json()["property"][0]
    assert (red["party_org"], red["red"]) == ("none", False)


def test_a_viewer_reads_the_instructor_masked_and_a_coordinator_nothing_outside(server):
    answer = get(server, "/api/people", level="compound", code="XQ144", who=VIEWER)
    assert answer.status_code == 200 and answer.json()["masked"]
    instructor = answer.json()["property"][0]["instructors"][0]
    assert instructor["name"] == "邓*****8" and "phone" not in instructor
    assert instructor["duty_phone"] == "100-8800-0528"  # the demo's, public: shown to every role
    assert "演示" not in answer.text and "10090000528" not in answer.text
    # XQ144 lies in 玉林社区, outside the coordinator's 锦绣社区
    assert get(server, "/api/people", level="compound", code="XQ144", who=COORDINATOR).status_code == 404  # fmt: skip

"""/api/summary carries the gap kinds the latest analysis could not check, with why, for the map's
legend (and as the viewer's role sees it)."""

from __future__ import annotations

import pytest
from servers import headers, http, start_server
from unchecked_demo import UNCHECKED, incomplete_database


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uncheckedapi")
    url = f"sqlite:///{folder / 'gridmap.db'}"
    incomplete_database(url, folder / "data")
    proc, base = start_server(url)
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def test_summary_lists_the_kinds_not_checked_with_reasons(server):
    body = http.get(server + "/api/summary", timeout=30).json()
    assert [u["kind"] for u in body["unchecked"]] == UNCHECKED
    red = {u["kind"]: u for u in body["unchecked"]}["property_without_org"]
    assert set(red) == {"kind", "reason_zh", "reason_en"}
    assert "物业党组织" in red["reason_zh"] and "Party organisation" in red["reason_en"]
    assert not set(UNCHECKED) & set(body["gaps"])


def test_a_viewer_gets_the_same_list(server):
    body = http.get(server + "/api/summary", headers=headers(server, "查看者"), timeout=30).json()
    assert [u["kind"] for u in body["unchecked"]] == UNCHECKED


def test_gap_requests_for_a_kind_not_checked_return_nothing(server):
    got = http.get(server + "/api/gaps/list", params={"kind": "property_without_org"}, timeout=30)
    assert got.status_code == 200
    assert got.json()["total"] == 0

"""The printable comparison of two plans (/plans/compare) in headless Chromium, reached from the
editor's diff panel: table, map of the differences, A4 print, nothing asked outside the app."""

from __future__ import annotations

import re

import pytest
from servers import demo_database, http

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    """The demo without its analysis: comparing plans needs the layers only."""
    return demo_database(f"sqlite:///{tmp_path_factory.mktemp('compare') / 'demo.db'}", analyse=False)  # fmt: skip


def test_the_comparison_page_prints_scores_and_a_map_of_what_changes_grid(desktop, demo_server):
    plan = http.post(f"{demo_server}/api/plans", json={"name": "比较测试方案", "grid_layer": "party"}).json()  # fmt: skip
    cells = http.get(f"{demo_server}/api/plans/{plan['id']}").json()["cells"]
    for f in cells["features"]:
        f["properties"]["code"] = "DJ199" if f["properties"]["code"] == "DJ101" else f["properties"]["code"]  # fmt: skip
    saved = http.put(f"{demo_server}/api/plans/{plan['id']}", json={"version": 1, "cells": cells})
    assert saved.status_code == 200, saved.text
    editor = http.get(f"{demo_server}/editor", params={"plan": plan["id"]}).text
    href = re.search(r'id="compare-link" href="([^"]+)"', editor).group(1).replace("&amp;", "&")
    assert href == f"/plans/compare?a=layer:party&b={plan['id']}"

    page = desktop.page
    page.goto(demo_server + href)
    page.wait_for_function("document.getElementById('compare-map').dataset.drawn === '1'")
    row = page.locator('#scores tr[data-key="households_moved"] td.n').inner_text()
    assert row == "A → B：477"
    assert page.locator('#scores tr[data-key="cells"] td.n').all_inner_texts() == ["42", "42"]
    assert page.locator("#differences tbody tr td").all_inner_texts()[:2] == ["DJ101", "DJ199"]
    assert page.locator("#compare-map path.leaflet-interactive").count() == 1
    page.emulate_media(media="print")
    assert page.evaluate("getComputedStyle(document.querySelector('header')).display") == "none"
    assert page.locator("#compare-map").is_visible()
    assert page.pdf(format="A4").startswith(b"%PDF")

"""The map's legend shows a gap kind the analysis could not check greyed, as 未能检查 with why —
never as a count of zero — and the demo, which has every column, shows none."""

from __future__ import annotations

import pytest
from servers import start_server
from unchecked_demo import UNCHECKED, incomplete_database


@pytest.fixture(scope="module")
def incomplete_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uncheckedweb")
    url = f"sqlite:///{folder / 'gridmap.db'}"
    incomplete_database(url, folder / "data")
    proc, base = start_server(url)
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def _legend(page) -> list[dict]:
    return page.evaluate(
        """() => [...document.querySelectorAll('#gap-kinds li')].map((li) => ({
            kind: li.dataset.kind || li.querySelector('input')?.dataset.kind,
            unchecked: li.classList.contains('unchecked'),
            count: li.querySelector('.count')?.textContent.trim(),
            title: li.title,
            text: li.textContent,
            ticks: li.querySelectorAll('input').length,
            colour: getComputedStyle(li).color,
        }))"""
    )


def test_legend_shows_each_kind_not_checked_greyed_with_its_reason(page_at, incomplete_server):
    watched = page_at(incomplete_server)
    page = watched.open()
    page.wait_for_function("document.getElementById('map').dataset.unchecked !== undefined")
    rows = _legend(page)
    greyed = [r for r in rows if r["unchecked"]]
    assert [r["kind"] for r in greyed] == UNCHECKED
    red = greyed[1]
    assert red["count"] == "未能检查 not checked" and red["ticks"] == 0
    assert red["title"].startswith("未能检查：小区数据中没有一列说明物业企业是否建立党组织")
    assert (
        "Not checked: no column says whether a property company has a Party organisation"
        in (red["title"])
    )
    assert "物业未建党组织 (红色物业)" in red["text"] and "没有一列说明物业企业" in red["text"]
    assert red["colour"] == "rgb(85, 85, 85)"  # greyed, yet readable (4.5:1 and more)
    # a kind not checked is nowhere a zero, and the kinds that were checked keep their counts
    assert not any(r["kind"] in UNCHECKED and not r["unchecked"] for r in rows)
    counted = {r["kind"]: r["count"] for r in rows if not r["unchecked"]}
    assert "0" not in counted.values() and int(counted["compound_without_org"]) >= 1
    page.locator("#gap-kinds li.unchecked").last.scroll_into_view_if_needed()
    watched.shot("legend-unchecked.png")
    assert watched.outside == [] and watched.errors == []


def test_demo_legend_has_nothing_unchecked(desktop):
    page = desktop.open()
    page.wait_for_function("document.getElementById('map').dataset.unchecked !== undefined")
    assert desktop.data("unchecked") == ""
    assert [r for r in _legend(page) if r["unchecked"]] == []

"""Who serves the places, on the map in a real browser (analysed demo, SpatiaLite): the staffing
choropleths coloured as the unit figures' rates say — a planted vacancy red —, the staffing
findings under their own heading in the legend and by their Chinese names in the gap list, and a
compound's property company and owners' committee in the panel, the instructor's name masked
for a role that may not see names and the public duty phone shown to every role."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator

import pytest
from servers import ADMIN, http, start_server

from gridmap.cli import DEMO_DATA

RATE_RAMP = ["#b2182b", "#ef8a62", "#fee08b", "#a6d96a", "#1a9850"]  # map-theme.js, red to green
THEMES = ("grid_staffed_rate", "qualified_secretary_rate", "red_property_rate")
PEOPLE_KINDS = [p["kind"] for p in json.loads((DEMO_DATA.parent / "planted_people.json").read_text("utf-8"))]  # fmt: skip
GUIHUA = "510199001003"  # 桂花社区, where DJ304 has no grid worker (planted)
DJ304_CELL = "510199001003004"
with (DEMO_DATA / "staff.csv").open(encoding="gbk") as f:  # the demo's roster, as offices save it
    # the public duty phone of WY02's instructor (邓演示0528), who serves 书香雅居 (XQ144)
    DUTY = next(r["值班电话"] for r in csv.DictReader(f) if r["人员编号"] == "RY0528")


@pytest.fixture(scope="module")
def people_server(demo_db) -> Iterator[str]:
    proc, base = start_server(demo_db)
    yield base
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def admin(page_at, people_server):
    yield from _clean(page_at(people_server, ADMIN))


@pytest.fixture
def viewer(page_at, people_server):
    yield from _clean(page_at(people_server, "查看者"))


def _clean(watched):
    """The page; after the test, nothing asked of another host and no console error."""
    yield watched
    assert watched.outside == [] and watched.errors == [], (watched.outside, watched.errors)


def colour(rate: float | None) -> str:
    if rate is None:
        return "#bdbdbd"
    return RATE_RAMP[min(len(RATE_RAMP) - 1, math.floor(rate * len(RATE_RAMP)))]


def figures(base: str, level: str) -> list[dict]:
    return http.get(base + "/api/figures", params={"level": level}).json()


def shown_colours(page, theme: str, level: str, count: int) -> dict[str, str]:
    """Choose ``theme``; once its ``count`` units of ``level`` are drawn, each one's fill."""
    page.select_option("#theme-select", theme)
    page.wait_for_function(
        f"""document.getElementById('map').dataset.themeLevel === '{level}'
        && document.getElementById('map').dataset.theme === '{theme}'
        && document.querySelectorAll('.leaflet-choropleth-pane path.theme-unit[data-code]').length === {count}"""
    )  # fmt: skip
    return page.evaluate("""Object.fromEntries([...document.querySelectorAll(
        '.leaflet-choropleth-pane path.theme-unit[data-code]')].map((p) => [p.dataset.code, p.getAttribute('fill')]))""")  # fmt: skip


def test_each_staffing_theme_colours_communities_then_grids_as_their_rates(admin, people_server):
    page = admin.open()
    communities = figures(people_server, "community")
    for theme in THEMES:
        shown = shown_colours(page, theme, "community", len(communities))
        assert shown == {f["code"]: colour(f[theme]) for f in communities}, theme
        assert page.locator("#theme-legend").inner_text().startswith("0.0%")
    # a coordinator's legend says what a grid's rate counts, Chinese first
    page.locator(f"#children a[data-code='{GUIHUA}']").click()
    page.wait_for_function("document.getElementById('map').dataset.level === 'community'")
    cells = [f for f in figures(people_server, "grid") if f["community_code"] == GUIHUA]
    for theme in THEMES:
        shown = shown_colours(page, theme, "grid", len(cells))
        assert shown == {f["code"]: colour(f[theme]) for f in cells}, theme
    shown = shown_colours(page, "grid_staffed_rate", "grid", len(cells))
    assert shown[DJ304_CELL] == RATE_RAMP[0]  # the planted vacancy: red, not covered
    assert [c for c, fill in shown.items() if fill != RATE_RAMP[-1]] == [DJ304_CELL]
    shown_colours(page, "qualified_secretary_rate", "grid", len(cells))
    note = page.locator("#theme-legend .theme-note").inner_text()
    assert (
        note.startswith("网格不设支部：按覆盖本网格内小区的党支部")
        and "grids have no branch" in note
    )
    page.select_option("#theme-select", "")
    # the grid's own staffing rates in its panel: DJ304's cell has no worker
    page.locator(f"#children a[data-code='{DJ304_CELL}']").click()
    page.wait_for_function("document.querySelector('#figures tr.staffing') !== null")
    rows = page.locator("#figures tr.staffing").all_inner_texts()
    cell = next(f for f in cells if f["code"] == DJ304_CELL)
    named = (("grid_staffed_rate", "网格员配备率"), ("qualified_secretary_rate", "书记达标率"),
             ("red_property_rate", "红色物业小区占比"))  # fmt: skip
    expected = [f"{zh} {100 * cell[k]:.1f}%" for k, zh in named if cell[k] is not None]
    assert [" ".join(r.split()) for r in rows] == expected and expected[0] == "网格员配备率 0.0%"


def test_the_staffing_findings_are_grouped_in_the_legend_and_named_in_chinese_in_the_list(admin):
    page = admin.open()
    rows = page.evaluate("""[...document.querySelectorAll('#gap-kinds > li')].map((li) =>
        li.classList.contains('legend-group') ? 'HEADING:' + li.textContent.trim()
        : li.querySelector('input')?.dataset.kind || li.dataset.kind)""")
    heading = rows.index("HEADING:服务人员与物业 people and property")
    assert sorted(rows[heading + 1 : heading + 12]) == sorted(PEOPLE_KINDS)
    assert not set(PEOPLE_KINDS) & set(rows[:heading] + rows[heading + 12 :])
    labels = {g["kind"]: g["label_zh"] for g in json.loads(page.locator("#map").get_attribute("data-config"))["gaps"]}  # fmt: skip
    page.wait_for_function("Number(document.getElementById('map').dataset.gapListed) > 0")
    for kind in ("grid_without_worker", "secretary_not_qualified", "property_without_instructor"):
        item = page.locator(f"#gap-list a[data-kind='{kind}']").first
        assert item.inner_text().startswith(labels[kind] + " · "), kind


def open_compound(page, code: str) -> None:
    """Frame the compound at zoom 15 (buildings not drawn yet) and click inside it."""
    hits = http.get(page.url.split("/map")[0] + "/api/search", params={"q": code}).json()
    hit = next(h for h in hits if h["code"] == code)
    west, south, east, north = hit["bbox"]
    page.evaluate(f"gridmap.map.setView([{(south + north) / 2}, {(west + east) / 2}], 15)")
    page.wait_for_function(f"gridmap.index.has('compound:{code}') && gridmap.map.hasLayer(gridmap.index.get('compound:{code}'))")  # fmt: skip
    box = page.locator("#map").bounding_box()
    x, y = page.evaluate(f"""(() => {{ const l = gridmap.index.get('compound:{code}');
        const p = gridmap.map.latLngToContainerPoint(l.getCenter()); return [p.x, p.y]; }})()""")
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_function(f"document.getElementById('compound-people').dataset.ready === '{code}'")


def test_a_compound_click_shows_its_property_company_and_owners_committee(admin):
    page = admin.open()
    open_compound(page, "XQ144")
    assert "书香雅居" in page.locator(".leaflet-popup-content .title").inner_text()
    panel = page.locator("#compound-people")
    assert panel.is_visible()
    firm = panel.locator(".property[data-code='WY02']")
    assert (
        "书香物业服务有限公司" in firm.locator("h3").inner_text()
        and "红色物业" in firm.inner_text()
    )
    assert "单独建立" in firm.inner_text() and "邓演示0528" in firm.inner_text()
    assert firm.locator(f"a[href='tel:{DUTY.replace('-', '')}']").inner_text() == DUTY
    committee = panel.locator(".owners-committee").inner_text()
    assert "书香雅居业主委员会" in committee and "功能型党支部" in committee
    cross = panel.locator(".owners-committee tr", has_text="交叉任职").locator("td")
    assert cross.inner_text() == "1"


def test_a_viewer_reads_the_instructor_masked_and_the_duty_phone(viewer):
    page = viewer.open()
    open_compound(page, "XQ144")
    firm = page.locator("#compound-people .property[data-code='WY02']").inner_text()
    assert DUTY.startswith("100-") and "邓*****8" in firm and "演示" not in firm and DUTY in firm
    assert "10090000528" not in page.content()
    assert "姓名已脱敏" in page.locator("#compound-people").inner_text()

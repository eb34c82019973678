"""Daily use of the map (issue 22) at a desktop and on a phone: places read by names with their
codes in small print, a next step in every finding, the panel, legend, list and export following
the drill-down, a calm first view.

One server and one page per screen size for the module; codes and names are read from the API,
never assumed from the demo's counts.
"""

from __future__ import annotations

import re

import pytest

from gridmap.core.gaps import NEXT_STEPS

MACHINE_KEYS = re.compile(r"\b(?:uncovered_area|compound_without_org|grid:\w+|grid_overlap)\b")


def api(watched, path: str):
    answer = watched.page.context.request.get(watched.base + path)
    assert answer.ok, answer.text()
    return answer.json()


def community_names(watched) -> dict[str, str]:
    return {f["code"]: f["name"] for f in api(watched, "/api/figures?level=community")}


def first_gap(watched, kind: str) -> dict:
    listed = api(watched, f"/api/gaps/list?kind={kind}&limit=1")["gaps"]
    assert listed, f"the demo has no {kind}"
    return listed[0]


def open_from_list(page, gap: dict):
    page.locator(f"#gap-list a[data-kind='{gap['kind']}'][data-code='{gap['code']}']").first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.locator(".next").wait_for()
    return popup


@pytest.mark.parametrize("screen", ["desk", "handset"])
def test_a_gap_of_land_is_titled_by_its_community_with_a_next_step_and_links(screen, request):
    watched = request.getfixturevalue(screen)
    page = watched.open()
    gap = first_gap(watched, "uncovered_area")
    name = community_names(watched)[gap["community_code"]]
    popup = open_from_list(page, gap)
    text = popup.inner_text()
    title = text.splitlines()[0]
    assert title == f"留白 (社区内无网格覆盖) · {name} {gap['community_code']}"
    assert f"{name}（{gap['community_code']}）" in text  # the message names it too
    zh, en = NEXT_STEPS["uncovered_area"]
    assert f"下一步 {zh}" in text and en in text
    assert not MACHINE_KEYS.search(text), text
    # the code is in small print, the name is not
    small = popup.locator(".title small.code").first.inner_text()
    assert small == gap["community_code"]
    # the link to the figures drives the panel to the community
    popup.locator(f"a[data-level='community'][data-code='{gap['community_code']}']").click()
    page.wait_for_function("document.getElementById('map').dataset.level === 'community'")
    assert name in page.inner_text("#crumbs")


def test_a_compound_without_organisation_reads_its_name_and_offers_its_proposals(desk):
    page = desk.open()
    gap = first_gap(desk, "compound_without_org")
    compound = api(desk, f"/api/search?q={gap['code']}&limit=5")
    name = next(h["name"] for h in compound if h["code"] == gap["code"])
    assert name, "the demo's compounds have names"
    item = page.locator(f"#gap-list a[data-kind='compound_without_org'][data-code='{gap['code']}']")
    assert item.inner_text().startswith(f"小区无党组织覆盖 · {name} {gap['code']}")
    popup = open_from_list(page, gap)
    text = popup.inner_text()
    assert f"小区{name}（{gap['code']}）" in text and NEXT_STEPS["compound_without_org"][0] in text
    assert not MACHINE_KEYS.search(text), text
    popup.locator("a.proposals-link").click()
    page.wait_for_function("document.getElementById('map').dataset.level === 'community'")
    page.wait_for_function("Number(document.getElementById('map').dataset.loaded_proposals) > 0")


def legend_counts(page) -> dict[str, int]:
    return dict(
        page.evaluate("""[...document.querySelectorAll('#gap-kinds input')].map((i) =>
            [i.dataset.kind, Number(i.closest('label').querySelector('.count').textContent)])""")
    )


def shown_total(page, counts: dict[str, int]) -> int:
    shown = page.evaluate("document.getElementById('map').dataset.gapsShown").split(",")
    return sum(counts.get(k, 0) for k in shown)


def test_legend_list_and_export_follow_the_drill_down_to_a_community_and_a_grid(desk, tmp_path):
    page = desk.open()
    whole = legend_counts(page)
    rows = api(desk, "/api/figures?level=community")
    community = max(rows, key=lambda r: r["households"])
    code, name = community["code"], community["name"]
    page.locator(f"#children a[data-level='community'][data-code='{code}']").click()
    page.wait_for_function(f"document.getElementById('map').dataset.legendFor === '{code}'")
    counts = legend_counts(page)
    assert counts == {k: api(desk, f"/api/gaps/counts?community={code}").get(k, 0) for k in whole}
    assert counts != whole and all(counts[k] <= whole[k] for k in whole)
    page.wait_for_function(
        f"Number(document.getElementById('map').dataset.gapListed) === {shown_total(page, counts)}"
    )
    # the export is the community's, named after it
    assert f"place={code}" in page.get_attribute("#export-link", "href")
    assert name in page.inner_text("#export-scope")
    page.select_option("#export-layer", label="留白与问题")
    page.select_option("#export-format", "csv")
    with page.expect_download() as download:
        page.click("#export-link")
    assert download.value.suggested_filename == f"{name}_留白与问题.csv"
    text = download.value.path().read_text("utf-8-sig")
    assert 0 < len(text.splitlines()) - 1 < sum(whole.values())
    # a grid of it: the legend and the list are the grid's, fewer than the community's
    grid = page.locator("#children a[data-level='grid']").first
    grid_code = grid.get_attribute("data-code")
    grid.click()
    page.wait_for_function(f"document.getElementById('map').dataset.legendFor === '{grid_code}'")
    in_grid = legend_counts(page)
    asked = api(desk, f"/api/gaps/counts?community={code}&grid={grid_code}")
    assert in_grid == {k: asked.get(k, 0) for k in whole}
    assert sum(in_grid.values()) < sum(counts.values())
    listed = api(desk, f"/api/gaps/list?community={code}&grid={grid_code}&limit=1000")
    assert listed["total"] == sum(asked.values())
    assert f"place={grid_code}" in page.get_attribute("#export-link", "href")
    # back up to the subdistrict: the whole area's counts again
    page.locator("#crumbs a[data-level='subdistrict']").click()
    page.wait_for_function("document.getElementById('map').dataset.legendFor === ''")
    assert legend_counts(page) == whole
    assert "place=" not in page.get_attribute("#export-link", "href")


@pytest.mark.parametrize("screen", ["desk", "handset"])
def test_choosing_a_search_result_drives_the_panel_to_it(screen, request):
    watched = request.getfixturevalue(screen)
    page = watched.open()
    community = api(watched, "/api/figures?level=community")[-1]
    page.fill("#q", community["name"])
    page.locator(f"#hits [data-code='{community['code']}']").first.click()
    page.wait_for_function("document.getElementById('map').dataset.level === 'community'")
    assert community["name"] in page.inner_text("#crumbs")
    assert page.evaluate("gridmap.state.community") == community["code"]


@pytest.mark.parametrize("screen", ["desk", "handset"])
def test_the_map_opens_calm_with_communities_the_unified_grid_and_the_gaps(screen, request):
    watched = request.getfixturevalue(screen)
    page = watched.open()
    page.wait_for_function("Number(document.getElementById('map').dataset.loaded_grid_unified) > 0")
    assert int(watched.data("loaded_community")) == len(
        api(watched, "/api/figures?level=community")
    )
    assert int(watched.data("gapsDrawn")) > 0
    for layer in ("station", "subdistrict", "grid_party", "proposals"):
        assert watched.data(f"loaded_{layer}") is None, layer
    # every other layer is one tap away in the layer control
    overlays = page.locator(".leaflet-control-layers-overlays label")
    assert overlays.count() >= 6


def test_the_printable_report_follows_the_unit_shown_with_the_analysis_report_page(desk):
    page = desk.open()
    community = api(desk, "/api/figures?level=community")[0]
    page.locator(f"#children a[data-level='community'][data-code='{community['code']}']").click()
    page.wait_for_function(f"document.getElementById('map').dataset.legendFor === '{community['code']}'")  # fmt: skip
    href = page.get_attribute("#report-link", "href")
    assert href == f"/report?place={community['code']}"
    page.goto(desk.base + href)
    # the analysis's own report page, of the community shown only
    headings = page.locator("section.community h2").all_inner_texts()
    assert len(headings) == 1 and headings[0].startswith(community["name"])
    # every finding listed with its next step, Chinese first
    rows = page.locator("table.gaps tbody tr")
    assert rows.count() > 0
    kind = rows.first.get_attribute("data-kind")
    assert rows.first.locator("td.next").inner_text().split("\n") == list(NEXT_STEPS[kind])


def test_the_map_page_prints_as_a_map(desk):
    page = desk.open()
    page.emulate_media(media="print")
    try:
        assert page.locator("#panel").is_hidden() and page.locator("header").is_hidden()
        assert page.locator(".leaflet-control-zoom").is_hidden()
        assert page.locator("#map").bounding_box()["width"] > 600
    finally:
        page.emulate_media(media="screen")


def test_on_a_phone_a_gap_popup_fits_with_its_close_in_reach_and_targets_are_finger_sized(handset):
    page = handset.open()
    gap = first_gap(handset, "uncovered_area")
    page.locator(f"#gap-list a[data-kind='uncovered_area'][data-code='{gap['code']}']").first.tap()
    popup = page.locator(".leaflet-popup")
    popup.locator(".next").wait_for()
    # settled: the popup's place the same over ten frames (the map pans to fit it)
    page.evaluate("""new Promise((done) => { let last = null, still = 0; const look = () => {
        const r = JSON.stringify(document.querySelector('.leaflet-popup').getBoundingClientRect());
        still = r === last ? still + 1 : 0; last = r; if (still >= 10) done(); else requestAnimationFrame(look); };
        look(); })""")
    box, close = popup.bounding_box(), page.locator(".leaflet-popup-close-button").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert close["y"] >= page.locator("#map").bounding_box()["y"] and close["width"] >= 44
    # nothing under the close button but the button itself
    hit = page.evaluate(f"document.elementFromPoint({close['x'] + 22}, {close['y'] + 22}).closest('.leaflet-popup-close-button') !== null")  # fmt: skip
    assert hit
    small = page.evaluate("""[...document.querySelectorAll('#panel a, #panel button, #panel select, #panel label, #q')]
        .filter((e) => e.offsetParent !== null)
        .map((e) => [e.id || e.textContent.trim().slice(0, 12), e.getBoundingClientRect().height])
        .filter(([, h]) => h > 0 && h < 44)""")
    assert small == []
    tiny = page.evaluate("""[...document.querySelectorAll('#panel small, header small')]
        .filter((e) => e.offsetParent !== null)
        .map((e) => parseFloat(getComputedStyle(e).fontSize)).filter((s) => s < 12)""")
    assert tiny == []


def test_on_a_phone_the_members_list_fits_pages_by_number_and_says_what_it_cannot_find(handset):
    page = handset.page
    handset.expected.append("status of 404")  # the page of an unknown place answers 404
    overflow = "document.documentElement.scrollWidth - window.innerWidth"
    page.goto(handset.base + "/members")
    page.fill("input[name=place]", "锦绣社区")
    page.click("form.filters button[type=submit]")
    code = next(c for c, n in community_names(handset).items() if n == "锦绣社区")
    assert f"锦绣社区（{code}）" in page.inner_text("#members-count")
    assert page.evaluate(overflow) <= 0  # the table scrolls in its box, never the page
    table = page.locator(".table-scroll").bounding_box()
    assert table["x"] >= 0 and table["x"] + table["width"] <= 390
    assert page.inner_text("nav.pages [aria-current=page]") == "1"
    page.locator("nav.pages a", has_text="2").first.click()
    page.wait_for_url("**offset=200")
    assert page.inner_text("nav.pages [aria-current=page]") == "2"
    # a place named by part of its name: the places it may be are offered, the form kept
    page.fill("input[name=place]", "锦绣")
    page.click("form.filters button[type=submit]")
    page.locator("#place-candidates").wait_for()
    assert page.input_value("input[name=place]") == "锦绣" and page.evaluate(overflow) <= 0
    page.locator("#place-candidates a").first.click()
    page.locator("#members-count").wait_for()
    page.fill("input[name=place]", "没有这个地方")
    page.click("form.filters button[type=submit]")
    assert "没有这个地方" in page.inner_text("#members-problem")
    assert page.input_value("input[name=place]") == "没有这个地方"

"""What a walk-through of the demo by coordinators found on the map, each fixed and kept fixed:
clicks inside a unit with a finding, accounts limited to an area, an analysis older than the
data, search, gap popups, and a phone's screen."""

from __future__ import annotations

import shutil

import geopandas as gpd
import pytest
from servers import start_server

from gridmap.config import Settings
from gridmap.store.db import make_engine, transaction
from gridmap.store.features import log_change
from gridmap.store.plans import approve_plan, create_plan, plan_meta

JINXIU = "510199001001"  # 锦绣社区, the community coordinator's area


def wait_loaded(page, key: str) -> None:
    page.wait_for_function(f"Number(document.getElementById('map').dataset.loaded_{key}) > 0")


def click_at(page, lon: float, lat: float) -> None:
    """A real mouse click on the map at a place (WGS84; the default basemap shows WGS84)."""
    box = page.locator("#map").bounding_box()
    point = page.evaluate(f"gridmap.map.latLngToContainerPoint([{lat}, {lon}])")
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])


@pytest.fixture
def coordinator(page_at, demo_server):
    """Open the map as an account limited to an area; nothing asked outside, nothing thrown."""
    opened = []

    def open_as(account: str):
        watched = page_at(demo_server, account)
        opened.append(watched)
        return watched

    yield open_as
    for watched in opened:
        assert watched.outside == [] and watched.errors == []


def _frame_compound(page, code: str) -> tuple[float, float, float, float]:
    box = page.evaluate(f"fetch('/api/search?q={code}').then((r) => r.json())")
    west, south, east, north = next(h for h in box if h["code"] == code)["bbox"]
    page.evaluate(f"gridmap.map.fitBounds([[{south}, {west}], [{north}, {east}]])")
    wait_loaded(page, "compound")
    return west, south, east, north


def test_click_inside_a_compound_with_a_finding_opens_its_figures_and_its_outline_the_finding(desktop):  # fmt: skip
    page = desktop.open()
    west, south, east, north = _frame_compound(page, "XQ017")
    key = "property_without_org:compound:XQ017"  # a finding about the whole compound
    # drawn at this zoom (not the coarser shape drawn before the map was framed)
    page.wait_for_function(
        f"gridmap.gaps.has({key!r}) && gridmap.gaps.get({key!r}).gapZoom === Math.min(Math.round(gridmap.map.getZoom()), 17)"
    )  # fmt: skip
    click_at(page, (west + east) / 2, (south + north) / 2)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    page.wait_for_function("document.querySelector('.leaflet-popup-content')?.innerText.includes('户数')")  # fmt: skip
    text = popup.inner_text()
    assert "XQ017" in text and "组织设置建议" in text
    assert "物业" in text  # the unit's popup lists the problem about it
    page.evaluate("gridmap.map.closePopup()")
    # the middle of the finding's first edge: its outline still opens the finding
    lon, lat = page.evaluate(f"""(() => {{
        const ring = gridmap.gaps.get({key!r}).toGeoJSON().geometry.coordinates.flat(Infinity);
        return [(ring[0] + ring[2]) / 2, (ring[1] + ring[3]) / 2]; }})()""")
    # brought back into view: the unit's popup (figures, problems, next steps) panned it away
    page.evaluate(f"gridmap.map.panTo([{lat}, {lon}], {{ animate: false }})")
    click_at(page, lon, lat)
    # the finding's popup, once it has replaced the closed one (wait on it, not on time)
    page.wait_for_function(
        "document.querySelector('.leaflet-popup-content')?.innerText.startsWith('物业未建党组织')"
    )
    text = popup.inner_text()
    assert text.startswith("物业未建党组织") and "XQ017" in text and "户数" not in text


def test_community_coordinator_opens_on_the_community_with_its_name_and_outline(coordinator):
    watched = coordinator("社区协调员")
    page = watched.open()
    assert page.inner_text("#figures h2").startswith("锦绣社区")
    assert "户数" in page.inner_text("#figures")
    crumbs = page.inner_text("#crumbs")
    assert crumbs.startswith("锦绣社区") and "街道" not in crumbs
    # its grids are the children to drill into
    assert page.locator("#children a[data-level='grid']").count() > 0
    # the header names the area, the code in small print
    assert page.inner_text("#user-area").startswith("锦绣社区")
    assert page.inner_text("#user-area small") == JINXIU
    assert watched.data("areaOutline") == JINXIU
    assert page.locator(".leaflet-highlight-pane path").count() >= 1


def test_grid_coordinator_opens_on_the_grid(coordinator):
    page = coordinator("网格协调员").open()
    assert page.evaluate("gridmap.state.grid") == "510199001001001"
    crumbs = page.inner_text("#crumbs")
    assert "›" not in crumbs and "街道" not in crumbs  # one crumb: the grid itself
    assert page.inner_text("#figures h2").startswith(crumbs)
    assert "户数" in page.inner_text("#figures")


def test_admin_panel_names_the_subdistrict(desktop):
    page = desktop.open()
    assert page.inner_text("#figures h2").startswith("锦绣街道")
    assert page.inner_text("#crumbs").startswith("锦绣街道")


def test_map_warns_when_the_data_changed_after_the_analysis(page_at, demo_db, tmp_path):
    url = f"sqlite:///{tmp_path / 'copy.db'}"
    shutil.copy(demo_db.removeprefix("sqlite:///"), tmp_path / "copy.db")
    proc, base = start_server(url)
    try:
        watched = page_at(base)
        page = watched.open()  # the login is logged, and changes no data
        assert page.locator("#stale").count() == 0
        engine = make_engine(Settings(database_url=url))
        with transaction(engine) as conn:  # a plan approved: the party grid is redrawn
            plan = create_plan(conn, "测试方案", "party", "tests")
            approve_plan(conn, plan, plan_meta(conn, plan)["version"], "tests")
        page = watched.open()
        notice = page.locator("#stale")
        assert notice.is_visible()
        text = notice.inner_text()
        assert text.index("分析结果已过期") < text.index("out of date")
        assert "批准方案" in text and "gridmap analyze" in text
        with transaction(engine) as conn:  # and a layer loaded again
            log_change(conn, "tests", "import", "building", {"features": 1})
        engine.dispose()
        text = watched.open().inner_text("#stale")
        assert "批准方案、导入图层" in text and "2 change(s)" in text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_search_labels_layers_in_chinese_and_enter_opens_the_first_hit(desktop):
    page = desktop.open()
    page.fill("#q", "XQ132")
    page.locator("#hits [data-hit]").first.wait_for()
    hits = page.inner_text("#hits")
    assert "小区" in hits and "compound" not in hits
    page.press("#q", "Enter")
    page.wait_for_function("document.getElementById('map').dataset.found === 'compound:XQ132'")
    page.locator(".leaflet-popup-content").wait_for()
    page.wait_for_function("document.querySelector('.leaflet-popup-content')?.innerText.includes('户数')")  # fmt: skip
    assert "XQ132" in page.inner_text(".leaflet-popup-content")


def test_gap_popup_names_kind_and_layer_in_chinese_first(desktop):
    page = desktop.open()
    page.locator("#gap-list a[data-kind='grid_overlap'][data-code='DJ201']").click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    title = text.splitlines()[0]
    assert title.startswith("网格重叠 · ") and "DJ201" in title and title.endswith("党建网格")
    # names first, a next step, no machine keys
    assert "下一步" in text and "grid_overlap" not in text and "grid:party" not in text


def test_phone_search_results_lie_above_the_map_buttons(phone):
    page = phone.open()
    page.fill("#q", "XQ1")
    first = page.locator("#hits [data-hit]").first
    first.wait_for()
    for a in page.locator("#hits [data-hit]").all()[:6]:
        box = a.bounding_box()
        y = box["y"] + box["height"] / 2
        for x in (box["x"] + 4, box["x"] + box["width"] / 2, box["x"] + box["width"] - 4):
            hit = page.evaluate(f"document.elementFromPoint({x}, {y}).closest('#hits') !== null")
            assert hit, f"a tap at ({x}, {y}) on a search result reaches the map"
    # a popup's title is not under the zoom buttons (they sit at the bottom on a phone)
    zoom = page.locator(".leaflet-control-zoom").bounding_box()
    assert zoom["y"] > page.locator("#map").bounding_box()["y"] + 100


def test_phone_members_table_scrolls_inside_its_box(phone):
    page = phone.page
    page.goto(phone.base + "/members?place=" + JINXIU)
    page.locator("#members tbody tr").first.wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways: {width}px"
    box = page.locator(".table-scroll")
    assert box.evaluate("(e) => e.scrollWidth > e.clientWidth")  # the table scrolls in its box
    address = page.locator("#members td.address").first.bounding_box()
    assert address["width"] >= 150, f"the address column is {address['width']}px wide"


def test_a_layer_is_exported_from_the_panel_as_a_geopackage(desktop, tmp_path):
    page = desktop.open()
    labels = page.eval_on_selector_all("#export-layer option", "(os) => os.map((o) => o.textContent)")  # fmt: skip
    assert labels[:2] == ["街道", "社区"] and labels[-2:] == ["留白与问题", "组织设置建议"]
    assert "党员" not in labels  # members are never a map layer, nor exported from the map
    page.select_option("#export-layer", label="小区")
    page.select_option("#export-format", "gpkg")
    assert page.get_attribute("#export-link", "href") == "/api/export/compound?format=gpkg"
    with page.expect_download() as download:
        page.click("#export-link")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.suffix == ".gpkg"
    compounds = gpd.read_file(path)
    count = page.evaluate("fetch('/api/layers').then((r) => r.json())")
    assert len(compounds) == next(c for c in count if c["layer"] == "compound")["count"] > 100
    assert {"XQ017", "XQ169"} <= set(compounds["code"])


def test_gaps_about_one_member_are_counts_only_for_a_role_without_personal_data(page_at, demo_server):  # fmt: skip
    def member_row(account):
        page = page_at(demo_server, account).open()
        row = page.locator('#gap-kinds input[data-kind="member_not_reported"]')
        return row.is_disabled(), page.inner_text("#gap-kinds")

    disabled, legend = member_row("查看者")
    assert disabled and "仅计数" in legend
    disabled, legend = member_row("测试管理员")
    assert not disabled and "仅计数" not in legend

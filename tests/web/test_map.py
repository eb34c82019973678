"""The coordinators' map in a real browser, on the analysed demo subdistrict.

Every test runs with requests to other hosts failing and console errors recorded (conftest):
a page that asks anything of the internet, or throws, fails the test that opened it.
"""

from __future__ import annotations

import json

import shapely
from servers import headers, http, start_server

from gridmap.cli import DEMO_DATA

PLANTED = {
    (p["kind"], p["code"]): p
    for p in json.loads((DEMO_DATA.parent / "planted.json").read_text("utf-8"))
}
DJ503 = PLANTED[("uncovered_area", "DJ503")]


def count_paths(page, pane: str) -> int:
    return page.evaluate(f"document.querySelectorAll('.leaflet-{pane}-pane path').length")


def wait_loaded(page, key: str) -> int:
    page.wait_for_function(f"Number(document.getElementById('map').dataset.loaded_{key}) > 0")
    return int(page.evaluate(f"document.getElementById('map').dataset.loaded_{key}"))


def click_at(page, lon: float, lat: float) -> None:
    """A real mouse click on the map at a place (WGS84; the default basemap shows WGS84)."""
    box = page.locator("#map").bounding_box()
    point = page.evaluate(
        f"(() => {{ const p = gridmap.map.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})()"
    )
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])  # fmt: skip


def test_subdistrict_map_draws_every_layer_and_gap_kind(desktop, demo_server):
    page = desktop.open()
    assert wait_loaded(page, "community") == 6
    assert wait_loaded(page, "grid_unified") > 0
    # a calm first view: the stations (and their walking circles) are one tap away
    assert desktop.data("loaded_station") is None
    label = page.evaluate(
        "JSON.parse(document.getElementById('map').dataset.config).layers.find((s) => s.layer === 'station').label_zh"
    )  # fmt: skip
    page.locator(".leaflet-control-layers-overlays label", has_text=label).click()
    assert wait_loaded(page, "station") == 10
    # six communities drawn as SVG paths in their pane; unified grid cells in theirs
    assert count_paths(page, "areas") >= 6
    assert count_paths(page, "grids") >= int(desktop.data("loaded_grid_unified"))
    # the legend lists each kind found with its count, as the API counts them
    gaps = http.get(demo_server + "/api/gaps").json()["features"]
    counts: dict[str, int] = {}
    for g in gaps:
        counts[g["properties"]["kind"]] = counts.get(g["properties"]["kind"], 0) + 1
    legend = page.evaluate("""[...document.querySelectorAll('#gap-kinds input')].map((i) =>
        [i.dataset.kind, Number(i.closest('label').querySelector('.count').textContent)])""")
    assert dict(legend) == counts
    assert "uncovered_area" in desktop.data("gapsShown").split(",")
    assert count_paths(page, "gaps") > 0
    # the subdistrict's own figures head the panel
    assert "街道" in page.inner_text("#crumbs")
    assert "户数" in page.inner_text("#figures")
    desktop.shot("map-subdistrict.png")


def test_the_subdistrict_rows_add_up_to_its_total(desktop):
    """The communities' rows and a row of what no community holds add up to the subdistrict's
    households and members: on the demo the compound planted outside every community (XQ169)
    and the member placed in no building (DY-FAR) are in the subdistrict's total only."""
    page = desktop.open()
    rows = page.evaluate("""[...document.querySelectorAll('#children table.children tr')].slice(1)
        .map((tr) => [tr.className, ...[...tr.cells].map((td) => td.textContent.trim())])""")
    whole = page.evaluate("gridmap.figures.subdistrict[0]")
    *communities, beyond = rows
    assert len(communities) == 6 and all(r[0] == "" for r in communities)
    assert beyond[0] == "beyond" and beyond[1].startswith("不属于任何社区")
    assert int(beyond[2]) > 0 and int(beyond[3]) > 0  # households and members outside
    assert sum(int(r[2]) for r in rows) == whole["households"]
    assert sum(int(r[3]) for r in rows) == whole["members"]


def test_click_on_the_planted_gap_shows_why(desktop):
    page = desktop.open()
    page.evaluate(f"gridmap.map.setView([{DJ503['lat']}, {DJ503['lon']}], 16)")
    desktop.wait_view()
    click_at(page, DJ503["lon"], DJ503["lat"])
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert "留白" in text and "下一步" in text and "uncovered_area" not in text  # no machine key
    assert "DJ503" in text or "XQ132" in text
    assert "平方米" in text  # the measure in words, not "m2"
    page.wait_for_function(
        "getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
    )  # faded in
    desktop.shot("map-gap-popup.png")


def test_gap_list_zooms_to_the_gap_and_opens_it(desktop):
    page = desktop.open()
    before = page.evaluate("gridmap.map.getZoom()")
    link = page.locator("#gap-list a[data-kind='grid_overlap'][data-code='DJ201']")
    link.click()
    page.locator(".leaflet-popup-content").wait_for()
    assert page.evaluate("gridmap.map.getZoom()") > before
    # the view is now on the planted overlap
    p = PLANTED[("grid_overlap", "DJ201")]
    inside = page.evaluate(f"gridmap.map.getBounds().contains([{p['lat']}, {p['lon']}])")
    assert inside
    assert "DJ201" in page.inner_text(".leaflet-popup-content")


def test_gap_list_zooms_to_a_gap_outside_the_view(desktop):
    """Gap shapes load per view; the list has every gap's box, so it reaches one not loaded."""
    page = desktop.open()
    p = PLANTED[("grid_overlap", "DJ201")]
    page.evaluate(f"gridmap.map.setView([{DJ503['lat']}, {DJ503['lon']}], 18)")
    page.wait_for_function(f"!gridmap.map.getBounds().contains([{p['lat']}, {p['lon']}])")
    desktop.wait_view()  # the gaps of this view are in
    page.locator("#gap-list a[data-kind='grid_overlap'][data-code='DJ201']").click()
    page.locator(".leaflet-popup-content").wait_for()
    assert page.evaluate(f"gridmap.map.getBounds().contains([{p['lat']}, {p['lon']}])")
    text = page.inner_text(".leaflet-popup-content")
    assert "DJ201" in text and "网格重叠" in text and "grid_overlap" not in text
    # the popup is the drawn gap's own, with its message ("DJ201 与 DJ202 重叠 …")
    assert "DJ202" in text and "重叠" in text


def test_legend_toggle_hides_a_kind_and_shortens_the_list(desktop):
    page = desktop.open()
    listed = int(desktop.data("gapListed"))
    page.locator("#gap-kinds input[data-kind='beyond_station_reach']").uncheck()
    page.wait_for_function(
        "!document.getElementById('map').dataset.gapsShown.includes('beyond_station_reach')"
    )
    assert int(desktop.data("gapListed")) < listed
    assert page.locator("#gap-list a[data-kind='beyond_station_reach']").count() == 0


def test_search_by_code_finds_and_frames_the_compound(desktop):
    page = desktop.open()
    page.fill("#q", "XQ132")
    page.locator("#hits [data-hit]").first.wait_for()
    assert "XQ132" in page.inner_text("#hits")
    page.locator("#hits [data-hit]").first.click()
    page.wait_for_function("document.getElementById('map').dataset.found === 'compound:XQ132'")
    assert page.evaluate("gridmap.map.getZoom()") >= 16


def test_search_by_chinese_name(desktop):
    page = desktop.open()
    page.fill("#q", "锦绣")
    page.locator("#hits [data-hit]").first.wait_for()
    assert "锦绣" in page.inner_text("#hits")


def test_drill_down_to_a_community_and_a_grid(desktop, demo_server):
    page = desktop.open()
    communities = http.get(demo_server + "/api/figures", params={"level": "community"}).json()
    first = sorted(communities, key=lambda f: f["code"])[0]
    page.click(f"#children a[data-level='community'][data-code='{first['code']}']")
    page.wait_for_function("document.getElementById('map').dataset.level === 'community'")
    assert first["name"] in page.inner_text("#crumbs")
    figures = page.inner_text("#figures")
    assert str(first["households"]) in figures
    # the children are now the community's unified grid cells
    grid_link = page.locator("#children a[data-level='grid']").first
    grid_code = grid_link.get_attribute("data-code")
    grid_link.click()
    page.wait_for_function("document.getElementById('map').dataset.level === 'grid'")
    grid = http.get(f"{demo_server}/api/figures/grid/{grid_code}").json()
    assert grid["community_code"] == first["code"]
    assert str(grid["households"]) in page.inner_text("#figures")
    # and back up to the subdistrict
    page.click("#crumbs a[data-level='subdistrict']")
    page.wait_for_function("document.getElementById('map').dataset.level === 'subdistrict'")


def test_click_on_a_compound_shows_its_figures_and_proposal(desktop, demo_server):
    page = desktop.open()
    found = http.get(demo_server + "/api/search", params={"q": "XQ017"}).json()
    compound = next(h for h in found if h["layer"] == "compound" and h["code"] == "XQ017")
    west, south, east, north = compound["bbox"]
    page.evaluate(f"gridmap.map.fitBounds([[{south}, {west}], [{north}, {east}]])")
    wait_loaded(page, "compound")
    # hide the gap kinds, so the click reaches the compound itself
    page.evaluate(
        "Promise.all([...document.querySelectorAll('#gap-kinds input:checked')].map((i) => gridmap.showKind(i.dataset.kind, false)))"
    )
    click_at(page, (west + east) / 2, (south + north) / 2)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    page.wait_for_function(
        "document.querySelector('.leaflet-popup-content').innerText.includes('户数')"
    )
    text = popup.inner_text()
    assert "XQ017" in text and "党员" in text and "组织设置建议" in text
    # XQ017 is a planted red-property case: the popup says why it is a gap
    assert "property_without_org" in text or "物业" in text


def test_choropleth_of_organisational_coverage(desktop, demo_server):
    page = desktop.open()
    page.select_option("#theme-select", "org_coverage")
    page.wait_for_function("Number(document.getElementById('map').dataset.themeFeatures) > 0")
    assert int(desktop.data("themeFeatures")) == 6
    assert count_paths(page, "choropleth") == 6
    assert page.locator("#theme-legend i").count() == 6  # five steps and 'no data'
    # drawn above the units and the stations' circles; little coverage red, all covered green
    z = page.evaluate("['choropleth', 'units', 'points', 'gaps'].map((p) => Number(gridmap.map.getPane(p).style.zIndex))")  # fmt: skip
    assert z[1] < z[0] and z[2] < z[0] < z[3]
    fills = page.evaluate("""(() => { const out = {};
        gridmap.map.eachLayer((l) => { if (l.feature && l.options.pane === 'choropleth')
            out[l.feature.properties.name] = l.options.fillColor; });
        return out; })()""")
    assert fills["锦绣社区"] == "#1a9850"  # 100 %
    swatches = page.eval_on_selector_all("#theme-legend i", "(is) => is.map((i) => getComputedStyle(i).backgroundColor)")  # fmt: skip
    assert swatches[0] == "rgb(178, 24, 43)" and swatches[4] == "rgb(26, 152, 80)"  # 0–20 % red
    page.select_option("#theme-select", "")
    page.wait_for_function("document.getElementById('map').dataset.theme === ''")
    assert page.evaluate("Number(gridmap.map.getPane('choropleth').style.zIndex)") < z[1]
    page.select_option("#theme-select", "org_coverage")
    page.wait_for_function("Number(document.getElementById('map').dataset.themeFeatures) > 0")
    # drilled into a community, the choropleth colours its grid cells instead
    community = http.get(demo_server + "/api/figures", params={"level": "community"}).json()[0]
    page.evaluate(f"gridmap.drill('community', {community['code']!r})")
    grids = http.get(demo_server + "/api/figures", params={"level": "grid"}).json()
    mine = [g for g in grids if g["community_code"] == community["code"]]
    page.wait_for_function(
        f"Number(document.getElementById('map').dataset.themeFeatures) === {len(mine)}"
    )
    desktop.shot("map-choropleth.png")


def test_phone_layout_fits_390_wide_and_the_panel_is_a_bottom_sheet(phone):
    page = phone.open()
    wait_loaded(page, "community")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"page scrolls sideways: {width}px"
    box = page.locator("#map").bounding_box()
    assert box["width"] >= 380 and box["height"] >= 300
    # the panel is a bottom sheet over the map: half, full, peek, half again
    assert phone.data("sheet") == "half"
    panel = page.locator("#panel").bounding_box()
    assert panel["y"] + panel["height"] == box["y"] + box["height"]
    assert 0.3 * box["height"] < panel["height"] < 0.6 * box["height"]
    toggle = page.locator("#panel-toggle")
    assert toggle.is_visible() and toggle.bounding_box()["height"] >= 44
    phone.shot("map-phone.png")
    heights = {}
    for step in ("full", "peek", "half"):
        toggle.tap()
        page.wait_for_function(f"document.getElementById('map').dataset.sheet === '{step}'")
        heights[step] = page.locator("#panel").bounding_box()["height"]
    assert heights["peek"] <= 100 < heights["half"] < heights["full"]
    assert page.locator("#crumbs").is_visible()  # the unit shown reads even at a peek
    # gap kinds are finger-sized
    label = page.locator("#gap-kinds label").first.bounding_box()
    assert label["height"] >= 44


def test_first_load_stays_under_half_a_megabyte_and_asks_gaps_of_the_view(desktop):
    page = desktop.open()
    wait_loaded(page, "community")
    desktop.wait_view()
    page.wait_for_function("document.getElementById('map').dataset.gapListed !== undefined")
    entries = page.evaluate("""[...performance.getEntriesByType('navigation'),
        ...performance.getEntriesByType('resource')].map((e) => [e.name, e.transferSize])""")
    sizes = [size for _, size in entries]
    assert len(sizes) > 5 and all(s > 0 for s in sizes[:1])
    assert sum(sizes) < 512 * 1024, f"first load {sum(sizes)} bytes"
    # gap shapes come for the view, in one request; the list without shapes, in another
    gaps = [url for url, _ in entries if "/api/gaps?" in url]
    assert len(gaps) == 1 and "bbox=" in gaps[0] and "zoom=" in gaps[0], gaps
    assert len([url for url, _ in entries if "/api/gaps/list?" in url]) == 1


def test_api_documentation_page_works_offline(desktop):
    page = desktop.page
    page.goto(desktop.base + "/docs")
    title = page.locator(".swagger-ui .info .title")
    title.wait_for(timeout=20_000)
    assert "gridmap" in title.inner_text()
    # operations are listed, e.g. the plans API
    assert page.locator(".opblock-tag-section").count() >= 5
    # ReDoc's scripts would come from a CDN: it is not offered
    assert page.request.get(desktop.base + "/redoc").status == 404


def test_local_tile_directory_basemap_is_served_by_the_app(page_at, demo_db, tmp_path):

    tiles = tmp_path / "tiles"
    for z, x, y in [(14, 13120, 6799), (15, 26240, 13598)]:
        (tiles / str(z) / str(x)).mkdir(parents=True, exist_ok=True)
        (tiles / str(z) / str(x) / f"{y}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    proc, base = start_server(demo_db, GRIDMAP_BASEMAP="xyz", GRIDMAP_BASEMAP_TILES=str(tiles))
    try:
        watched = page_at(base)
        watched.expected.append("404 (Not Found)")  # tiles the folder does not have
        tile_requests = []
        watched.page.on("request", lambda r: "/tiles/" in r.url and tile_requests.append(r.url))
        with watched.page.expect_request(lambda r: "/tiles/" in r.url):
            watched.open()
        watched.wait_view()
        assert tile_requests and all(u.startswith(base + "/tiles/") for u in tile_requests)
        assert watched.outside == []
        assert [e for e in watched.errors if not any(x in e for x in watched.expected)] == []
        assert http.get(f"{base}/tiles/14/13120/6799.png").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_amap_basemap_shifts_the_data_to_gcj02_and_asks_only_amap(page_at, demo_db):

    proc, base = start_server(demo_db, GRIDMAP_BASEMAP="amap")
    try:
        watched = page_at(base)
        data_requests = []
        watched.page.on(
            "request",
            lambda r: (
                ("/api/layers/" in r.url or "/api/gaps" in r.url) and data_requests.append(r.url)
            ),
        )
        with watched.page.expect_request(lambda r: "autonavi.com" in r.url):
            watched.open()
        watched.wait_view()
        # the tiles were asked of AMap (and failed here, offline); nothing else went outside
        assert watched.outside and all("autonavi.com" in u for u in watched.outside)
        assert data_requests and all("display=gcj02" in u for u in data_requests)
        assert any("/api/gaps?" in u for u in data_requests)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_panel_of_a_grid_lists_who_serves_it_with_duty_phones(desktop, demo_server):
    page = desktop.open()
    grid = "510199001001001"  # the first unified cell of 锦绣社区: its board's grid is DJ101
    posts = http.get(demo_server + "/api/people", params={"level": "grid", "code": grid}).json()["posts"]  # fmt: skip
    assert posts and posts[0]["duty_phone"]
    page.evaluate(f"gridmap.drill('grid', '{grid}', '510199001001')")
    page.wait_for_selector("#figures .people-serving li")
    section = page.inner_text("#figures .people-serving")
    assert "服务人员" in section and posts[0]["role_zh"] in section and posts[0]["name"] in section
    assert posts[0]["duty_phone"] in section
    tap = page.locator("#figures .people-serving a[href^='tel:']").first.bounding_box()
    assert tap["height"] >= 44


# ---- buildings at street level, drawn from vector tiles: the view asks for tiles and never for a
# view of buildings, a click on a building opens its popup, the first load of a street-level view
# stays under 2 MB

ENTRIES = """[...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]
    .map((e) => [e.name, e.transferSize])"""


def a_large_building(base: str) -> tuple[str, shapely.Point]:
    """The demo's largest building of the first page, and a point well inside it."""
    page = http.get(base + "/ogc/collections/building/items", params={"limit": 200}, headers=headers(base)).json()  # fmt: skip
    shapes = {f["id"]: shapely.geometry.shape(f["geometry"]) for f in page["features"]}
    code = max(shapes, key=lambda c: shapes[c].area)
    return code, shapely.maximum_inscribed_circle(shapes[code]).coords[0]


def test_a_street_level_view_draws_buildings_from_tiles_and_opens_one(desktop, demo_server):
    page = desktop.open()
    desktop.wait_view()
    code, (lon, lat) = a_large_building(demo_server)
    page.evaluate(f"gridmap.map.setView([{lat}, {lon}], 17, {{ animate: false }})")
    desktop.wait_view()  # the view's tiles are in
    entries = page.evaluate(ENTRIES)
    # the view's tiles: drawn 512 pixels wide, so those of zoom 16 (a 1280 × 800 map shows 6–12)
    tiles = [url for url, _ in entries if "/api/tiles/building/" in url]
    assert 4 <= len(tiles) <= 12 and all("/building/16/" in url for url in tiles), tiles
    assert not [url for url, _ in entries if "/api/layers/building/" in url]
    assert count_paths(page, "buildings") > 10
    # the whole first load of a street-level view: page, scripts, layers, gaps and tiles
    total = sum(size for _, size in entries)
    assert total < 2 * 1024 * 1024, f"first load of a street-level view: {total} bytes"
    click_at(page, lon, lat)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert code in popup.inner_text() and "楼栋" in popup.inner_text()
    # away and back: drawn again (the browser's cache is off while a test routes requests, so
    # that a tile is sent once and revalidated after is tested on the route itself)
    page.evaluate("gridmap.map.setView(gridmap.home.getCenter(), 14, { animate: false })")
    desktop.wait_view()
    assert count_paths(page, "buildings") == 0
    page.evaluate(f"gridmap.map.setView([{lat}, {lon}], 17, {{ animate: false }})")
    desktop.wait_view()
    assert count_paths(page, "buildings") > 10


def test_the_layer_control_hides_and_shows_the_tiled_buildings(desktop, demo_server):
    page = desktop.open()
    desktop.wait_view()
    _, (lon, lat) = a_large_building(demo_server)
    page.evaluate(f"gridmap.map.setView([{lat}, {lon}], 17, {{ animate: false }})")
    desktop.wait_view()
    label = page.locator(".leaflet-control-layers-overlays label", has_text="楼栋")
    page.locator(".leaflet-control-layers").hover()
    label.locator("input").uncheck()
    page.wait_for_function("document.querySelectorAll('.leaflet-buildings-pane path').length === 0")
    label.locator("input").check()
    page.wait_for_function("document.querySelectorAll('.leaflet-buildings-pane path').length > 10")


def test_search_opens_a_building_drawn_from_tiles_with_its_figures(desktop, demo_server):
    """A building is in no index of drawn features (it comes in tiles): its popup comes from
    its item, with its households, as a drawn feature's would."""
    code, _ = a_large_building(demo_server)
    item = http.get(f"{demo_server}/ogc/collections/building/items/{code}", headers=headers(demo_server)).json()  # fmt: skip
    page = desktop.open()
    page.fill("#q", code)
    hit = page.locator("#hits [data-hit]", has_text=code).first
    hit.click()
    page.wait_for_function(f"document.getElementById('map').dataset.found === 'building:{code}'")
    popup = page.locator(".leaflet-popup-content")
    page.wait_for_function("document.querySelector('.leaflet-popup-content')?.textContent.includes('户数')")  # fmt: skip
    assert (
        code in popup.inner_text() and str(item["properties"]["households"]) in popup.inner_text()
    )

"""The editor in daily use (issue 22): buttons enabled only when they can act, drawing tools
named in Chinese, the plan list up to date after a save. One server and page for the module."""

from __future__ import annotations

from servers import headers, http


def ready(page) -> None:
    page.wait_for_function("document.getElementById('map').dataset.ready === '1'")


def test_without_a_plan_only_what_can_act_is_enabled_and_the_tools_have_chinese_names(desk):
    page = desk.page
    page.goto(desk.base + "/editor")
    ready(page)
    for button in ("#merge", "#save", "#diff"):
        assert page.is_disabled(button), button
    assert page.get_attribute("#export", "aria-disabled") == "true"
    assert page.get_attribute("#export", "href") is None
    names = page.locator(".leaflet-pm-toolbar .pm-name").all_inner_texts()
    assert {"画网格", "改边界", "切分", "删除"} <= set(names)
    labels = page.eval_on_selector_all(
        ".leaflet-pm-toolbar a.leaflet-buttons-control-button", "(as) => as.map((a) => a.getAttribute('aria-label'))"
    )  # fmt: skip
    assert labels and all(labels)


def test_the_plan_list_says_the_new_version_after_a_save(desk):
    answer = http.post(desk.base + "/api/plans", json={"name": "版本测试", "grid_layer": "party"}, headers=headers(desk.base, "规划员甲"), timeout=60)  # fmt: skip
    assert answer.status_code == 201, answer.text
    plan = answer.json()["id"]
    page = desk.page
    page.goto(f"{desk.base}/editor?plan={plan}")
    ready(page)
    option = page.locator(f"#plan-select option[value='{plan}']")
    assert "第 1 版" in option.inner_text()
    assert (
        "党建网格" in option.inner_text() and "party" not in option.inner_text()
    )  # no machine key
    assert not page.is_disabled("#save")
    page.click("#save")
    page.wait_for_function("document.getElementById('map').dataset.version === '2'")
    page.wait_for_function(f"document.querySelector(\"#plan-select option[value='{plan}']\").textContent.includes('第 2 版')")  # fmt: skip


def test_every_cell_is_labelled_with_name_and_households_and_a_click_shows_its_figures(desk):
    answer = http.post(desk.base + "/api/plans", json={"name": "标注测试", "grid_layer": "party"}, headers=headers(desk.base, "规划员甲"), timeout=60)  # fmt: skip
    plan = answer.json()["id"]
    page = desk.page
    page.goto(f"{desk.base}/editor?plan={plan}")
    ready(page)
    page.wait_for_function("Number(document.getElementById('map').dataset.labelled) > 0")
    cells = page.evaluate("gridmapEditor.cells.getLayers().length")
    labels = page.locator(".leaflet-tooltip.cell-label")
    assert labels.count() == cells == int(page.evaluate("document.getElementById('map').dataset.labelled"))  # fmt: skip
    first = labels.first.inner_text()
    assert first.endswith("户") and "\n" in first
    code, name, x, y = page.evaluate("""(() => {
        const l = gridmapEditor.cells.getLayers()[0];
        const p = gridmapEditor.map.latLngToContainerPoint(l.getCenter());
        return [l.feature.properties.code, l.feature.properties.name || l.feature.properties.code, p.x, p.y]; })()""")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + x + 8, box["y"] + y + 14)  # beside the label, inside the cell
    page.wait_for_function(f"document.getElementById('map').dataset.cellShown === {code!r}")
    text = page.inner_text("#cell-figures")
    assert name in text and "户数" in text and "楼栋" in text


def test_in_edit_mode_only_the_selected_cell_shows_its_vertex_handles(desk):
    page = desk.page
    plan = page.evaluate("JSON.parse(document.getElementById('map').dataset.config).plan_id")
    assert plan, "the previous test left a plan open"
    page.reload()  # nothing selected yet
    ready(page)
    page.evaluate("gridmapEditor.map.pm.enableGlobalEditMode()")
    page.wait_for_function("document.getElementById('map').dataset.editing === ''")
    assert page.locator(".leaflet-marker-icon.marker-icon").count() == 0
    code, x, y = page.evaluate("""(() => {
        const l = gridmapEditor.cells.getLayers()[0];
        const p = gridmapEditor.map.latLngToContainerPoint(l.getCenter());
        return [l.feature.properties.code, p.x, p.y]; })()""")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + x + 8, box["y"] + y + 14)
    page.wait_for_function(f"document.getElementById('map').dataset.editing === {code!r}")
    vertices = page.evaluate(
        "gridmapEditor.cells.getLayers()[0].getLatLngs().flat(Infinity).length"
    )
    handles = page.locator(".leaflet-marker-icon.marker-icon:not(.marker-icon-middle)").count()
    assert 0 < handles <= vertices
    page.evaluate("gridmapEditor.map.pm.disableGlobalEditMode()")


def test_validation_and_its_fixes_name_places_with_their_codes_in_brackets(desk):
    answer = http.post(desk.base + "/api/plans", json={"name": "名称测试", "grid_layer": "party"}, headers=headers(desk.base, "规划员甲"), timeout=60)  # fmt: skip
    assert answer.status_code == 201, answer.text
    page = desk.page
    page.goto(f"{desk.base}/editor?plan={answer.json()['id']}")
    ready(page)
    item = page.locator("#problems li[data-kind='plan_cuts_compound'][data-code='XQ150']")
    item.wait_for()
    name = next(h["name"] for h in http.get(desk.base + "/api/search", params={"q": "XQ150"}).json() if h["code"] == "XQ150")  # fmt: skip
    assert f"{name}（XQ150）" in item.inner_text() and "plan_" not in item.inner_text()
    item.locator("button").click()
    page.wait_for_function("document.getElementById('status').className === 'ok'")
    status = page.inner_text("#status")
    assert status.startswith(f"已贴合小区边界：{name}（XQ150）") and "snap_compound" not in status

"""The planners' editor in a real browser: draw with the mouse, see the figures, fix, save,
reload, and a second session's stale save gets the conflict message."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import shapely
from servers import ADMIN, PASSWORD, headers, http


def new_plan(base: str, name: str) -> int:
    r = http.post(base + "/api/plans", json={"name": name, "grid_layer": "party"}, headers=headers(base, "规划员甲"), timeout=60)  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()["id"]


def open_editor(watched, plan_id: int, account: str):
    """The editor on a plan, in a browser logged in as ``account`` (who saves is the login)."""
    page = watched.page
    page.goto(f"{watched.base}/editor?plan={plan_id}")
    page.wait_for_function("document.getElementById('map').dataset.ready === '1'")
    assert account in page.inner_text("#user")
    return page


def log_in_as(context, base: str, name: str) -> None:
    """Log a browser context of the test's own making in through the login form."""
    form = context.request.get(base + "/login").text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    answer = context.request.post(base + "/login", form={"name": name, "password": PASSWORD, "csrf": csrf, "next": "/api/me"})  # fmt: skip
    assert answer.ok and answer.json()["name"] == name, answer.text()


def data(page, name):
    return page.evaluate(f"document.getElementById('map').dataset[{name!r}] ?? null")


def frame_on(page, base: str, code: str) -> tuple[float, float, float, float]:
    hit = next(h for h in http.get(base + "/api/search", params={"q": code}).json() if h["code"] == code)  # fmt: skip
    west, south, east, north = hit["bbox"]
    page.evaluate(f"gridmapEditor.map.fitBounds([[{south}, {west}], [{north}, {east}]])")
    # the guides of the new view are in (editor-guides.js marks the view), to snap to
    page.wait_for_function("document.getElementById('map').dataset.guidesAt === gridmapKit.viewKey(gridmapEditor.map)")  # fmt: skip
    return west, south, east, north


def screen(page, lon, lat):
    box = page.locator("#map").bounding_box()
    x, y = page.evaluate(f"(() => {{ const p = gridmapEditor.map.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})()")  # fmt: skip
    return box["x"] + x, box["y"] + y


def draw_polygon(page, corners):
    page.click(".leaflet-pm-icon-polygon")
    vertices = "document.querySelectorAll('.marker-icon:not(.cursor-marker)').length"  # not geoman's cursor
    before = page.evaluate(vertices)
    for placed, (lon, lat) in enumerate(corners, start=1):
        page.mouse.click(*screen(page, lon, lat))
        page.wait_for_function(f"{vertices} >= {before + placed}")  # placed before the next click
    page.mouse.click(*screen(page, *corners[0]))  # back on the first vertex closes the ring


def test_draw_a_cell_see_its_figures_save_and_reload(planner, demo_server):
    plan_id = new_plan(demo_server, "浏览器测试方案")
    page = open_editor(planner, plan_id, "规划员甲")
    assert data(page, "cells") == "42" and data(page, "version") == "1"
    west, south, east, north = frame_on(page, demo_server, "DJ101")
    w, h = east - west, north - south
    # inside DJ101 (a drawn cell reaching beyond the plan's cells is refused): the largest
    # rectangle of the cell's shape around a point of it
    cell = next(shapely.geometry.shape(f["geometry"]) for f in http.get(f"{demo_server}/api/plans/{plan_id}").json()["cells"]["features"] if f["properties"]["code"] == "DJ101")  # fmt: skip
    x, y = cell.representative_point().coords[0]
    k = next(k for k in (0.3, 0.25, 0.2, 0.15, 0.1, 0.05) if cell.contains(shapely.box(x - w * k, y - h * k, x + w * k, y + h * k)))  # fmt: skip
    corners = [(x - w * k, y - h * k), (x + w * k, y - h * k), (x + w * k, y + h * k), (x - w * k, y + h * k)]  # fmt: skip
    draw_polygon(page, corners)
    page.wait_for_function(
        "(document.getElementById('map').dataset.figuresFor || '').split(',').includes('NEW-1')"
    )
    figures = page.inner_text("#figures")
    assert "NEW-1" in figures and "户数" in figures and "党员" in figures
    households = http.post(
        f"{demo_server}/api/plans/{plan_id}/figures",
        json={"cells": page.evaluate("gridmapEditor.collection(gridmapEditor.cells.getLayers().filter((l) => l.feature.properties.code === 'NEW-1'))")},
    ).json()[0]["households"]  # fmt: skip
    assert households > 0 and str(households) in figures
    # drawn over DJ101, the new cell takes its ground from it instead of overlapping it
    assert "从所覆盖的网格中划出" in page.inner_text("#status")
    page.wait_for_function("document.getElementById('map').dataset.topology === 'idle'")
    validated = http.post(f"{demo_server}/api/plans/{plan_id}/validate", json={"cells": page.evaluate("gridmapEditor.collection()")}).json()  # fmt: skip
    assert not [p for p in validated["features"] if "NEW-1" in p["properties"]["codes"] and p["properties"]["kind"] == "plan_overlap"]  # fmt: skip
    assert (
        page.locator(".leaflet-problems-pane path").count() > 0
    )  # the demo's own problems, on the map
    planner.shot("editor-drawn.png")
    page.click("#save")
    page.wait_for_function("document.getElementById('map').dataset.version === '2'")
    assert "第 2 版" in page.inner_text("#status")
    # the diff against the current layer: the cell added, drawn green on the map
    page.click("#diff")
    # (and DJ101 reshaped: the new cell's ground came from it)
    page.wait_for_function("Number(document.getElementById('map').dataset.diffDrawn) >= 2")
    assert "NEW-1" in page.inner_text("#diff-table") and "新增" in page.inner_text("#diff-table")
    # the buildings it took from DJ101 move from a cell named first, its code in small print
    named = page.evaluate("gridmapEditor.cells.getLayers().find((l) => l.feature.properties.code === 'DJ101').feature.properties.name")  # fmt: skip
    assert named and f"{named} DJ101\t→ NEW-1" in page.inner_text("#diff-table")
    colour = page.evaluate("gridmapEditor.cells.getLayers().find((l) => l.feature.properties.code === 'NEW-1').options.color")  # fmt: skip
    assert colour == "#2e7d32"
    page.reload()
    page.wait_for_function("document.getElementById('map').dataset.ready === '1'")
    assert data(page, "cells") == "43" and data(page, "version") == "2"
    codes = page.evaluate("gridmapEditor.cells.getLayers().map((l) => l.feature.properties.code)")
    assert "NEW-1" in codes


def test_one_click_fix_snaps_a_cut_compound(planner, demo_server):
    plan_id = new_plan(demo_server, "修复测试")
    page = open_editor(planner, plan_id, "规划员甲")
    item = page.locator("#problems li[data-kind='plan_cuts_compound'][data-code='XQ150']")
    item.wait_for()
    before = int(data(page, "problems"))
    item.locator("button").click()
    page.wait_for_function(f"Number(document.getElementById('map').dataset.problems) < {before}")
    assert (
        page.locator("#problems li[data-kind='plan_cuts_compound'][data-code='XQ150']").count() == 0
    )
    # and the fix is one undo step away
    assert page.is_enabled("#undo")
    page.click("#undo")
    page.locator("#problems li[data-kind='plan_cuts_compound'][data-code='XQ150']").wait_for()


def test_a_stale_save_from_a_second_session_gets_the_conflict_message(planner, other_desktop, demo_server):  # fmt: skip
    plan_id = new_plan(demo_server, "冲突测试")
    a = open_editor(planner, plan_id, "规划员甲")
    b = open_editor(other_desktop, plan_id, "规划员乙")
    other_desktop.expected.append("409 (Conflict)")  # the browser logs the refused save
    a.click("#save")
    a.wait_for_function("document.getElementById('map').dataset.version === '2'")
    b.click("#save")  # still at version 1
    b.wait_for_function("document.getElementById('map').dataset.conflict === '1'")
    message = b.inner_text("#status")
    assert "规划员甲" in message and "version 2" in message
    # when it was saved, in the browser's local time, not the server's UTC ISO text
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:", message) and "+00:00" not in message
    assert re.search(r"\d{4}/\d{1,2}/\d{1,2} \d{2}:\d{2}:\d{2}", message)
    assert "error" in b.get_attribute("#status", "class")
    other_desktop.shot("editor-conflict.png")
    assert http.get(f"{demo_server}/api/plans/{plan_id}").json()["saved_by"] == "规划员甲"


def test_automatic_proposal_opens_as_a_draft_with_what_it_could_not_satisfy(planner, demo_server):
    start = new_plan(demo_server, "起点")
    page = open_editor(planner, start, "规划员甲")
    page.once("dialog", lambda d: d.accept("浏览器自动划分"))
    page.click("#propose")
    page.wait_for_url(lambda url: not url.endswith(f"plan={start}"), timeout=120_000)
    page.wait_for_function("document.getElementById('map').dataset.ready === '1'", timeout=120_000)
    plan_id = int(page.url.rsplit("=", 1)[1])
    plan = http.get(f"{demo_server}/api/plans/{plan_id}").json()
    assert plan["name"] == "浏览器自动划分" and plan["status"] == "draft"
    assert int(data(page, "cells")) == len(plan["cells"]["features"]) > 30
    # the demo's compound outside every community cannot be placed: the editor says so
    assert "XQ169" in page.inner_text("#diff-table")


def test_times_are_local_and_the_plan_bar_speaks_chinese(browser, demo_server):
    """Shanghai time (UTC+8, no daylight saving) in zh-CN form, not the server's UTC ISO text."""
    plan_id = new_plan(demo_server, "时间测试")
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        log_in_as(context, demo_server, "规划员甲")
        page = context.new_page()
        page.goto(f"{demo_server}/editor?plan={plan_id}")
        page.wait_for_function("document.getElementById('map').dataset.ready === '1'")
        saved = http.get(f"{demo_server}/api/plans/{plan_id}").json()["saved_at"]
        local = datetime.fromisoformat(saved).astimezone(timezone(timedelta(hours=8)))
        status = page.inner_text("#status")
        assert f"{local.year}/{local.month}/{local.day} {local:%H:%M:%S}" in status
        assert saved not in status and "+00:00" not in status
        option = page.inner_text(f"#plan-select option[value='{plan_id}']")
        assert option == f"{plan_id} · 时间测试（党建网格，第 1 版，草稿）"
        for button in ("undo", "redo", "merge", "save", "diff", "new-plan", "propose", "export"):
            title = page.get_attribute(f"#{button}", "title")
            assert re.match(r"[\u4e00-\u9fff]", title) and " / " in title, (button, title)
    finally:
        context.close()


def test_a_planner_of_one_community_sees_the_other_cells_grey_and_cannot_edit_them(page_at, demo_server):  # fmt: skip
    plan_id = new_plan(demo_server, "范围测试")
    plan = http.get(f"{demo_server}/api/plans/{plan_id}", headers=headers(demo_server, "社区规划员")).json()  # fmt: skip
    cells = plan["cells"]["features"]
    mine = {f["properties"]["code"] for f in cells if f["properties"]["community_code"] == "510199001002"}  # fmt: skip
    assert plan["area"] == "510199001002" and 0 < len(mine) < len(cells)
    assert set(plan["locked"]) == {f["properties"]["code"] for f in cells} - mine
    page = open_editor(page_at(demo_server, "社区规划员"), plan_id, "社区规划员")
    assert data(page, "locked") == str(len(cells) - len(mine))
    state = page.evaluate(
        "Object.fromEntries(gridmapEditor.cells.getLayers().map((l) => [l.feature.properties.code,"
        " [Boolean(l.pm), l.options.color]]))"
    )
    assert state["DJ101"] == [False, "#9e9e9e"]  # in 锦绣社区: grey, no editing handle
    assert all(state[code] == [True, "#1565c0"] for code in mine)
    assert "不在您的范围" in page.inner_text("#status") or "只读" in page.inner_text("#status")
    # the admin, who has no area, may edit everything
    assert http.get(f"{demo_server}/api/plans/{plan_id}").json()["locked"] == []


def test_approving_a_plan_with_open_problems_says_how_many(desktop, demo_server):
    plan_id = new_plan(demo_server, "批准测试")
    page = open_editor(desktop, plan_id, ADMIN)
    problems = int(data(page, "problems"))
    assert problems > 0  # the demo's grids cut compounds
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    with page.expect_event("dialog") as shown:
        page.click("#approve")  # validates afresh first, then asks
    answer(shown.value)
    assert asked and f"仍有 {problems} 个校验问题" in asked[0]
    assert f"{problems} open validation problems" in asked[0]
    assert http.get(f"{demo_server}/api/plans/{plan_id}").json()["status"] == "draft"

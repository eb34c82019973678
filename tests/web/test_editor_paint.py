"""Paint mode of the editor (issue 17): a planner paints the demo's Party grid unit by unit with
the mouse — random strokes between neighbouring cells, a box, undo and redo — saves, and the
server finds no overlap and no 留白 in the saved plan, every unit in the cell it was painted
into, and the figures the editor showed (households, compounds cut, stations in reach, Party
rules). A locked cell gives and takes nothing. A finger on a touch tablet taps and brushes units
as the mouse does, without panning the map."""

from __future__ import annotations

import random

import shapely
from servers import headers, http

PLANNER = "规划员甲"


def state(page, name: str) -> str | None:
    return page.evaluate(f"document.getElementById('map').dataset[{name!r}] ?? null")


def screen(page, lon: float, lat: float) -> tuple[float, float]:
    """Centre the map on a point (zoom 17) and return where it is on the screen."""
    box = page.locator("#map").bounding_box()
    x, y = page.evaluate(f"""(() => {{ const m = gridmapEditor.map;
        m.setView([{lat}, {lon}], 17, {{ animate: false }});
        const p = m.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }})()""")  # fmt: skip
    return box["x"] + x, box["y"] + y


def fabric(base: str, communities: set[str]) -> dict[str, tuple[str, shapely.Geometry]]:
    """Unit code → (community, shape) of the planner's fabric."""
    units = {}
    for community in communities:
        answer = http.get(f"{base}/api/fabric", params={"community": community}, headers=headers(base, PLANNER))  # fmt: skip
        assert answer.status_code == 200, answer.text
        for f in answer.json()["features"]:
            units[f["properties"]["code"]] = (community, shapely.geometry.shape(f["geometry"]))
    return units


def neighbours(units: dict) -> dict[str, list[str]]:
    """Units of the same community sharing a border (the fabric's units share their vertices)."""
    codes = sorted(units)
    shapes = [units[c][1] for c in codes]
    tree = shapely.STRtree(shapes)
    near = {c: [] for c in codes}
    for i, j in zip(*tree.query(shapes, predicate="intersects"), strict=True):
        a, b = codes[i], codes[j]
        if a != b and units[a][0] == units[b][0] and shapes[i].intersection(shapes[j]).length > 0:
            near[a].append(b)
    return near


def opened(watched, plan_id: int):
    page = watched.page
    page.goto(f"{watched.base}/editor?plan={plan_id}")
    page.wait_for_function("document.getElementById('map').dataset.paint === 'ready'")
    return page


def settled(page, at: int) -> None:
    page.wait_for_function(f"(d => d.paintBusy === '0' && d.paintAt === '{at}')(document.getElementById('map').dataset)")  # fmt: skip


def pick(page, cell: str) -> None:
    page.click(f"#paint-cells tr[data-code='{cell}'] button.pick")
    page.wait_for_function(f"document.querySelector(\"#paint-cells tr[data-code='{cell}'] button.pick\").getAttribute('aria-pressed') === 'true'")  # fmt: skip


def test_random_strokes_undo_redo_and_a_box_save_a_plan_without_overlap_or_gap(
    planner, demo_server
):
    auth = headers(demo_server, PLANNER)
    answer = http.post(demo_server + "/api/plans", json={"name": "涂色测试", "grid_layer": "party"}, headers=auth, timeout=60)  # fmt: skip
    plan_id = answer.json()["id"]
    drawn = http.post(f"{demo_server}/api/plans/{plan_id}/validate", headers=auth).json()["features"]  # fmt: skip
    assert {"plan_overlap", "plan_uncovered"} <= {
        p["properties"]["kind"] for p in drawn
    }  # as drawn
    page = opened(planner, plan_id)
    assert page.get_attribute("#mode-paint", "aria-pressed") == "true"  # paint is the default here
    assert page.is_disabled("#paint-undo") and page.is_disabled("#paint-redo")
    cells = page.evaluate("gridmapPaint.assignment()")  # unit → cell as the editor starts
    table = http.get(f"{demo_server}/api/fabric/assignment", params={"plan": plan_id}, headers=auth).json()["units"]  # fmt: skip
    units = fabric(demo_server, {row["community_code"] for row in table})
    assert set(cells) == set(units)
    near = neighbours(units)
    rng = random.Random(17)
    done: list[tuple[str, str, str]] = []  # strokes: unit, from, to
    at = 0

    def across() -> tuple[str, str]:
        """A unit and the cell of one of its neighbours, another cell than its own."""
        while True:
            unit = rng.choice(sorted(units))
            others = sorted(cells[v] for v in near[unit] if cells[v] != cells[unit])
            if others:
                return unit, rng.choice(others)

    def stroked(unit: str, to: str) -> None:
        nonlocal at, done
        done = [*done[:at], (unit, cells[unit], to)]
        cells[unit] = to
        at += 1
        settled(page, at)

    for _ in range(8):  # a click moves the unit into the picked cell
        unit, to = across()
        pick(page, to)
        page.mouse.click(*screen(page, *units[unit][1].representative_point().coords[0]))
        stroked(unit, to)
    for how in ("button", "button", "key"):  # undo three strokes, then redo one
        page.click("#paint-undo") if how == "button" else page.keyboard.press("Control+z")
        at -= 1
        cells[done[at][0]] = done[at][1]
        settled(page, at)
    page.keyboard.press("Control+y")
    cells[done[at][0]] = done[at][2]
    at += 1
    settled(page, at)
    assert not page.is_disabled("#paint-redo")  # two undone strokes are still to redo
    unit, to = across()  # Shift+drag: a box around the unit's centre moves it
    pick(page, to)
    west, south, east, north = units[unit][1].bounds
    x, y = screen(page, (west + east) / 2, (south + north) / 2)
    page.keyboard.down("Shift")
    page.mouse.move(x - 5, y - 5)
    page.mouse.down()
    page.mouse.move(x + 5, y + 5, steps=3)
    page.mouse.up()
    page.keyboard.up("Shift")
    stroked(unit, to)
    assert page.is_disabled("#paint-redo")  # a new stroke drops what was left to redo
    assert page.evaluate("gridmapPaint.assignment()") == cells
    unit, to = across()  # a brush from a unit to its neighbour takes both, and what lies between
    other = next(v for v in sorted(near[unit]) if cells[v] != to)
    start, end = (units[u][1].representative_point() for u in (unit, other))
    pick(page, to)
    x, y = screen(page, *start.coords[0])
    page.mouse.move(x, y)
    page.mouse.down()
    box = page.locator("#map").bounding_box()
    x, y = page.evaluate(f"(p => [p.x, p.y])(gridmapEditor.map.latLngToContainerPoint([{end.y}, {end.x}]))")  # fmt: skip
    page.mouse.move(box["x"] + x, box["y"] + y, steps=40)
    page.mouse.up()
    at += 1
    settled(page, at)
    now = page.evaluate("gridmapPaint.assignment()")
    moved = {u for u in cells if now[u] != cells[u]}
    crossed = {u for u, (c, shape) in units.items() if c == units[unit][0] and shape.intersects(shapely.LineString([start, end]))}  # fmt: skip
    assert {unit, other} <= moved <= crossed and all(now[u] == to for u in moved)
    cells.update(now)

    # a locked cell neither gives nor takes a unit
    unit, to = across()
    held = cells[unit]
    page.check(f"#paint-cells tr[data-code='{held}'] input.lock")
    assert page.is_disabled(f"#paint-cells tr[data-code='{held}'] button.pick")
    shape = f"gridmapEditor.collection(gridmapEditor.cells.getLayers().filter((l) => l.feature.properties.code === {held!r}))"  # fmt: skip
    before = page.evaluate(shape)
    pick(page, to)
    page.mouse.click(*screen(page, *units[unit][1].representative_point().coords[0]))
    page.wait_for_function("document.getElementById('map').dataset.paintRefused === '1'")
    assert page.evaluate("gridmapPaint.assignment()") == cells and page.evaluate(shape) == before

    planner.shot("editor-paint.png")  # for the README
    page.click("#save")
    page.wait_for_function("document.getElementById('map').dataset.version === '2'")
    assert http.get(f"{demo_server}/api/plans/{plan_id}", headers=auth).json()["version"] == 2
    problems = http.post(f"{demo_server}/api/plans/{plan_id}/validate", headers=auth).json()["features"]  # fmt: skip
    kinds = {p["properties"]["kind"] for p in problems}
    assert not kinds & {"plan_overlap", "plan_uncovered"}, problems
    saved = http.get(f"{demo_server}/api/fabric/assignment", params={"plan": plan_id}, headers=auth).json()["units"]  # fmt: skip
    assert {r["unit_code"]: r["cell_code"] for r in saved} == cells
    figures = http.post(f"{demo_server}/api/fabric/cells", json={"units": cells}, headers=auth).json()["features"]  # fmt: skip
    server = {f["properties"]["code"]: f["properties"] for f in figures}
    shown = page.eval_on_selector_all("#paint-cells tr[data-code]", "(rows) => rows.map((r) => [r.dataset.code, Number(r.dataset.households), r.dataset.band])")  # fmt: skip
    assert {code: (h, band) for code, h, band in shown} == {c: (f["households"], f["band"]) for c, f in server.items()}  # fmt: skip
    last = page.locator("#paint-figures table[data-code]")
    assert last.count() >= 1
    for i in range(last.count()):
        code = last.nth(i).get_attribute("data-code")
        assert str(server[code]["households"]) in last.nth(i).inner_text()
    # the figures of the last stroke: compounds cut, stations in reach and the Party rules, as
    # the server computes them for those cells
    for i in range(last.count()):
        table = last.nth(i)
        f = server[table.get_attribute("data-code")]
        reach = table.locator("td.reach").inner_text()
        assert (reach.replace("、", ";") == f["stations_in_reach"]) if f["stations_in_reach"] else "没有党群服务站" in reach  # fmt: skip
        cut = table.locator("td.cut").inner_text()
        assert cut.replace("、", ";") == f["compounds_cut"] if f["compounds_cut"] else cut.startswith("无")  # fmt: skip
        kinds = table.locator("td.party li").evaluate_all("(items) => items.map((i) => i.dataset.kind)")  # fmt: skip
        assert kinds == [p["kind"] for p in f["party"]] and kinds


def touch_path(page, points: list[tuple[float, float]]) -> None:
    """A finger put down on the first point, moved through the others and lifted (touch events
    as a touch screen sends them, from which the browser makes pointer events)."""
    cdp = page.context.new_cdp_session(page)
    x, y = points[0]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for x, y in points[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})  # fmt: skip
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def test_a_finger_taps_and_brushes_units_into_a_cell_without_panning_the_map(
    tablet_planner, demo_server
):
    auth = headers(demo_server, PLANNER)
    plan_id = http.post(demo_server + "/api/plans", json={"name": "手指涂色", "grid_layer": "party"}, headers=auth, timeout=60).json()["id"]  # fmt: skip
    page = opened(tablet_planner, plan_id)
    cells = page.evaluate("gridmapPaint.assignment()")
    table = http.get(f"{demo_server}/api/fabric/assignment", params={"plan": plan_id}, headers=auth).json()["units"]  # fmt: skip
    units = fabric(demo_server, {row["community_code"] for row in table})
    near = neighbours(units)
    rng = random.Random(3)
    unit = rng.choice(sorted(u for u in units if any(cells[v] != cells[u] for v in near[u])))
    to = sorted(cells[v] for v in near[unit] if cells[v] != cells[unit])[0]
    page.tap(f"#paint-cells tr[data-code='{to}'] button.pick")  # a finger picks the cell too
    page.wait_for_function(f"document.querySelector(\"#paint-cells tr[data-code='{to}'] button.pick\").getAttribute('aria-pressed') === 'true'")  # fmt: skip
    touch_path(page, [screen(page, *units[unit][1].representative_point().coords[0])])  # a tap
    settled(page, 1)
    assert page.evaluate("gridmapPaint.assignment()") == {**cells, unit: to}
    cells[unit] = to

    # a brush from that unit over a neighbour of another cell takes it, and what lies between
    other = next(v for v in sorted(near[unit]) if cells[v] != to)
    start, end = (units[u][1].representative_point() for u in (unit, other))
    x0, y0 = screen(page, *start.coords[0])
    centre = page.evaluate("(c => [c.lat, c.lng])(gridmapEditor.map.getCenter())")
    box = page.locator("#map").bounding_box()
    x1, y1 = page.evaluate(f"(p => [p.x, p.y])(gridmapEditor.map.latLngToContainerPoint([{end.y}, {end.x}]))")  # fmt: skip
    x1, y1 = box["x"] + x1, box["y"] + y1
    touch_path(page, [(x0 + (x1 - x0) * k / 30, y0 + (y1 - y0) * k / 30) for k in range(31)])
    settled(page, 2)
    now = page.evaluate("gridmapPaint.assignment()")
    moved = {u for u in cells if now[u] != cells[u]}
    crossed = {u for u, (c, shape) in units.items() if c == units[unit][0] and shape.intersects(shapely.LineString([start, end]))}  # fmt: skip
    assert other in moved and moved <= crossed and all(now[u] == to for u in moved)
    assert page.evaluate("(c => [c.lat, c.lng])(gridmapEditor.map.getCenter())") == centre  # no pan
    # the stroke is one step of the history, as a mouse's is. The tap waits until the page has
    # done what a stroke sets off (the validation and the labels, data-paint-checked): a tap whose
    # touch start and end reach a busy page far apart is a long press, which clicks nothing
    page.wait_for_function("document.getElementById('map').dataset.paintChecked === '2'")
    page.tap("#paint-undo")
    settled(page, 1)
    assert page.evaluate("gridmapPaint.assignment()") == cells

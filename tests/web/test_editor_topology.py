"""Free drawing on a shared topology (issue 17): in the editor's drawing mode a vertex shared by
two cells is one object — dragged with the mouse it moves in both — and a seeded random run of
edits (shared and outline vertices dragged, vertices put on shared edges, a cut, a merge, cells
drawn over others and beyond the plan) leaves the server finding no overlap and no 留白; each
edit the server refused was undone in the browser with its reason shown.

The plan starts as a tiling: the demo's Party grid redrawn as the dissolves of its units."""

from __future__ import annotations

import collections
import itertools
import random

import geopandas as gpd
import pytest
import shapely
from servers import http
from shapely.geometry import shape

from gridmap.core.coverage_edit import check_edit

CHECKS = "Number(document.getElementById('map').dataset.topologyChecks || 0)"


def tiled_plan(base: str, name: str) -> int:
    """A new plan whose cells are the dissolves of their units: no overlap, no 留白."""
    plan_id = http.post(base + "/api/plans", json={"name": name, "grid_layer": "party"}, timeout=60).json()["id"]  # fmt: skip
    cells = http.get(f"{base}/api/plans/{plan_id}").json()["cells"]["features"]
    names = {f["properties"]["code"]: f["properties"]["name"] or f["properties"]["code"] for f in cells}  # fmt: skip
    table = http.get(f"{base}/api/fabric/assignment", params={"plan": plan_id}).json()["units"]
    units = {r["unit_code"]: r["cell_code"] for r in table if r["cell_code"]}
    painted = http.post(f"{base}/api/fabric/cells", json={"units": units, "names": names}, timeout=60).json()  # fmt: skip
    community = {f["properties"]["code"]: f["properties"]["community_code"] for f in cells}
    features = [{"type": "Feature", "geometry": f["geometry"],
                 "properties": {"code": f["properties"]["code"], "name": names.get(f["properties"]["code"]),
                                "community_code": community.get(f["properties"]["code"])}} for f in painted["features"]]  # fmt: skip
    saved = http.put(f"{base}/api/plans/{plan_id}", json={"version": 1, "cells": {"type": "FeatureCollection", "features": features}}, timeout=60)  # fmt: skip
    assert saved.status_code == 200, saved.text
    assert not tiling_problems(base, plan_id)
    return plan_id


def tiling_problems(base: str, plan_id: int, cells: dict | None = None) -> list[dict]:
    body = {"cells": cells} if cells else None
    problems = http.post(f"{base}/api/plans/{plan_id}/validate", json=body, timeout=60).json()["features"]  # fmt: skip
    return [p["properties"] for p in problems if p["properties"]["kind"] in ("plan_overlap", "plan_uncovered")]  # fmt: skip


def open_drawing(watched, plan_id: int):
    page = watched.page
    page.goto(f"{watched.base}/editor?plan={plan_id}")
    page.wait_for_function("document.getElementById('map').dataset.ready === '1'")
    page.wait_for_function(
        "['ready', 'off'].includes(document.getElementById('map').dataset.paint)"
    )
    if page.locator("#mode-draw").is_visible():
        page.click("#mode-draw")
        page.wait_for_function("document.getElementById('mode-draw').getAttribute('aria-pressed') === 'true'")  # fmt: skip
    return page


def cells_now(page) -> dict[str, shapely.Geometry]:
    fc = page.evaluate("gridmapEditor.collection()")
    return {f["properties"]["code"]: shape(f["geometry"]) for f in fc["features"]}


def holders(cells: dict) -> dict[tuple[float, float], set[str]]:
    at = collections.defaultdict(set)
    for code, geom in cells.items():
        for xy in shapely.get_coordinates(geom):
            at[(round(xy[0], 8), round(xy[1], 8))].add(code)
    return at


def inner(cells: dict, xy, margin=3e-5, ground=None) -> bool:
    """Whether the ground all around ``xy`` is covered (a vertex not on the plan's outline)."""
    ground = ground if ground is not None else shapely.union_all(list(cells.values()))
    return shapely.Point(xy).buffer(margin).difference(ground).area < 1e-13


def pixel(page, lon: float, lat: float) -> tuple[float, float]:
    box = page.locator("#map").bounding_box()
    x, y = page.evaluate(f"(p => [p.x, p.y])(gridmapEditor.map.latLngToContainerPoint([{lat}, {lon}]))")  # fmt: skip
    return box["x"] + x, box["y"] + y


def look_at(page, lon: float, lat: float, zoom: int = 18) -> None:
    page.evaluate(f"void gridmapEditor.map.setView([{lat}, {lon}], {zoom}, {{ animate: false }})")


def edit_mode(page, on: bool = True) -> None:
    if page.evaluate("gridmapEditor.map.pm.globalEditModeEnabled()") != on:
        page.click(".leaflet-pm-icon-edit")
        page.wait_for_function(
            f"gridmapEditor.map.pm.globalEditModeEnabled() === {str(on).lower()}"
        )


def select(page, code: str) -> None:
    """The cell's vertex handles shown (as a click on it does in edit mode)."""
    page.evaluate(f"(l => {{ l.fire('click', {{ latlng: l.getCenter() }}, true); }})(gridmapEditor.cells.getLayers().find((l) => l.feature.properties.code === {code!r}))")  # fmt: skip
    page.wait_for_function(f"document.getElementById('map').dataset.editing === {code!r}")


def settled(page, checks: int) -> int:
    """Wait for the topology check of the last edit; the count of checks answered."""
    page.wait_for_function(f"{CHECKS} > {checks} && document.getElementById('map').dataset.topology === 'idle'")  # fmt: skip
    return page.evaluate(CHECKS)


def drag(page, start, end, steps: int = 6) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=steps)
    page.mouse.up()


def refused(page) -> int:
    return int(page.evaluate("Number(document.getElementById('map').dataset.topologyRefused || 0)"))


def moved_in_all(cells: dict, xy, to) -> dict:
    def move(g):
        return shapely.transform(g, lambda c: [to if (round(a, 8), round(b, 8)) == xy else (a, b) for a, b in c])  # fmt: skip

    return {c: move(g) for c, g in cells.items()}


def as_frame(cells: dict) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": list(cells)}, geometry=list(cells.values()), crs=4326).to_crs(32648)  # fmt: skip


def keeps_tiling(before: dict, after: dict) -> bool:
    return check_edit(as_frame(before), as_frame(after)).ok


def lat_lng(page, x: float, y: float) -> tuple[float, float]:
    box = page.locator("#map").bounding_box()
    p = page.evaluate(f"(p => [p.lng, p.lat])(gridmapEditor.map.containerPointToLatLng([{x - box['x']}, {y - box['y']}]))")  # fmt: skip
    return p[0], p[1]


def coordinates(geom) -> set[tuple[float, float]]:
    return set(map(tuple, shapely.get_coordinates(geom).round(8)))


def handle_at(page, x: float, y: float) -> str | None:
    """``vertex`` or ``middle`` where a vertex handle (or an edge's middle handle) is on top."""
    cls = page.evaluate(f"(e => e ? String(e.className.baseVal ?? e.className) : '')(document.elementFromPoint({x}, {y}))")  # fmt: skip
    return (
        None if "marker-icon" not in cls else "middle" if "marker-icon-middle" in cls else "vertex"
    )


def grab(page, cells: dict, xy, codes) -> tuple[float, float] | None:
    """Show the handles of a cell holding ``xy``; where its handle is on screen, if on top."""
    look_at(page, *xy)
    select(page, sorted(codes)[0])
    x, y = pixel(page, *xy)
    return (x, y) if handle_at(page, x, y) == "vertex" else None


def test_a_vertex_shared_by_two_cells_moves_in_both(desktop, demo_server):
    plan_id = tiled_plan(demo_server, "共用顶点")
    page = open_drawing(desktop, plan_id)
    cells = cells_now(page)
    edit_mode(page)
    for xy, codes in holders(cells).items():  # a shared corner whose move keeps the tiling
        # (its handle its own: welded cells may hold a neighbour's corner a hair away)
        if len(codes) != 2 or not inner(cells, xy) or not far_apart(cells, xy):
            continue
        at = grab(page, cells, xy, codes)
        if at is None:
            continue
        x, y = at
        to = lat_lng(page, x + 14, y + 9)
        if keeps_tiling(cells, moved_in_all(cells, xy, to)):
            break
    checks = page.evaluate(CHECKS)
    page.keyboard.down("Alt")  # no snapping: the corner goes where the mouse goes
    drag(page, (x, y), (x + 14, y + 9))
    page.keyboard.up("Alt")
    settled(page, checks)
    assert refused(page) == 0, page.inner_text("#status")
    after = cells_now(page)
    # the corner is where the mouse left it in both cells (which may have gained their
    # neighbours' vertices on their borders as well), and gone from where it was
    new = [{p for p in coordinates(after[c]) - coordinates(cells[c]) if shapely.Point(p).distance(shapely.Point(to)) < 2e-7} for c in sorted(codes)]  # fmt: skip
    assert len(new[0]) == 1 and new[0] == new[1], new
    assert all(xy not in coordinates(after[c]) for c in codes)
    assert not tiling_problems(demo_server, plan_id, page.evaluate("gridmapEditor.collection()"))
    assert page.is_enabled("#undo")


def t_junctions(cells: dict) -> set[tuple]:
    """Corners of one cell on another's border that are not (within a millimetre, as the
    editor matches vertices) its vertex."""
    out = set()
    for code, geom in cells.items():
        for xy in map(tuple, shapely.get_coordinates(geom)):
            point = shapely.Point(xy)
            for other, g in cells.items():
                on_border = other != code and g.boundary.distance(point) < 1e-8
                if on_border and shapely.distance(shapely.points(shapely.get_coordinates(g)), point).min() >= 1e-8:  # fmt: skip
                    out.add(xy)
    return out


def test_a_plan_painted_from_units_is_welded_when_opened(desktop, demo_server):
    plan_id = tiled_plan(demo_server, "焊接")
    stored = {f["properties"]["code"]: shape(f["geometry"]) for f in http.get(f"{demo_server}/api/plans/{plan_id}").json()["cells"]["features"]}  # fmt: skip
    assert t_junctions(stored)  # painted cells meet in T-junctions
    page = open_drawing(desktop, plan_id)
    # as the editor holds them (its vertex matching works on these, not on GeoJSON's 8 decimals)
    layers = page.evaluate("gridmapEditor.cells.getLayers().map((l) => l.toGeoJSON(false))")
    opened = {f["properties"]["code"]: shape(f["geometry"]) for f in layers}
    assert int(page.evaluate("document.getElementById('map').dataset.welded")) > 0
    assert not t_junctions(opened)  # each such corner is now a vertex of both cells
    assert set(opened) == set(stored)
    for code, geom in opened.items():  # the same ground
        assert geom.area == pytest.approx(stored[code].area, rel=1e-9), code
    assert page.evaluate("document.getElementById('map').dataset.dirty") == "0"


def shared_edges(cells: dict) -> list[tuple[tuple, tuple, set[str]]]:
    """Edges (two consecutive vertices) held by two cells, inside the ground."""
    seen = collections.defaultdict(set)
    for code, geom in cells.items():
        for ring in [r for p in shapely.get_parts(geom) for r in [p.exterior, *p.interiors]]:
            xy = [tuple(v) for v in shapely.get_coordinates(ring).round(8)]
            for a, b in itertools.pairwise(xy):
                seen[tuple(sorted((a, b)))].add(code)
    return [(a, b, codes) for (a, b), codes in seen.items() if len(codes) == 2]


def beside(geom, xy) -> set[frozenset]:
    """The pairs of vertices on either side of ``xy`` in the rings of ``geom``."""
    out = set()
    for ring in [r for p in shapely.get_parts(geom) for r in [p.exterior, *p.interiors]]:
        xys = [tuple(v) for v in shapely.get_coordinates(ring).round(8)][:-1]
        for i, v in enumerate(xys):
            if v == xy:
                out.add(frozenset((xys[i - 1], xys[(i + 1) % len(xys)])))
    return out


def far_apart(cells: dict, xy, gap: float = 6e-5) -> bool:
    """Whether no other vertex lies within ``gap`` degrees of ``xy`` (its handle is not hidden)."""
    near = shapely.Point(xy).buffer(gap)
    return all(len({tuple(v) for v in shapely.get_coordinates(shapely.intersection(g.boundary, near)).round(8)} - {xy}) <= 2 for g in cells.values() if g.intersects(near))  # fmt: skip


def click_tool(page, icon: str) -> None:
    edit_mode(page, False)
    page.click(f".leaflet-pm-icon-{icon}")


def draw(page, corners) -> None:
    """A polygon clicked corner by corner (screen points), closed on its first corner."""
    for x, y in corners:
        page.mouse.click(x, y)
    page.mouse.click(*corners[0])


def test_random_free_edits_leave_no_overlap_and_no_gap(desktop, demo_server):
    plan_id = tiled_plan(demo_server, "自由绘制随机")
    page = open_drawing(desktop, plan_id)
    rng = random.Random(2026)
    checks = page.evaluate(CHECKS)
    kinds = ["shared", "shared", "shared", "outline", "insert", "insert"] * 3 + ["remove", "remove", "cut", "merge", "beyond", "inside"]  # fmt: skip
    rng.shuffle(kinds)
    done = collections.Counter()
    for kind in kinds:
        cells = cells_now(page)
        was = refused(page)
        if kind in ("shared", "outline", "remove"):  # a corner dragged (with snapping), or removed
            edit_mode(page)
            ground = shapely.union_all(list(cells.values()))
            spots = [(xy, c) for xy, c in holders(cells).items() if far_apart(cells, xy) and (len(c) >= 2 and inner(cells, xy, ground=ground)) == (kind != "outline")]  # fmt: skip
            for xy, codes in rng.sample(spots, len(spots)):
                at = grab(page, cells, xy, codes)
                if at:
                    break
            dx, dy = rng.choice([-1, 1]) * rng.randint(6, 16), rng.choice([-1, 1]) * rng.randint(6, 16)  # fmt: skip
            if kind == "remove":  # a right click on a handle removes the corner, in both cells
                page.mouse.click(*at, button="right")
            elif kind == "outline":  # off the plan's outline (snapping would put it back on)
                page.keyboard.down("Alt")
                drag(page, at, (at[0] + dx, at[1] + dy))
                page.keyboard.up("Alt")
            else:
                drag(page, at, (at[0] + dx, at[1] + dy))
        elif kind == "insert":  # a vertex put on a shared edge, then pulled a little
            edit_mode(page)
            edges = shared_edges(cells)
            for a, b, codes in rng.sample(edges, len(edges)):
                look_at(page, (a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
                (xa, ya), (xb, yb) = pixel(page, *a), pixel(page, *b)
                if abs(xa - xb) + abs(ya - yb) < 40:
                    continue
                select(page, sorted(codes)[0])
                mid = ((xa + xb) / 2, (ya + yb) / 2)
                if handle_at(page, *mid) == "middle":
                    break
            drag(page, mid, (mid[0] + rng.randint(-6, 6), mid[1] + rng.randint(-6, 6)))
        elif kind == "cut":  # a triangle cut out of a cell becomes a new cell
            code = rng.choice(sorted(cells))
            centre = cells[code].representative_point()
            look_at(page, centre.x, centre.y)
            x, y = pixel(page, centre.x, centre.y)
            click_tool(page, "cut")
            draw(page, [(x - 25, y + 15), (x + 25, y + 15), (x, y - 25)])
        elif kind == "merge":  # two neighbouring cells become one
            a, b, codes = rng.choice(shared_edges(cells))
            edit_mode(page, False)
            page.click("#merge")
            for code in sorted(codes):
                page.evaluate(f"(l => {{ l.fire('click', {{ latlng: l.getCenter() }}); }})(gridmapEditor.cells.getLayers().find((l) => l.feature.properties.code === {code!r}))")  # fmt: skip
        else:  # a cell drawn over others: carved from them; or reaching beyond the plan: refused
            ground = shapely.union_all(list(cells.values()))
            if kind == "beyond":
                xy = shapely.get_coordinates(ground.exterior if ground.geom_type == "Polygon" else ground.geoms[0].exterior)[0]  # fmt: skip
            else:
                xy = shapely.get_coordinates(cells[rng.choice(sorted(cells))].representative_point())[0]  # fmt: skip
            look_at(page, *xy, zoom=17)
            x, y = pixel(page, *xy)
            click_tool(page, "polygon")
            draw(page, [(x - 30, y - 20), (x + 30, y - 20), (x + 30, y + 20), (x - 30, y + 20)])
        checks = settled(page, checks)
        done[kind] += 1
        if refused(page) > was:  # undone, and said why, Chinese first
            status = page.inner_text("#status")
            assert "修改未保留" in status or "越出" in status, status
            assert "Edit undone" in status or "beyond" in status, status
            assert "error" in page.get_attribute("#status", "class")
            assert cells_now(page).keys() == cells.keys()
            done[f"{kind} refused"] += 1
        else:  # kept (or nothing changed: a corner put back where it was)
            assert page.is_enabled("#undo") or cells_now(page) == cells
            if kind == "remove":  # gone from the cell, and from each cell sharing both its edges
                clicked = sorted(codes)[0]
                twins = [c for c in codes if beside(cells[c], xy) & beside(cells[clicked], xy)]
                assert not [c for c in twins if xy in coordinates(cells_now(page).get(c, shapely.Point()))], (xy, twins)  # fmt: skip
    assert done["beyond refused"] == 1 and done["outline refused"] >= 1, done
    assert not done["cut refused"] and not done["merge refused"] and not done["inside refused"], done  # fmt: skip
    assert done["remove"] - done["remove refused"] >= 1, done
    assert done["shared"] - done["shared refused"] >= 1 and done["insert"] - done["insert refused"] >= 1, done  # fmt: skip
    problems = tiling_problems(demo_server, plan_id, page.evaluate("gridmapEditor.collection()"))
    assert problems == [], (problems, done)

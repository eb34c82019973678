"""The editor's topology check over HTTP on the demo's Party grid, on both databases: a vertex
shared by two cells moved in both is kept, moved in one is refused with the places; a drawn cell
is carved from the cells it covers, refused where it reaches beyond them; a planner may not
change a cell outside their area; deleting a cell opens 留白."""

from __future__ import annotations

import collections

import httpx
import numpy as np
import pytest
import shapely
from servers import demo_server, headers, http
from shapely.geometry import mapping, shape


@pytest.fixture(scope="module", params=["spatialite", "postgis"])
def server(request, tmp_path_factory):
    yield from demo_server(request, tmp_path_factory, "topology", analyse=False)


@pytest.fixture(scope="module")
def plan(server):
    r = http.post(server + "/api/plans", json={"name": "拓扑检查", "grid_layer": "party"}, timeout=60)  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()["id"], http.get(f"{server}/api/plans/{r.json()['id']}").json()["cells"]


def ask(server, plan_id, what, body, account=None) -> httpx.Response:
    extra = {"headers": headers(server, account)} if account else {}
    return http.post(f"{server}/api/plans/{plan_id}/topology/{what}", json=body, timeout=60, **extra)  # fmt: skip


def by_code(cells) -> dict:
    return {f["properties"]["code"]: f for f in cells["features"]}


def inner_shared_vertex(cells, among=None):
    """A vertex held by exactly two cells, with the ground all around it covered."""
    holders = collections.defaultdict(set)
    for f in cells["features"]:
        if among is None or f["properties"]["code"] in among:
            for xy in shapely.get_coordinates(shape(f["geometry"])):
                holders[tuple(xy)].add(f["properties"]["code"])
    union = shapely.union_all([shape(f["geometry"]) for f in cells["features"]])
    for xy, codes in holders.items():
        ring = shapely.Point(xy).buffer(3e-5)
        if len(codes) == 2 and shapely.difference(ring, union).area < 1e-14:
            return xy, sorted(codes)
    raise AssertionError("no shared inner vertex")


def moved(feature, xy, to) -> dict:
    geom = shapely.transform(shape(feature["geometry"]), lambda c: np.where(np.all(c == xy, axis=1)[:, None], to, c))  # fmt: skip
    return {**feature, "geometry": mapping(geom)}


def test_a_shared_vertex_moved_in_both_cells_is_kept_and_in_one_is_refused(server, plan):
    plan_id, cells = plan
    xy, (a, b) = inner_shared_vertex(cells)
    cells_of = by_code(cells)
    before = {"type": "FeatureCollection", "features": [cells_of[a], cells_of[b]]}
    to = (xy[0] + 4e-6, xy[1] - 3e-6)  # about half a metre
    both = {"type": "FeatureCollection", "features": [moved(cells_of[a], xy, to), moved(cells_of[b], xy, to)]}  # fmt: skip
    answer = ask(server, plan_id, "check", {"before": before, "after": both}).json()
    assert answer["ok"] is True and answer["problems"]["features"] == [] and answer["removed"] == []
    assert {f["properties"]["code"] for f in answer["cells"]["features"]} == {a, b}
    one = {"type": "FeatureCollection", "features": [moved(cells_of[a], xy, to), cells_of[b]]}
    refused = ask(server, plan_id, "check", {"before": before, "after": one}).json()
    assert refused["ok"] is False and refused["cells"]["features"] == []
    kinds = {f["properties"]["kind"] for f in refused["problems"]["features"]}
    assert kinds & {"edit_overlap", "edit_gap"}
    assert refused["message_zh"].startswith("修改未保留") and refused["message_en"].startswith("Edit undone")  # fmt: skip
    where = shapely.union_all([shape(f["geometry"]) for f in refused["problems"]["features"]])
    assert shapely.distance(where, shapely.Point(xy)) < 1e-5  # the place is the dragged corner


def test_deleting_a_cell_is_refused_as_留白(server, plan):
    plan_id, cells = plan
    cells_of = by_code(cells)
    before = {"type": "FeatureCollection", "features": [cells_of["DJ101"]]}
    answer = ask(server, plan_id, "check", {"before": before, "after": {"type": "FeatureCollection", "features": []}}).json()  # fmt: skip
    assert answer["ok"] is False
    assert [(f["properties"]["kind"], f["properties"]["code"]) for f in answer["problems"]["features"]] == [("edit_gap", "DJ101")]  # fmt: skip
    assert "留白" in answer["message_zh"]


def test_a_drawn_cell_is_carved_from_the_cells_it_covers(server, plan):
    plan_id, cells = plan
    xy, (a, b) = inner_shared_vertex(cells)
    cells_of = by_code(cells)
    drawn = shapely.Point(xy).buffer(2e-4, quad_segs=3)  # about 20 m around the shared corner
    around = [f for f in cells["features"] if shape(f["geometry"]).intersects(drawn)]
    answer = ask(server, plan_id, "carve", {"cells": {"type": "FeatureCollection", "features": around},
                 "drawn": {"type": "Feature", "properties": {}, "geometry": mapping(drawn)}, "code": "NEW-1"}).json()  # fmt: skip
    assert answer["ok"] is True, answer["message_en"]
    got = {f["properties"]["code"]: shape(f["geometry"]) for f in answer["cells"]["features"]}
    assert {"NEW-1", a, b} <= set(got)
    assert got["NEW-1"].area == pytest.approx(drawn.area, rel=1e-6)
    for code in (a, b):  # what the new cell took, the others gave
        assert shapely.intersection(got[code], got["NEW-1"]).area < 1e-14
        assert got[code].area == pytest.approx(shape(cells_of[code]["geometry"]).difference(drawn).area, rel=1e-6)  # fmt: skip
    everything = [got.get(f["properties"]["code"], shape(f["geometry"])) for f in around] + [got["NEW-1"]]  # fmt: skip
    assert shapely.union_all(everything).area == pytest.approx(shapely.union_all([shape(f["geometry"]) for f in around]).area, rel=1e-9)  # fmt: skip


def test_a_drawn_cell_reaching_beyond_the_plan_is_refused_with_the_piece(server, plan):
    plan_id, cells = plan
    ground = shapely.union_all([shape(f["geometry"]) for f in cells["features"]])
    west, south, _, _ = ground.bounds
    drawn = shapely.box(west - 5e-4, south - 5e-4, west + 5e-4, south + 5e-4)
    around = [f for f in cells["features"] if shape(f["geometry"]).intersects(drawn)] or cells["features"][:1]  # fmt: skip
    answer = ask(server, plan_id, "carve", {"cells": {"type": "FeatureCollection", "features": around},
                 "drawn": {"type": "Feature", "properties": {}, "geometry": mapping(drawn)}, "code": "NEW-9"}).json()  # fmt: skip
    assert answer["ok"] is False and answer["cells"]["features"] == []
    problems = answer["problems"]["features"]
    assert problems and {p["properties"]["kind"] for p in problems} == {"edit_outside"}
    assert "越出方案原有范围" in answer["message_zh"] and "beyond the plan's ground" in answer["message_en"]  # fmt: skip
    assert all(shape(p["geometry"]).within(drawn.buffer(1e-9)) for p in problems)


def test_a_planner_may_not_move_a_corner_of_a_cell_outside_their_area(server, plan):
    plan_id, cells = plan
    mine = {f["properties"]["code"] for f in cells["features"] if f["properties"]["community_code"] == "510199001002"}  # fmt: skip
    others = {f["properties"]["code"] for f in cells["features"]} - mine
    xy, (a, b) = inner_shared_vertex(cells, among=others)
    cells_of = by_code(cells)
    to = (xy[0] + 4e-6, xy[1] - 3e-6)
    body = {"before": {"type": "FeatureCollection", "features": [cells_of[a], cells_of[b]]},
            "after": {"type": "FeatureCollection", "features": [moved(cells_of[a], xy, to), moved(cells_of[b], xy, to)]}}  # fmt: skip
    assert ask(server, plan_id, "check", body).json()["ok"] is True  # the admin may
    answer = ask(server, plan_id, "check", body, account="社区规划员").json()
    assert answer["ok"] is False
    assert {(p["properties"]["kind"], p["properties"]["code"]) for p in answer["problems"]["features"]} == {("edit_locked", a), ("edit_locked", b)}  # fmt: skip


def test_bad_bodies_get_a_clear_400_and_no_plan_a_404(server, plan):
    plan_id, _ = plan
    empty = {"type": "FeatureCollection", "features": []}
    r = ask(server, plan_id, "check", {"before": empty, "after": empty})
    assert r.status_code == 400 and "修改前" in r.json()["message_zh"]
    r = ask(server, plan_id, "check", {"before": {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None}]}, "after": empty})  # fmt: skip
    assert r.status_code == 400
    assert ask(server, 999_999, "check", {"before": empty, "after": empty}).status_code == 404


def test_a_plan_is_welded_once_so_a_t_junction_corner_moves_in_both_cells(server):
    r = http.post(server + "/api/plans", json={"name": "焊接", "grid_layer": "party"}, timeout=60)
    plan_id = r.json()["id"]
    cells = http.get(f"{server}/api/plans/{plan_id}").json()["cells"]
    x, y = shape(by_code(cells)["DJ101"]["geometry"]).centroid.coords[0]
    d = 1e-3  # about 100 m: two cells on the west, one on the east, as units paint them
    boxes = {"W1": shapely.box(x - d, y - d, x, y), "W2": shapely.box(x - d, y, x, y + d),
             "E": shapely.box(x, y - d, x + d, y + d)}  # fmt: skip
    fc = lambda *fs: {"type": "FeatureCollection", "features": list(fs)}  # noqa: E731
    painted = fc(*({"type": "Feature", "properties": {"code": c}, "geometry": mapping(g)} for c, g in boxes.items()))  # fmt: skip
    saved = http.put(f"{server}/api/plans/{plan_id}", json={"version": 1, "cells": painted}, timeout=60)  # fmt: skip
    assert saved.status_code == 200, saved.text
    stored = by_code(http.get(f"{server}/api/plans/{plan_id}").json()["cells"])
    m = next(tuple(c) for c in shapely.get_coordinates(shape(stored["W1"]["geometry"])) if np.allclose(c, (x, y), atol=1e-12))  # fmt: skip

    def has_m(f) -> bool:
        return any(np.allclose(c, m, rtol=0, atol=1e-12) for c in shapely.get_coordinates(shape(f["geometry"])))  # fmt: skip

    assert has_m(stored["W2"]) and not has_m(stored["E"])  # a T-junction
    to = (m[0] + 4e-6, m[1] - 3e-6)  # about half a metre east
    west = [stored["W1"], stored["W2"]]
    # unwelded, the corner moves in the western cells only: an overlap with E's straight edge
    alone = ask(server, plan_id, "check", {"before": fc(*west, stored["E"]), "after": fc(*(moved(f, m, to) for f in west), stored["E"])}).json()  # fmt: skip
    assert alone["ok"] is False

    answer = http.post(f"{server}/api/plans/{plan_id}/topology/weld", timeout=60).json()
    welded = by_code(answer["cells"])
    assert set(welded) == {"E"} and has_m(welded["E"]) and answer["welded"] == 1
    e_before, e_after = shape(stored["E"]["geometry"]), shape(welded["E"]["geometry"])
    assert e_after.area == pytest.approx(e_before.area, rel=1e-9)  # a vertex put on an edge
    e = {**stored["E"], "geometry": welded["E"]["geometry"]}
    e_m = next(tuple(c) for c in shapely.get_coordinates(e_after) if np.allclose(c, m, rtol=0, atol=1e-12))  # fmt: skip
    both = ask(server, plan_id, "check", {"before": fc(*west, e), "after": fc(*(moved(f, m, to) for f in west), moved(e, e_m, to))}).json()  # fmt: skip
    assert both["ok"] is True, both["message_en"]
    kept = by_code(both["cells"])
    assert {"W1", "W2", "E"} <= set(kept)
    assert all(any(np.allclose(c, to, atol=1e-9) for c in shapely.get_coordinates(shape(kept[k]["geometry"]))) for k in ("W1", "W2", "E"))  # fmt: skip
    again = http.post(f"{server}/api/plans/{plan_id}/topology/weld", headers=headers(server, "社区规划员"), timeout=60).json()  # fmt: skip
    assert again["cells"]["features"] == []  # these cells lie outside that planner's community

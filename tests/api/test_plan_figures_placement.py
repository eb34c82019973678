"""The editor's live figures and a plan's diff count each member where the analysis placed them
(落位, stored with its run), not where the placement rule would put them on the buildings in
view: a member the run placed in a building across a drawn border counts on that building's
side, and moves with it. Both databases."""

from __future__ import annotations

import pytest
import shapely
from factories import placed_by_an_analysis
from servers import demo_database, http, start_server
from shapely.geometry import mapping, shape

from gridmap.config import Settings
from gridmap.core.member_homes import placed_homes
from gridmap.crs import metric_crs_for
from gridmap.store.db import make_engine
from gridmap.store.features import read_features


@pytest.fixture(scope="module", params=["spatialite", "postgis"])
def served(request, tmp_path_factory):
    """(base URL, database URL) of a server on the demo, not analysed."""
    if request.param == "spatialite":
        url = f"sqlite:///{tmp_path_factory.mktemp('placed') / 'gridmap.db'}"
    else:
        url = request.getfixturevalue("postgis_cluster").create_db("placed")
    proc, base = start_server(demo_database(url, analyse=False))
    yield base, url
    proc.terminate()
    proc.wait(timeout=10)


def figures(base, plan_id, features) -> dict[str, dict]:
    body = {"cells": {"type": "FeatureCollection", "features": features}}
    r = http.post(f"{base}/api/plans/{plan_id}/figures", json=body, timeout=60)
    assert r.status_code == 200, r.text
    return {row["code"]: row for row in r.json()}


def moves(base, plan_id) -> dict[tuple[str, str], int]:
    r = http.get(f"{base}/api/plans/{plan_id}/diff", timeout=60)
    assert r.status_code == 200, r.text
    return {(m["from_code"], m["to_code"]): m["members"] for m in r.json()["moves"]}


def test_a_member_placed_across_a_drawn_border_counts_where_the_analysis_placed_them(served):
    base, url = served
    r = http.post(f"{base}/api/plans", json={"name": "落位", "grid_layer": "party"}, timeout=60)
    plan_id = r.json()["id"]
    cells = http.get(f"{base}/api/plans/{plan_id}").json()["cells"]["features"]
    engine = make_engine(Settings(database_url=url))
    with engine.connect() as conn:
        buildings = read_features(conn, "building")
        members = read_features(conn, "member")
    crs = metric_crs_for(buildings)
    buildings_m, members_m = buildings.to_crs(crs), members.to_crs(crs)
    rule = placed_homes(buildings_m.geometry.values, members_m.geometry.values)
    spots = shapely.point_on_surface(buildings.geometry.values)
    shapes = [shape(f["geometry"]) for f in cells]
    cell_of = [next((i for i, s in enumerate(shapes) if s.contains(p)), -1) for p in spots]
    # a member the rule puts in a building of cell A, and a building of a neighbouring cell B
    member = next(i for i, b in enumerate(rule) if b >= 0 and cell_of[b] >= 0)
    a = cell_of[rule[member]]
    b = next(i for i, s in enumerate(shapes) if i != a and s.touches(shapes[a]))
    other = next(i for i, c in enumerate(cell_of) if c == b)
    pair = [cells[a], cells[b]]
    pair = [{**f, "geometry": mapping(shape(f["geometry"]))} for f in pair]
    code_a, code_b = cells[a]["properties"]["code"], cells[b]["properties"]["code"]

    # the plan swaps the two cells' codes: every building of one moves to the other in the diff
    swap = {code_a: code_b, code_b: code_a}
    swapped = [{**f, "properties": {**f["properties"], "code": swap.get(f["properties"]["code"], f["properties"]["code"])}} for f in cells]  # fmt: skip
    saved = http.put(f"{base}/api/plans/{plan_id}", json={"version": 1, "cells": {"type": "FeatureCollection", "features": swapped}}, timeout=60)  # fmt: skip
    assert saved.status_code == 200, saved.text

    by_rule, moves_by_rule = figures(base, plan_id, pair), moves(base, plan_id)
    placed_by_an_analysis(engine, members["code"].iloc[member], buildings["code"].iloc[other])
    engine.dispose()
    by_placement, moves_by_placement = figures(base, plan_id, pair), moves(base, plan_id)

    assert by_placement[code_a]["members"] == by_rule[code_a]["members"] - 1
    assert by_placement[code_b]["members"] == by_rule[code_b]["members"] + 1
    assert by_placement[code_a]["households"] == by_rule[code_a]["households"]
    # in the diff, the member moves with the building the analysis placed them in
    assert moves_by_placement[(code_a, code_b)] == moves_by_rule[(code_a, code_b)] - 1
    assert moves_by_placement[(code_b, code_a)] == moves_by_rule[(code_b, code_a)] + 1

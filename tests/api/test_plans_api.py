"""Planners' API on a real server over the demo subdistrict, on both databases: every
validation rule with hand-made geometry, live figures, conflicts, diff, approval, import/export."""

from __future__ import annotations

import csv
import itertools
import json
import re
import subprocess

import httpx
import pytest
import shapely
from servers import ADMIN, demo_server, headers, http
from shapely.geometry import mapping


@pytest.fixture(scope="module", params=["spatialite", "postgis"])
def server(request, tmp_path_factory):
    yield from demo_server(request, tmp_path_factory, "plansapi", analyse=False)


def api(server, method, path, **kw) -> httpx.Response:
    return http.request(method, server + path, timeout=60, **kw)


@pytest.fixture
def plan(server):
    r = api(server, "POST", "/api/plans", json={"name": "测试方案", "grid_layer": "party"})  # fmt: skip
    assert r.status_code == 201, r.text
    meta = r.json()
    cells = api(server, "GET", f"/api/plans/{meta['id']}").json()["cells"]
    return meta["id"], cells


def feature(code, geom, **props):
    return {"type": "Feature", "properties": {"code": code, **props}, "geometry": mapping(geom)}


def shape_of(cells, code):
    return next(shapely.geometry.shape(f["geometry"]) for f in cells["features"] if f["properties"]["code"] == code)  # fmt: skip


def compound(server, code):
    hit = next(h for h in api(server, "GET", "/api/search", params={"q": code}).json() if h["code"] == code)  # fmt: skip
    return shapely.box(*hit["bbox"])


def test_a_new_plan_copies_the_party_grid(server, plan):
    plan_id, cells = plan
    assert len(cells["features"]) == 42
    listed = api(server, "GET", "/api/plans").json()
    assert any(p["id"] == plan_id and p["status"] == "draft" and p["version"] == 1 for p in listed)


def test_the_stored_demo_plan_has_its_planted_defects(server, plan):
    plan_id, _ = plan
    problems = api(server, "POST", f"/api/plans/{plan_id}/validate").json()["features"]
    found = {(p["properties"]["kind"], p["properties"]["code"]) for p in problems}
    # the demo's Party grid: DJ201/DJ202 overlap, DJ402 crosses into 玉林社区, XQ150 is split,
    # and 留白 around DJ503
    assert ("plan_overlap", "DJ201") in found
    assert ("plan_crosses_community", "DJ402") in found
    assert ("plan_cuts_compound", "XQ150") in found
    assert any(kind == "plan_uncovered" for kind, _ in found)


def test_validation_names_cells_communities_and_compounds_with_their_codes_in_brackets(server, plan):  # fmt: skip
    plan_id, cells = plan
    problems = [f["properties"] for f in api(server, "POST", f"/api/plans/{plan_id}/validate").json()["features"]]  # fmt: skip
    named = {f["properties"]["code"]: f["properties"]["name"] for f in cells["features"]}
    named |= {c["code"]: c["name"] for c in api(server, "GET", "/api/figures", params={"level": "community"}).json()}  # fmt: skip
    named["XQ150"] = next(h["name"] for h in api(server, "GET", "/api/search", params={"q": "XQ150"}).json() if h["code"] == "XQ150")  # fmt: skip
    crosses = next(p for p in problems if (p["kind"], p["code"]) == ("plan_crosses_community", "DJ402"))  # fmt: skip
    assert crosses["message_zh"].startswith(f"{named['DJ402']}（DJ402）越出")
    assert crosses["place"] == f"{named['DJ402']}（DJ402）"
    cut = next(p for p in problems if (p["kind"], p["code"]) == ("plan_cuts_compound", "XQ150"))
    assert f"{named['XQ150']}（XQ150）" in cut["message_zh"] and f"{named['XQ150']} (XQ150)" in cut["message_en"]  # fmt: skip
    # no named place is left a bare code, and no machine key is shown
    for p in problems:
        bare = [
            c for c in named if re.search(rf"(?<![（\w]){re.escape(c)}(?![）\w])", p["message_zh"])
        ]
        assert not bare, p["message_zh"]
        assert not re.search(r"plan_\w+|snap_compound|clip_to_community|fill_gap", p["message_zh"] + p["message_en"])  # fmt: skip


def test_live_figures_of_a_drawn_cell(server, plan):
    plan_id, cells = plan
    dj101 = shape_of(cells, "DJ101")
    r = api(server, "POST", f"/api/plans/{plan_id}/figures", json={"cells": {"type": "FeatureCollection", "features": [feature("NEW-1", dj101)]}})  # fmt: skip
    assert r.status_code == 200, r.text
    [figures] = r.json()
    assert figures["code"] == "NEW-1" and figures["households"] > 0 and figures["buildings"] > 0
    assert figures["members"] == figures["members_full"] + figures["members_probationary"] > 0
    assert figures["band"] in ("ok", "below", "above") and figures["compounds"]
    # half the cell holds fewer households, and the compounds it cuts are named with their share
    x0, y0, x1, y1 = dj101.bounds
    half = shapely.box(x0, y0, (x0 + x1) / 2, y1)
    [small] = api(server, "POST", f"/api/plans/{plan_id}/figures", json={"cells": {"type": "FeatureCollection", "features": [feature("NEW-2", half)]}}).json()  # fmt: skip
    assert small["households"] < figures["households"]


def test_each_rule_with_drawn_geometry(server, plan):
    plan_id, cells = plan
    features = [
        f for f in cells["features"] if f["properties"]["code"] not in ("DJ201", "DJ202", "DJ402")
    ]
    dj101 = shape_of(cells, "DJ101")
    x0, y0, x1, y1 = dj101.bounds
    # a cell that sticks 30 % into its eastern neighbour
    grown = shapely.box(x0, y0, x1 + (x1 - x0) * 0.3, y1)
    edited = [
        feature("DJ101", grown) if f["properties"]["code"] == "DJ101" else f for f in features
    ]
    r = api(server, "POST", f"/api/plans/{plan_id}/validate", json={"cells": {"type": "FeatureCollection", "features": edited}})  # fmt: skip
    found = {(p["properties"]["kind"], p["properties"]["code"]) for p in r.json()["features"]}
    strip = shapely.box(x1, y0, x1 + (x1 - x0) * 0.3, y1)
    neighbour = max(features, key=lambda f: shapely.geometry.shape(f["geometry"]).intersection(strip).area)  # fmt: skip
    neighbour = neighbour["properties"]["code"]
    assert ("plan_overlap", min("DJ101", neighbour)) in found
    pairs = {p["properties"]["codes"]: p["properties"]["measure"] for p in r.json()["features"] if p["properties"]["kind"] == "plan_overlap"}  # fmt: skip
    pair = ";".join(sorted(["DJ101", neighbour]))
    assert pairs[pair] > 1000
    # drawn back to its old shape, that overlap is gone
    back = [feature("DJ101", dj101) if f["properties"]["code"] == "DJ101" else f for f in features]
    r = api(server, "POST", f"/api/plans/{plan_id}/validate", json={"cells": {"type": "FeatureCollection", "features": back}})  # fmt: skip
    assert pair not in {p["properties"]["codes"] for p in r.json()["features"]}


def test_snap_fix_removes_the_cut(server, plan):
    plan_id, cells = plan
    r = api(server, "POST", f"/api/plans/{plan_id}/fix", json={"kind": "snap_compound", "code": "XQ150", "cells": cells})  # fmt: skip
    assert r.status_code == 200, r.text
    changed = {f["properties"]["code"]: f for f in r.json()["features"]}
    assert len(changed) >= 2
    fixed = {"type": "FeatureCollection", "features": [changed.get(f["properties"]["code"], f) for f in cells["features"]]}  # fmt: skip
    problems = api(server, "POST", f"/api/plans/{plan_id}/validate", json={"cells": fixed}).json()["features"]  # fmt: skip
    assert ("plan_cuts_compound", "XQ150") not in {(p["properties"]["kind"], p["properties"]["code"]) for p in problems}  # fmt: skip


def two_communities(server):
    """The outlines of two neighbouring communities of the demo and a point on their border."""
    fc = api(server, "GET", "/api/layers/community/features", params={"zoom": 20}).json()[
        "features"
    ]
    shapes = [shapely.geometry.shape(f["geometry"]) for f in fc]
    for sa, sb in itertools.combinations(shapes, 2):
        border = shapely.intersection(sa.boundary, sb.boundary)
        if border.length > 5e-3:  # some 500 m of common border
            return sa, sb, border.interpolate(0.5, normalized=True)
    raise AssertionError("no two neighbouring communities")


def test_clipping_a_cell_to_its_community_gives_the_cut_off_ground_to_its_neighbour(server, plan):
    plan_id, _ = plan
    sa, sb, p = two_communities(server)
    ground = shapely.union(sa, sb)
    x = shapely.intersection(shapely.box(p.x - 3e-4, p.y - 3e-4, p.x + 3e-4, p.y + 3e-4), ground)
    ring = shapely.difference(shapely.intersection(p.buffer(1e-3), ground), x)
    cells = {"type": "FeatureCollection", "features": [feature("X", x), feature("Y", ring)]}
    r = api(server, "POST", f"/api/plans/{plan_id}/fix", json={"kind": "clip_to_community", "code": "X", "cells": cells})  # fmt: skip
    assert r.status_code == 200, r.text
    got = {f["properties"]["code"]: shapely.geometry.shape(f["geometry"]) for f in r.json()["features"]}  # fmt: skip
    assert set(got) == {"X", "Y"}  # the neighbour took what X let go of: no 留白
    main = sa if x.intersection(sa).area >= x.intersection(sb).area else sb
    assert got["X"].area == pytest.approx(x.intersection(main).area, rel=1e-3)
    assert got["X"].area + got["Y"].area == pytest.approx(x.area + ring.area, rel=1e-6)
    assert got["X"].intersection(got["Y"]).area < 1e-12

    alone = {"type": "FeatureCollection", "features": [feature("X", x)]}  # no neighbour to take it
    r = api(server, "POST", f"/api/plans/{plan_id}/fix", json={"kind": "clip_to_community", "code": "X", "cells": alone})  # fmt: skip
    assert r.status_code == 400
    body = r.json()
    assert body["message_zh"].startswith("未修复") and "留白" in body["message_zh"]
    assert body["message_en"].startswith("Not fixed") and "gap" in body["message_en"]


def test_save_reload_and_a_stale_save_gets_409_with_who_and_when(server, plan):
    plan_id, cells = plan
    # two planners: who saved is the account of the request, never a name the client sends
    first = api(server, "PUT", f"/api/plans/{plan_id}", json={"version": 1, "cells": cells, "author": "冒名者"}, headers=headers(server, "规划员甲"))  # fmt: skip
    assert first.status_code == 200 and first.json()["version"] == 2
    assert first.json()["saved_by"] == "规划员甲"
    stale = api(server, "PUT", f"/api/plans/{plan_id}", json={"version": 1, "cells": cells}, headers=headers(server, "规划员乙"))  # fmt: skip
    assert stale.status_code == 409
    body = stale.json()
    assert "规划员甲" in body["message_zh"] and "version 2" in body["message_en"]
    assert api(server, "GET", f"/api/plans/{plan_id}").json()["version"] == 2


def test_bad_cells_are_a_clear_4xx(server, plan):
    plan_id, cells = plan
    no_code = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": cells["features"][0]["geometry"]}]}  # fmt: skip
    r = api(server, "PUT", f"/api/plans/{plan_id}", json={"version": 1, "cells": no_code})  # fmt: skip
    assert r.status_code == 422 and "code" in r.text
    projected = {"type": "FeatureCollection", "features": [feature("X", shapely.box(500000, 3300000, 500100, 3300100))]}  # fmt: skip
    r = api(server, "POST", f"/api/plans/{plan_id}/figures", json={"cells": projected})
    assert r.status_code == 400 and "WGS84" in r.text
    assert api(server, "PUT", f"/api/plans/{plan_id}", json={"cells": cells}).status_code == 422  # fmt: skip
    assert api(server, "GET", "/api/plans/99999").status_code == 404


def test_diff_and_approval(server, plan):
    plan_id, cells = plan
    # move DJ101's eastern third into DJ102
    dj101, dj102 = shape_of(cells, "DJ101"), shape_of(cells, "DJ102")
    x0, y0, x1, y1 = dj101.bounds
    cut = shapely.box(x0 + (x1 - x0) * 2 / 3, y0 - 1, x1 + 1, y1 + 1)
    edited = []
    for f in cells["features"]:
        code = f["properties"]["code"]
        if code == "DJ101":
            f = feature(code, dj101.difference(cut), **{k: v for k, v in f["properties"].items() if k != "code"})  # fmt: skip
        elif code == "DJ102":
            f = feature(code, dj102.union(dj101.intersection(cut)), **{k: v for k, v in f["properties"].items() if k != "code"})  # fmt: skip
        edited.append(f)
    saved = api(server, "PUT", f"/api/plans/{plan_id}", json={"version": 1, "cells": {"type": "FeatureCollection", "features": edited}})  # fmt: skip
    assert saved.status_code == 200, saved.text
    d = api(server, "GET", f"/api/plans/{plan_id}/diff").json()
    changes = {c["code"]: c["change"] for c in d["cells"]}
    assert changes == {"DJ101": "reshaped", "DJ102": "reshaped"}
    [move] = [m for m in d["moves"] if m["from_code"] == "DJ101"]
    assert move["to_code"] == "DJ102" and move["buildings"] > 0 and move["households"] > 0
    assert api(server, "POST", f"/api/plans/{plan_id}/approve", json={"version": 1}).status_code == 409  # fmt: skip
    ok = api(server, "POST", f"/api/plans/{plan_id}/approve", json={"version": 2})
    assert ok.status_code == 200 and ok.json()["replaced"] == 42
    layer = api(server, "GET", "/api/layers/grid:party/features").json()["features"]
    now = next(shapely.geometry.shape(f["geometry"]) for f in layer if f["properties"]["code"] == "DJ102")  # fmt: skip
    assert now.area > dj102.area * 1.1
    assert api(server, "GET", f"/api/plans/{plan_id}").json()["status"] == "approved"


def test_export_and_import_a_plan_through_qgis_formats(server, plan, tmp_path):
    plan_id, _ = plan
    for fmt in ("geojson", "gpkg"):
        r = api(server, "GET", f"/api/plans/{plan_id}/export", params={"format": fmt})
        assert r.status_code == 200 and "filename*=UTF-8''" in r.headers["content-disposition"]
        path = tmp_path / f"plan.{fmt}"
        path.write_bytes(r.content)
        info = subprocess.run(["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True, text=True)  # fmt: skip
        assert info.returncode == 0 and "Feature Count: 42" in info.stdout, info.stderr
        assert re.search(r"members_full: Integer", info.stdout) and "band: String" in info.stdout
    with open(tmp_path / "plan.gpkg", "rb") as fh:
        r = api(server, "POST", "/api/plans/import", data={"name": "QGIS 方案"}, files={"file": ("方案.gpkg", fh)}, headers=headers(server, "规划员乙"))  # fmt: skip
    assert r.status_code == 201, r.text
    imported = api(server, "GET", f"/api/plans/{r.json()['id']}").json()
    assert len(imported["cells"]["features"]) == 42 and imported["created_by"] == "规划员乙"
    broken = api(server, "POST", "/api/plans/import", data={"name": "x"}, files={"file": ("x.geojson", b'{"type": "FeatureCollection", "features": [')})  # fmt: skip
    assert broken.status_code == 400
    assert json.loads(broken.text)["message_zh"]


def test_an_automatic_proposal_names_the_places_it_could_not_satisfy(server):
    r = api(server, "POST", "/api/plans/propose", json={"name": "自动划分名称测试"})
    assert r.status_code == 201, r.text
    outside = next(p for p in r.json()["problems"] if p["kind"] == "compound_outside_community")
    name = next(h["name"] for h in api(server, "GET", "/api/search", params={"q": "XQ169"}).json() if h["code"] == "XQ169")  # fmt: skip
    assert outside["message_zh"].startswith(f"小区{name}（XQ169）")
    assert outside["message_en"].startswith(f"Compound {name} (XQ169)")


def live_figures(server, plan_id, cells, account) -> dict[str, dict]:
    """The editor's figures of ``cells`` as ``account`` sees them, by code."""
    r = api(server, "POST", f"/api/plans/{plan_id}/figures", json={"cells": cells}, headers=headers(server, account))  # fmt: skip
    assert r.status_code == 200, r.text
    return {f["code"]: f for f in r.json()}


def test_an_export_carries_each_cells_figures_and_hides_members_as_elsewhere(server, plan):
    plan_id, cells = plan
    band = {"ok": "within", "below": "below", "above": "above"}
    figures = ("households", "buildings", "members_full", "members_probationary", "members_hidden")
    exported = {f["properties"]["code"]: f["properties"] for f in api(server, "GET", f"/api/plans/{plan_id}/export").json()["features"]}  # fmt: skip
    live = live_figures(server, plan_id, cells, ADMIN)
    assert set(exported) == set(live) and len(exported) == 42
    for code, cell in exported.items():
        assert [cell[k] for k in figures] == [live[code][k] for k in figures], code
        assert cell["band"] == band[live[code]["band"]]
        assert cell["compounds"] == len([c for c in live[code]["compounds"].split(";") if c])
        assert cell["compounds_cut"] == live[code]["compounds_cut"]
    # a viewer's CSV hides what the editor hides from a planner of the same area (both masked)
    seen = api(server, "GET", f"/api/plans/{plan_id}/export", params={"format": "csv"}, headers=headers(server, "查看者"))  # fmt: skip
    rows = {r["code"]: r for r in csv.DictReader(seen.text.lstrip("\ufeff").splitlines())}
    masked = live_figures(server, plan_id, cells, "规划员甲")
    hidden = {code for code, f in masked.items() if f["members_hidden"]}
    assert hidden and hidden == {code for code, r in rows.items() if r["members_hidden"]}
    assert all(rows[c]["members_full"] == "" for c in hidden)
    shown = sorted(set(rows) - hidden)[0]
    assert (
        float(rows[shown]["members_full"])
        == masked[shown]["members_full"]
        == live[shown]["members_full"]
    )


def test_a_plan_compared_with_the_current_layer_scores_both_and_maps_what_changes_grid(
    server, plan
):
    plan_id, cells = plan
    dj101 = live_figures(server, plan_id, cells, ADMIN)["DJ101"]
    for f in cells["features"]:  # the same ground under a new code: all of it changes grid
        f["properties"]["code"] = "DJ199" if f["properties"]["code"] == "DJ101" else f["properties"]["code"]  # fmt: skip
    saved = api(server, "PUT", f"/api/plans/{plan_id}", json={"version": 1, "cells": cells})
    assert saved.status_code == 200, saved.text
    params = {"a": "layer:party", "b": str(plan_id)}
    found = api(server, "GET", "/api/plans/compare", params=params).json()
    scores = {s["key"]: s for s in found["scores"]}
    assert scores["cells"]["a"] == scores["cells"]["b"] == 42
    assert scores["overlaps"]["a"] == scores["overlaps"]["b"] >= 1  # DJ201/DJ202, in both
    assert scores["households_moved"]["between"] == dj101["households"]
    assert scores["members_moved"]["between"] == dj101["members"]
    [piece] = found["differences"]["features"]
    assert (piece["properties"]["a_code"], piece["properties"]["b_code"]) == ("DJ101", "DJ199")
    seen = {s["key"]: s for s in api(server, "GET", "/api/plans/compare", params=params, headers=headers(server, "查看者")).json()["scores"]}  # fmt: skip
    assert seen["households_moved"]["between"] == dj101["households"]
    assert (seen["cells_without_branch"]["a"], seen["cells_without_branch"]["hidden"]) == (
        None,
        "role",
    )
    assert (seen["members_moved"]["between"], seen["members_moved"]["hidden"]) == (dj101["members"], None)  # fmt: skip
    page = api(server, "GET", "/plans/compare", params=params)
    assert page.status_code == 200 and "方案比较" in page.text and "DJ199" in page.text
    assert api(server, "GET", "/api/plans/compare", params={"a": "9999999999", "b": "layer:party"}).status_code == 404  # fmt: skip

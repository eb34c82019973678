"""Who may do what, where: every route for every role (own area and another area), masking of
personal data, the audit trail, and the browser session (cookie flags, CSRF, redirects).

One real server per database on the analysed demo, with the test accounts of ``servers.py``:
an admin; planners of the subdistrict (甲, 乙) and of community 510199001002; a coordinator of
锦绣社区 (510199001001) and one of its first unified grid; a viewer of the subdistrict.
"""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from html import unescape

import geopandas as gpd
import httpx
import pytest
import shapely
from servers import ACCOUNTS, ADMIN, PASSWORD, TOKENS, demo_database, headers, start_server
from sqlalchemy import select, text, update

from gridmap import login_throttle
from gridmap.api.app import create_app
from gridmap.config import Settings
from gridmap.permissions import PERMISSIONS, Principal, denied
from gridmap.store.db import make_engine
from gridmap.store.features import read_features
from gridmap.store.models import ApiToken, ChangeLog, LoginThrottle
from gridmap.store.placement import placements_of
from gridmap.store.results import latest_run

JINXIU, NEIGHBOUR = "510199001001", "510199001002"  # 锦绣社区 and the community next to it
GRID, GRID2, OTHER_GRID = JINXIU + "001", JINXIU + "002", NEIGHBOUR + "001"  # unified grid cells
OPENAPI = create_app(Settings(database_url="sqlite://")).openapi()

# What each operation needs beyond "view"; a route missing here needs "view" (see test below).
NEEDS = {
    ("GET", "/api/audit"): "accounts",
    ("GET", "/api/audit.csv"): "accounts",
    ("POST", "/api/plans"): "edit_plan",
    ("POST", "/api/plans/import"): "edit_plan",
    ("POST", "/api/plans/propose"): "edit_plan",
    ("PUT", "/api/plans/{plan_id}"): "edit_plan",
    ("POST", "/api/plans/{plan_id}/figures"): "edit_plan",
    ("POST", "/api/plans/{plan_id}/validate"): "edit_plan",
    ("POST", "/api/plans/{plan_id}/fix"): "edit_plan",
    ("POST", "/api/plans/{plan_id}/shapes"): "edit_plan",
    ("POST", "/api/plans/{plan_id}/topology/check"): "edit_plan",
    ("POST", "/api/plans/{plan_id}/topology/carve"): "edit_plan",
    ("POST", "/api/plans/{plan_id}/topology/weld"): "edit_plan",
    ("POST", "/api/plans/{plan_id}/approve"): "approve_plan",
    ("POST", "/api/fabric/cells"): "edit_plan",
    ("POST", "/api/fabric/import"): "edit_plan",
}
PAGES = {"/": "view", "/map": "view", "/members": "view", "/editor": "edit_plan", "/admin/audit": "accounts"}  # fmt: skip
PUBLIC = ("/openapi.json", "/docs", "/login", "/static/gridmap/map.js", "/favicon.ico")
OPERATIONS = sorted(
    (method.upper(), path)
    for path, ops in OPENAPI["paths"].items()
    for method in ops
    if path not in PUBLIC
)


@pytest.fixture(scope="module", params=["spatialite", "postgis"])
def demo(request, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """(base URL, database URL) of a server on the analysed demo, with a draft plan (id 1)."""
    if request.param == "spatialite":
        url = f"sqlite:///{tmp_path_factory.mktemp('auth') / 'gridmap.db'}"
    else:
        url = request.getfixturevalue("postgis_cluster").create_db("auth")
    proc, base = start_server(demo_database(url))
    plan = httpx.post(base + "/api/plans", json={"name": "权限测试"}, headers=headers(base), timeout=60)  # fmt: skip
    assert plan.status_code == 201 and plan.json()["id"] == 1, plan.text
    yield base, url
    proc.terminate()
    proc.wait(timeout=10)


def call(base: str, method: str, path: str, name: str | None, **kw) -> httpx.Response:
    """``method path`` as account ``name`` (``None``: anonymous)."""
    fillers = {"layer": "building", "level": "community", "code": JINXIU, "plan_id": "1",
               "cid": "building", "fid": "XQ001-01", "z": "16", "x": "52000", "y": "26000"}  # fmt: skip
    url = base + re.sub(r"\{(\w+)\}", lambda m: fillers[m.group(1)], path)
    auth = headers(base, name) if name else {}
    return httpx.request(method, url, headers=auth, timeout=60, follow_redirects=False, **kw)


# --- every route, every role ---------------------------------------------------------------


def test_every_operation_of_the_api_is_in_the_matrix():
    """A new route must say what it needs: the matrix below covers every operation."""
    assert {op for op in NEEDS} <= set(OPERATIONS)
    assert set(PERMISSIONS) >= set(NEEDS.values()) | set(PAGES.values())
    assert len(OPERATIONS) > 30


def test_every_refusal_reads_as_a_sentence_in_both_languages():
    viewer = Principal("查看者", "viewer", "510199001")
    english = {
        "view": "view maps and figures",
        "personal": "see members' personal data",
        "edit_plan": "edit grid plans",
        "approve_plan": "approve grid plans",
        "import": "import data",
        "accounts": "manage accounts or read the audit log",
    }
    assert set(english) == set(PERMISSIONS)
    for action, what in english.items():
        error = denied(viewer, action)
        assert error.message_en == f"The viewer account 查看者 may not {what}."
        assert re.fullmatch(r"查看者账号 查看者 无权\w{2,}。", error.message_zh), error.message_zh


@pytest.mark.parametrize("operation", OPERATIONS, ids=" ".join)
def test_role_matrix(demo, operation):
    base, _ = demo
    method, path = operation
    needs = NEEDS.get(operation, "view")
    # changes are sent without a body: an account that passes the checks gets 422, not 403
    anonymous = call(base, method, path, None)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    for name, (role, _area) in ACCOUNTS.items():
        r = call(base, method, path, name)
        if role in PERMISSIONS[needs]:  # (404 where the filled-in unit is outside the area)
            assert r.status_code not in (401, 403) and r.status_code < 500, (name, r.text)
        else:
            assert r.status_code == 403, (name, r.text)
            assert name in r.json()["message_zh"], r.text


@pytest.mark.parametrize("page", sorted(PAGES))
def test_pages_send_strangers_to_the_login_and_refuse_roles_that_may_not(demo, page):
    base, _ = demo
    stranger = call(base, "GET", page, None, params={"a": "1"})
    assert stranger.status_code == 303
    assert stranger.headers["location"] == f"/login?next={page.replace('/', '%2F')}%3Fa%3D1"
    for name, (role, _area) in ACCOUNTS.items():
        r = httpx.get(base + page, headers={**headers(base, name), "Accept": "text/html"}, timeout=60)  # fmt: skip
        if role in PERMISSIONS[PAGES[page]]:
            assert r.status_code == 200 and name in r.text, name
        else:  # a page, not JSON, saying why
            assert r.status_code == 403 and "text/html" in r.headers["content-type"]
            assert name in r.text and "无权" in r.text


@pytest.mark.parametrize("path", PUBLIC)
def test_public_paths_need_no_login(demo, path):
    base, _ = demo
    assert httpx.get(base + path, timeout=30).status_code in (200, 204)


def test_tokens_of_another_scheme_or_unknown_are_refused(demo):
    base, url = demo
    for value in ("Basic dGVzdDp0ZXN0", "Bearer gm_unknown", "Bearer"):
        r = httpx.get(base + "/api/layers", headers={"Authorization": value}, timeout=30)
        assert r.status_code == 401 and r.json()["message_en"], value
    # a token's use is recorded (at most once an hour, not on every request)
    engine = make_engine(Settings(database_url=url))
    with engine.connect() as conn:
        used = conn.execute(select(ApiToken.last_used_at).where(ApiToken.label == "tests")).scalars().all()  # fmt: skip
    engine.dispose()
    assert any(u is not None for u in used)


# --- areas ---------------------------------------------------------------------------------


FIGURES = {  # account → (level, code) → status
    "社区协调员": {("community", JINXIU): 200, ("community", NEIGHBOUR): 404,
                 ("grid", GRID): 200, ("grid", OTHER_GRID): 404},
    "网格协调员": {("grid", GRID): 200, ("grid", GRID2): 404, ("community", JINXIU): 404},
    "社区规划员": {("community", NEIGHBOUR): 200, ("community", JINXIU): 404, ("grid", OTHER_GRID): 200},
    "查看者": {("community", NEIGHBOUR): 200, ("grid", GRID2): 200},
    ADMIN: {("community", NEIGHBOUR): 200, ("grid", OTHER_GRID): 200},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figures_outside_the_area_are_404_as_if_absent(demo, name):
    base, _ = demo
    for (level, code), status in FIGURES[name].items():
        r = call(base, "GET", f"/api/figures/{level}/{code}", name)
        assert r.status_code == status, (name, level, code, r.text)
    absent = call(base, "GET", "/api/figures/community/NOPE", name).json()
    if 404 in FIGURES[name].values():
        level, code = next(k for k, v in FIGURES[name].items() if v == 404)
        hidden = call(base, "GET", f"/api/figures/{level}/{code}", name).json()
        assert hidden.keys() == absent.keys() and hidden["error"] == absent["error"]


def test_lists_hold_only_the_area(demo):
    base, _ = demo
    mine = call(base, "GET", "/api/figures", "社区协调员").json()
    assert {f["level"] for f in mine} == {"community", "grid", "compound"}
    assert {f["community_code"] or f["code"] for f in mine} == {JINXIU}
    grid_only = call(base, "GET", "/api/figures", "网格协调员").json()
    assert [(f["level"], f["code"]) for f in grid_only] == [("grid", GRID)]
    everything = call(base, "GET", "/api/figures", "查看者").json()
    assert len(everything) > len(mine) and any(f["level"] == "subdistrict" for f in everything)

    # gaps: the planted 留白 of DJ503 (community 510199001005) only for those whose area holds it
    def gap_codes(name):
        return {(g["properties"]["kind"], g["properties"]["code"]) for g in call(base, "GET", "/api/gaps", name).json()["features"]}  # fmt: skip

    assert ("uncovered_area", "DJ503") in gap_codes("查看者")
    assert ("uncovered_area", "DJ503") not in gap_codes("社区协调员")
    jinxiu = call(base, "GET", "/api/gaps", "社区协调员").json()["features"]
    assert jinxiu and all(g["properties"]["community_code"] in (None, "", JINXIU) for g in jinxiu)
    # the map's legend counts what the account's gap list holds, and opens on the area
    html = httpx.get(base + "/map", headers=headers(base, "社区协调员"), timeout=60).text
    config = json.loads(unescape(re.search(r"data-config='([^']*)'", html).group(1)))
    legend = {row["kind"]: row["count"] for row in config["gaps"] if row["count"]}
    assert legend == dict(Counter(g["properties"]["kind"] for g in jinxiu))
    admin_html = httpx.get(base + "/map", headers=headers(base), timeout=60).text
    whole = json.loads(unescape(re.search(r"data-config='([^']*)'", admin_html).group(1)))["bounds"]
    mine = shapely.box(*config["bounds"])
    assert (
        shapely.box(*whole).buffer(1e-9).contains(mine) and mine.area < shapely.box(*whole).area / 3
    )
    proposals = call(base, "GET", "/api/proposals", "社区协调员").json()["features"]
    assert proposals and {p["properties"]["community_code"] for p in proposals} - {None, ""} == {
        JINXIU
    }


def _members_in(url: str, community: str) -> set[str]:
    """Members whose home lies in ``community``, by a spatial join of the stored layers."""
    engine = make_engine(Settings(database_url=url))
    with engine.connect() as conn:
        members = read_features(conn, "member")
        communities = read_features(conn, "community")
    engine.dispose()
    one = communities[communities["code"] == community]
    return set(gpd.sjoin(members, one[["geometry"]], predicate="within")["code"])


def test_members_only_of_the_area_and_masked_unless_the_role_may(demo):
    base, url = demo
    expected = _members_in(url, JINXIU)
    assert 100 < len(expected) < 3069
    full = call(base, "GET", "/api/members", ADMIN, params={"place": JINXIU, "limit": 5000}).json()
    assert not full["masked"] and {m["code"] for m in full["members"]} == expected
    real = {m["code"]: m for m in full["members"]}
    coordinator = call(base, "GET", "/api/members", "社区协调员", params={"limit": 5000}).json()
    assert not coordinator["masked"] and {m["code"] for m in coordinator["members"]} == expected
    assert all(m == real[m["code"]] for m in coordinator["members"])
    for name in ("查看者", "规划员甲"):
        masked = call(base, "GET", "/api/members", name, params={"place": JINXIU, "limit": 5000})
        body = masked.json()
        # no member one by one: no code, building, status or masked name to place at a home
        assert body["masked"] and body["members"] == [] and body["total"] == len(expected)
        assert sum(c["members"] for c in body["compounds"]) == len(expected)
        assert body["full"] == sum(c["members_full"] for c in body["compounds"])
        assert not [
            o for o in real.values() if o["code"] in masked.text or o["name"] in masked.text
        ]
        assert "building" not in masked.text and "reported" not in masked.text
    # another community's members: 404, the same answer as for a place that does not exist
    other = call(base, "GET", "/api/members", "社区协调员", params={"place": NEIGHBOUR})
    nowhere = call(base, "GET", "/api/members", "社区协调员", params={"place": "NOPE"})
    assert other.status_code == nowhere.status_code == 404
    assert other.json()["error"] == nowhere.json()["error"]
    grid = call(base, "GET", "/api/members", "网格协调员", params={"place": JINXIU})
    assert grid.status_code == 404  # a grid's coordinator does not see the whole community


def test_members_show_the_building_the_analysis_placed_them_in(demo):
    """DY00001 lives at 锦绣花园6栋 (XQ001-06); the demo's members.csv has no 楼栋 column."""
    base, _ = demo
    body = call(base, "GET", "/api/members", ADMIN, params={"limit": 5000}).json()
    assert body["total"] == len(body["members"]) == 3069
    building = {m["code"]: m["building_code"] for m in body["members"]}
    assert building["DY00001"] == "XQ001-06" and building["DY-NEAR"] == "XQ005-01"
    assert building["DY-FAR"] is None  # the one member the analysis places nowhere
    page = httpx.get(base + "/members", params={"place": JINXIU}, headers=headers(base), timeout=60).text  # fmt: skip
    row = re.search(r"<tr>(?:(?!</tr>).)*DY00001(?:(?!</tr>).)*</tr>", page, re.S)
    assert row and "<td>XQ001-06</td>" in row.group(0)


def test_member_pages_show_masked_roles_counts_per_compound_only(demo):
    base, _ = demo
    real = call(base, "GET", "/api/members", ADMIN, params={"place": JINXIU, "limit": 5000}).json()["members"]  # fmt: skip
    page = {n: httpx.get(base + "/members", params={"place": JINXIU}, headers=headers(base, n), timeout=60).text for n in ("社区协调员", "查看者")}  # fmt: skip
    for m in real[:3]:
        assert m["name"] in page["社区协调员"] and m["phone"] in page["社区协调员"]
    assert not [m for m in real if m["code"] in page["查看者"] or m["phone"][-4:] + "<" in page["查看者"]]  # fmt: skip
    assert 'id="masked-note"' in page["查看者"] and 'id="masked-note"' not in page["社区协调员"]
    counts = call(base, "GET", "/api/members", "查看者", params={"place": JINXIU}).json()[
        "compounds"
    ]
    rows = re.findall(r"<tr><td>([^<]*)</td><td>[^<]*</td><td>(\d+)</td><td>(\d+)</td></tr>", page["查看者"])  # fmt: skip
    assert rows == [(c["code"] or "—", str(c["members"]), str(c["members_full"])) for c in counts]
    # the compounds of the place, as many members as live there by a spatial join
    assert sum(int(n) for _, n, _ in rows) == len(real) and len(rows) > 3


def test_members_are_never_a_map_layer_or_an_ogc_collection(demo):
    base, _ = demo
    assert call(base, "GET", "/api/layers/member/features", ADMIN).status_code == 404
    assert call(base, "GET", "/ogc/collections/member/items", ADMIN).status_code == 404


def test_member_exports_only_for_roles_that_may_only_of_their_area_and_audited(demo, tmp_path):
    base, url = demo
    for name in ("查看者", "规划员甲"):
        for personal in ("true", "false"):
            r = call(base, "GET", "/api/export/member", name, params={"format": "csv", "include_personal": personal})  # fmt: skip
            assert r.status_code == 403, name
    r = call(base, "GET", "/api/export/member", "社区协调员", params={"format": "csv", "include_personal": "true"})  # fmt: skip
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {row["code"] for row in rows} == _members_in(url, JINXIU)
    assert all(row["name"] and "*" not in row["name"] for row in rows)
    audit = call(base, "GET", "/api/audit", ADMIN, params={"action": "export_personal", "actor": "社区协调员"}).json()  # fmt: skip
    assert audit["total"] >= 1
    entry = audit["entries"][0]["summary"]
    assert entry["area"] == JINXIU and entry["features"] == len(rows) and entry["format"] == "csv"


def test_member_exports_without_personal_data_place_members_by_compound_only(demo):
    """A home is personal data: no 经度/纬度, no building, only the compound's code."""
    base, url = demo
    r = call(base, "GET", "/api/export/member", "社区协调员", params={"format": "csv"})
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {row["code"] for row in rows} == _members_in(url, JINXIU)
    assert set(rows[0]) == {"code", "category", "in_service", "reported", "org_name", "compound_code", "source", "repair_note", "updated_at"}  # fmt: skip
    placed = {row["code"]: row["compound_code"] for row in rows}
    assert placed["DY00001"] == "XQ001"  # 锦绣花园6栋 is XQ001-06
    geojson = call(base, "GET", "/api/export/member", "社区协调员", params={"format": "geojson"}).json()  # fmt: skip
    assert {f["geometry"] for f in geojson["features"]} == {None}
    personal = call(base, "GET", "/api/export/member", "社区协调员", params={"format": "csv", "include_personal": "true"})  # fmt: skip
    assert "经度" in personal.text.splitlines()[0]  # asked for, with the role that may: homes too


def test_a_planner_changes_only_the_cells_of_their_area(demo):
    base, _ = demo
    plan = call(base, "POST", "/api/plans", "社区规划员", json={"name": "社区方案"}).json()
    cells = call(base, "GET", f"/api/plans/{plan['id']}", "社区规划员").json()["cells"]

    def shrunk(code):
        features = []
        for f in cells["features"]:
            if f["properties"]["code"] == code:
                geom = shapely.geometry.shape(f["geometry"])
                f = {**f, "geometry": shapely.geometry.mapping(geom.buffer(-0.0002))}
            features.append(f)
        return {"type": "FeatureCollection", "features": features}

    refused = call(base, "PUT", f"/api/plans/{plan['id']}", "社区规划员", json={"version": 1, "cells": shrunk("DJ101")})  # fmt: skip
    assert refused.status_code == 403
    assert "DJ101" in refused.json()["message_zh"] and NEIGHBOUR in refused.json()["message_zh"]
    saved = call(base, "PUT", f"/api/plans/{plan['id']}", "社区规划员", json={"version": 1, "cells": shrunk("DJ201")})  # fmt: skip
    assert saved.status_code == 200 and saved.json()["saved_by"] == "社区规划员"
    # proposing for another community: 404; approving: admins only
    other = call(base, "POST", "/api/plans/propose", "社区规划员", json={"name": "x", "community": JINXIU})  # fmt: skip
    assert other.status_code == 404
    assert call(base, "POST", f"/api/plans/{plan['id']}/approve", "规划员甲", json={"version": 2}).status_code == 403  # fmt: skip


# --- the audit trail -------------------------------------------------------------------------


def test_audit_trail_for_admins_as_json_and_csv(demo):
    base, url = demo
    saves = call(base, "GET", "/api/audit", ADMIN, params={"action": "plan_create"}).json()
    assert saves["total"] >= 1 and all(e["action"] == "plan_create" for e in saves["entries"])
    assert saves["entries"][0]["action_zh"] == "新建方案"
    r = call(base, "GET", "/api/audit.csv", ADMIN)
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0] == "编号 id" and len(rows) - 1 == call(base, "GET", "/api/audit", ADMIN).json()["total"]  # fmt: skip
    assert any(row[3] == "import" for row in rows[1:])
    assert not [row for row in rows if PASSWORD in ",".join(row)]
    page = httpx.get(base + "/admin/audit", headers=headers(base), timeout=30)
    assert page.status_code == 200 and 'id="audit"' in page.text and "新建方案" in page.text
    # append-only: the database itself refuses to change or remove an entry
    engine = make_engine(Settings(database_url=url))
    with pytest.raises(Exception, match=r"(?i)append-only|change_log"), engine.begin() as conn:
        conn.execute(text("UPDATE change_log SET actor = 'x'"))
    with engine.connect() as conn:
        assert "x" not in conn.execute(select(ChangeLog.actor)).scalars().all()
    engine.dispose()


# --- the browser session ---------------------------------------------------------------------


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_login_session_cookie_csrf_and_logout(demo):
    base, _ = demo
    with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as browser:
        form = browser.get("/login", params={"next": "/members"})
        assert form.status_code == 200 and 'name="password"' in form.text
        wrong = browser.post("/login", data={"name": "社区协调员", "password": "wrong-password", "csrf": _csrf(form.text), "next": "/members"})  # fmt: skip
        assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
        no_csrf = browser.post("/login", data={"name": "社区协调员", "password": PASSWORD})
        assert no_csrf.status_code == 403
        ok = browser.post("/login", data={"name": "社区协调员", "password": PASSWORD, "csrf": _csrf(wrong.text), "next": "/members"})  # fmt: skip
        assert ok.status_code == 303 and ok.headers["location"] == "/members"
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
        assert browser.get("/api/me").json() == {
            "name": "社区协调员", "role": "coordinator", "role_zh": "网格协调员", "area": JINXIU,
            "area_name": "锦绣社区",
            "may": {"view": True, "personal": True, "edit_plan": False, "approve_plan": False,
                    "import": False, "accounts": False},
        }  # fmt: skip
        page = browser.get("/members")
        assert page.status_code == 200
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        # a change with the cookie but without the page's token is refused (another site's form)
        assert browser.post("/logout").status_code == 403
        assert browser.get("/api/me").status_code == 200
        saved = dict(browser.cookies)  # what someone who copied the cookie holds
        assert browser.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 303
        assert browser.get("/api/me").status_code == 401
    # the session ended on the server: the cookie saved before the logout is refused
    assert httpx.get(base + "/api/me", cookies=saved, timeout=30).status_code == 401


def _logged_in(base: str, name: str) -> tuple[httpx.Client, str]:
    """A browser logged in as ``name``, and its page's CSRF token."""
    browser = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    form = browser.get("/login")
    ok = browser.post("/login", data={"name": name, "password": PASSWORD, "csrf": _csrf(form.text)})  # fmt: skip
    assert ok.status_code == 303, ok.text
    page = browser.get("/members")
    return browser, re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


def test_log_out_everywhere_ends_the_accounts_other_browsers(demo):
    base, _ = demo
    office, office_csrf = _logged_in(base, "规划员乙")
    home, _ = _logged_in(base, "规划员乙")
    other, _ = _logged_in(base, "查看者")
    try:
        assert home.get("/api/me").status_code == 200
        assert 'name="everywhere"' in office.get("/members").text  # the button on every page
        ended = office.delete("/api/me/sessions", headers={"X-CSRF-Token": office_csrf})
        assert ended.status_code == 200 and ended.json() == {"ended": 2}
        assert home.get("/api/me").status_code == 401 and office.get("/api/me").status_code == 401
        assert other.get("/api/me").status_code == 200  # another account's session stays
        # the form's button does the same
        first, csrf = _logged_in(base, "规划员乙")
        second, _ = _logged_in(base, "规划员乙")
        assert first.post("/logout", data={"csrf": csrf, "everywhere": "true"}).status_code == 303
        assert second.get("/api/me").status_code == 401
        first.close(), second.close()
    finally:
        for browser in (office, home, other):
            browser.close()
    audit = call(base, "GET", "/api/audit", ADMIN, params={"action": "logout_everywhere", "actor": "规划员乙"}).json()  # fmt: skip
    assert [e["summary"]["sessions_ended"] for e in audit["entries"]][:2] == [2, 2]  # newest


def test_login_sends_only_to_pages_of_this_site(demo):
    base, _ = demo
    with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as browser:
        for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
            form = browser.get("/login")
            r = browser.post("/login", data={"name": ADMIN, "password": PASSWORD, "csrf": _csrf(form.text), "next": target})  # fmt: skip
            assert r.status_code == 303 and r.headers["location"] == "/map", target


def test_failed_logins_are_recorded_once_per_window_without_the_password(demo):
    base, url = demo
    with httpx.Client(base_url=base, timeout=60, headers={"X-Forwarded-For": "10.9.0.1"}) as browser:  # fmt: skip
        for _ in range(2):
            form = browser.get("/login")
            browser.post("/login", data={"name": "查看者", "password": "guess-123456", "csrf": _csrf(form.text)})  # fmt: skip
    engine = make_engine(Settings(database_url=url))
    with engine.begin() as conn:  # let the window close early; reading the trail writes it
        table = LoginThrottle.__table__
        [(row_id, start)] = conn.execute(select(table.c.id, table.c.window_start).where(table.c.address == "10.9.0.1")).all()  # fmt: skip
        conn.execute(update(table).where(table.c.id == row_id).values(window_start=start - login_throttle.WINDOW))  # fmt: skip
    engine.dispose()
    failed = call(base, "GET", "/api/audit", ADMIN, params={"action": "login_failed", "actor": "查看者"}).json()  # fmt: skip
    mine = [e["summary"] for e in failed["entries"] if e["summary"]["address"] == "10.9.0.1"]
    assert [(e["failures"], e["window_minutes"]) for e in mine] == [(2, 15)]
    assert "guess-123456" not in str(call(base, "GET", "/api/audit", ADMIN, params={"limit": 1000}).json())  # fmt: skip


def test_the_test_tokens_are_distinct_per_account(demo):
    base, _ = demo
    assert len(set(TOKENS[base].values())) == len(ACCOUNTS)


def _attempt(base: str, name: str, password: str, address: str) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=60, headers={"X-Forwarded-For": address}) as browser:  # fmt: skip
        form = browser.get("/login").text
        return browser.post("/login", data={"name": name, "password": password, "csrf": _csrf(form)})  # fmt: skip


def test_guessing_a_password_slows_the_guesser_not_the_owner(demo):
    """Three free tries per name and address, then waits of 1, 2, 4 … s after each failure: a
    refused try never reaches the password check; the owner, elsewhere, logs in at once."""
    base, _ = demo
    guesser = "10.9.1.66"
    tries = [_attempt(base, "规划员甲", f"guess-{i}", guesser) for i in range(3)]
    assert [r.status_code for r in tries] == [401] * 3
    waits = []
    for i in range(10):  # guess on, waiting out each refusal, until a wait of 4 s or more
        r = _attempt(base, "规划员甲", f"guess-more-{i}", guesser)
        assert r.status_code in (401, 429), r.text
        if r.status_code == 429:
            assert "登录失败次数过多" in r.text and "秒后再试" in r.text
            waits.append(int(r.headers["retry-after"]))
            if waits[-1] >= 4:
                break
            time.sleep(waits[-1])
    assert waits and waits[-1] >= 4 and all(w in (1, 2, 3, 4, 8) for w in waits), waits
    refused = _attempt(base, "规划员甲", PASSWORD, guesser)  # even the right password must wait
    assert refused.status_code == 429
    assert _attempt(base, "规划员甲", PASSWORD, "10.9.1.1").status_code == 303  # the owner
    time.sleep(int(refused.headers["retry-after"]) + 0.5)
    assert _attempt(base, "规划员甲", PASSWORD, guesser).status_code == 303  # a wait, no lock


def test_an_unknown_name_gets_the_same_answers_in_the_same_time(demo):
    base, _ = demo

    def answers(name: str, address: str) -> tuple[list, list[float]]:
        statuses, times = [], []
        for i in range(4):
            started = time.perf_counter()
            r = _attempt(base, name, f"guess-{i}", address)
            times.append(time.perf_counter() - started)
            body = re.search(r'<p class="error"[^>]*>(.*?)</p>', r.text, re.S).group(1)
            statuses.append((r.status_code, r.headers.get("retry-after"), body.replace(name, "NAME")))  # fmt: skip
        return statuses, times

    known, known_times = answers("查看者", "10.9.2.1")
    unknown, unknown_times = answers("没有这个账号", "10.9.2.2")
    # the fourth try comes within the first wait (1 s) or after it, on either name alike
    assert known[:3] == unknown[:3] and [s for s, _, _ in known[:3]] == [401, 401, 401]
    assert known[3][0] in (401, 429) and unknown[3][0] in (401, 429)
    if known[3][0] == unknown[3][0]:
        assert known[3] == unknown[3]
    # the password check costs the same for both (Argon2 on a dummy hash for unknown names)
    assert 0.5 < statistics.median(known_times[:3]) / statistics.median(unknown_times[:3]) < 2


def test_members_gaps_only_for_roles_that_may_see_personal_data(demo):
    """在职党员未报到 is drawn at the member's home and names them: counts only for the others."""
    base, _ = demo

    def kinds(name, path, **params):
        body = call(base, "GET", path, name, params=params).json()
        rows = body["features"] if "features" in body else body["gaps"]
        return {(r.get("properties") or r)["layer"] for r in rows}

    for name in ("社区协调员", ADMIN):
        assert "member" in kinds(name, "/api/gaps", kind="member_not_reported")
        assert "member" in kinds(name, "/api/gaps/list", kind="member_not_reported")
    for name in ("查看者", "规划员甲"):
        assert kinds(name, "/api/gaps", kind="member_not_reported") == set()
        assert kinds(name, "/api/gaps/list", kind="member_not_reported") == set()
        exported = call(base, "GET", "/api/export/gaps", name, params={"format": "csv"}).text
        assert "member_not_reported" not in exported and "DY-NOREP" not in exported
    assert "DY-NOREP" in call(base, "GET", "/api/export/gaps", ADMIN, params={"format": "csv"}).text
    # the grid of a member who has not reported: the unit's gaps name them only for coordinators
    grid = call(base, "GET", f"/api/figures/grid/{GRID}", "社区协调员").json()
    viewer = call(base, "GET", f"/api/figures/grid/{GRID}", "查看者").json()
    assert viewer["gaps"] == [g for g in grid["gaps"] if g["layer"] != "member"]


# --- counts of drawn shapes: no member located by probing ----------------------------------


def _home(url: str, code: str) -> tuple[shapely.Polygon, int]:
    """The building the analysis placed member ``code`` in (落位), and how many members it placed
    in the buildings whose representative point lies in :func:`_probe`'s box around it: a member
    counts in the cell of their building, as every figure counts them."""
    engine = make_engine(Settings(database_url=url))
    with engine.connect() as conn:
        placed = placements_of(conn, latest_run(conn, "analyze"))["building_code"]
        buildings = read_features(conn, "building")
    engine.dispose()
    home = buildings.loc[buildings["code"] == placed[code]].geometry.iloc[0]
    box = shapely.geometry.shape(_probe(home)["features"][0]["geometry"])
    inside = buildings.loc[buildings.representative_point().within(box), "code"]
    return home, int(placed.isin(set(inside)).sum())


def _probe(home, code: str = "PROBE", margin: float = 1e-5) -> dict:
    """A FeatureCollection of one box around ``home`` (a building: its outline and ~1 m more)."""
    box = shapely.box(*shapely.buffer(shapely.envelope(home), margin, join_style="mitre").bounds)
    feature = {"type": "Feature", "properties": {"code": code}, "geometry": shapely.geometry.mapping(box)}  # fmt: skip
    return {"type": "FeatureCollection", "features": [feature]}


def test_a_box_around_a_home_locates_no_member(demo):
    """DY00001 lives in 锦绣社区: a box drawn around the home building counts its one or two
    members for those who may see personal data there, "<3" for a planner of the subdistrict,
    nothing outside an area."""
    base, url = demo
    home, living = _home(url, "DY00001")
    assert 1 <= living < 3  # DY00001 and perhaps a member of the same household
    probe = {"cells": _probe(home)}

    def figures(name):
        r = call(base, "POST", "/api/plans/1/figures", name, json=probe)
        assert r.status_code == 200, r.text
        [row] = r.json()
        return row

    admin = figures(ADMIN)
    assert (admin["members"], admin["members_hidden"], admin["members_min_shown"]) == (
        living,
        None,
        3,
    )
    assert admin["members"] == admin["members_full"] + admin["members_probationary"]
    planner = figures("规划员甲")  # in the area, may not see personal data
    assert [planner[k] for k in ("members", "members_full", "members_probationary", "members_hidden")] == [None, None, None, "few"]  # fmt: skip
    assert planner["households"] == admin["households"]  # buildings are no secret
    neighbour = figures("社区规划员")  # a planner of the community next door
    assert (neighbour["members"], neighbour["members_hidden"]) == (None, "outside_area")
    # a box with no member at all is no different: "0" against "<3" would still find homes
    at = home.centroid
    spots = [{"cells": _probe(shapely.Point(at.x + dx, at.y), margin=5e-5)} for dx in (3e-4, 6e-4, -3e-4, -6e-4)]  # fmt: skip
    empty = next(s for s in spots if call(base, "POST", "/api/plans/1/figures", ADMIN, json=s).json()[0]["members"] == 0)  # fmt: skip
    [nothing] = call(base, "POST", "/api/plans/1/figures", "规划员甲", json=empty).json()
    assert (nothing["members"], nothing["members_hidden"]) == (None, "few")


def test_whole_cells_of_the_plan_are_counted_for_masked_roles_too(demo):
    base, _ = demo
    cells = call(base, "GET", "/api/plans/1", ADMIN).json()["cells"]
    whole = {"type": "FeatureCollection", "features": cells["features"][:6]}
    admin = call(base, "POST", "/api/plans/1/figures", ADMIN, json={"cells": whole}).json()
    planner = call(base, "POST", "/api/plans/1/figures", "规划员甲", json={"cells": whole}).json()
    assert planner == admin and all(row["members_hidden"] is None for row in planner)
    # the same outline under a new code is a drawn shape: small counts hidden again
    renamed = [{**f, "properties": {**f["properties"], "code": "NEW-" + f["properties"]["code"]}} for f in whole["features"]]  # fmt: skip
    drawn = call(base, "POST", "/api/plans/1/figures", "规划员甲", json={"cells": {"type": "FeatureCollection", "features": renamed}}).json()  # fmt: skip
    for row, exact in zip(drawn, admin, strict=True):
        assert row["members"] == (exact["members"] if exact["members"] >= 3 else None)


def test_members_moving_in_a_diff_are_counted_as_in_figures(demo):
    """A plan cutting a box around DY00001's home building out of its grid: the move of that one
    household is counted for the admin, "<3" for a viewer, not counted for another
    community's planner."""
    base, url = demo
    home, living = _home(url, "DY00001")
    plan = call(base, "POST", "/api/plans", ADMIN, json={"name": "差异计数"}).json()
    cells = call(base, "GET", f"/api/plans/{plan['id']}", ADMIN).json()["cells"]
    [probe] = _probe(home, "DJ-PROBE")["features"]
    box = shapely.geometry.shape(probe["geometry"])
    features = []
    for f in cells["features"]:
        geom = shapely.geometry.shape(f["geometry"])
        if geom.intersects(box):
            f = {**f, "geometry": shapely.geometry.mapping(geom.difference(box))}
        features.append(f)
    body = {"version": 1, "cells": {"type": "FeatureCollection", "features": [*features, probe]}}
    assert call(base, "PUT", f"/api/plans/{plan['id']}", ADMIN, json=body).status_code == 200

    def move(name):
        moves = call(base, "GET", f"/api/plans/{plan['id']}/diff", name).json()["moves"]
        return next(m for m in moves if m["to_code"] == "DJ-PROBE")

    assert move(ADMIN)["members"] == living
    assert (move("查看者")["members"], move("查看者")["members_hidden"]) == (None, "few")
    assert (move("社区规划员")["members"], move("社区规划员")["members_hidden"]) == (None, "outside_area")  # fmt: skip
    assert move("社区协调员")["members"] == living  # may see personal data, in 锦绣社区
    # saved, the box is a cell of the plan, but no grid's: still a drawn shape
    saved = {"type": "FeatureCollection", "features": [probe]}
    [admin] = call(base, "POST", f"/api/plans/{plan['id']}/figures", ADMIN, json={"cells": saved}).json()  # fmt: skip
    [planner] = call(base, "POST", f"/api/plans/{plan['id']}/figures", "规划员甲", json={"cells": saved}).json()  # fmt: skip
    assert (admin["members"], planner["members"], planner["members_hidden"]) == (living, None, "few")  # fmt: skip


def test_an_account_of_one_community_reads_only_its_community_of_the_summary(demo):
    base, _ = demo
    whole = call(base, "GET", "/api/summary", "查看者").json()  # its area: the whole subdistrict
    assert whole["counts"]["households"] > 0 and whole["gaps"] and "" in whole["staffing"]
    mine = call(base, "GET", "/api/summary", "社区协调员").json()
    assert set(mine) == {"run", "version", "base", "unchecked", "staffing"}
    assert set(mine["staffing"]) == {JINXIU} and mine["unchecked"] == whole["unchecked"]

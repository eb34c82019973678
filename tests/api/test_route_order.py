"""The routers a view asks on every pan are matched first, and every request still resolves to the
endpoint it resolved to in the order the routers were declared before.

FastAPI tries each route in turn (about 5 µs a route): an OGC request behind every other router
tried 50 routes before its own (``benchmarks/RESULTS.md``, gridmap's floor over the HTTP peer).
Moving routers ahead is safe only while none of their paths is matched by a route they now come
before, and none of theirs matches another router's path: checked here for a sample path of every
route and method, and for paths near them.
"""

from __future__ import annotations

import re

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from starlette.routing import Match

from gridmap.api.app import create_app
from gridmap.api.routes import (
    analysis,
    audit,
    board,
    exports,
    fabric,
    features,
    gaps,
    layers,
    members,
    ogc,
    people,
    plans,
    session,
    tiles,
)  # fmt: skip
from gridmap.auth import add_account, issue_token
from gridmap.config import Settings
from gridmap.store.db import transaction

# the order the routers were included in before the street-level ones were moved first
DECLARED = [session, layers, features, tiles, gaps, analysis, exports, plans, fabric, members,
            board, people, audit, ogc]  # fmt: skip
HOT = [tiles, features, ogc]
SAMPLE = {"IntegerConvertor": "7", "FloatConvertor": "1.5", "PathConvertor": "a/b"}


def _app():
    return create_app(Settings(database_url="sqlite://", seed_cache=False))


def _router_of(entry):
    """The router an app entry includes (FastAPI keeps included routers whole), or None."""
    return getattr(entry, "original_router", None)


def _flat(entries) -> list:
    """The routes in the order they are tried."""
    out = []
    for entry in entries:
        router = _router_of(entry)
        out.extend(_flat(router.routes) if router is not None else [entry])
    return out


def _declared_order(entries) -> list:
    """The app's entries with the routers put back in :data:`DECLARED` order, where the first
    of them stood (the app's own routes before, static files and pages after)."""
    position = {id(m.router): i for i, m in enumerate(DECLARED)}
    routers = [e for e in entries if _router_of(e) is not None and id(_router_of(e)) in position]
    first = entries.index(routers[0])
    rest = [e for e in entries if e not in routers]
    ordered = sorted(routers, key=lambda e: position[id(_router_of(e))])
    return rest[:first] + ordered + rest[first:]


def _sample(route) -> str:
    def value(match: re.Match) -> str:
        convertor = route.param_convertors.get(match.group(1))
        return SAMPLE.get(type(convertor).__name__, "x1")

    return re.sub(r"{([^}:]+)(?::[^}]*)?}", value, route.path_format)


def _resolve(routes: list, method: str, path: str):
    """The route the router picks: the first full match, else the first partial (405)."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "",
             "query_string": b"", "headers": []}  # fmt: skip
    partial = None
    for route in routes:
        match, _ = route.matches(dict(scope))
        if match == Match.FULL:
            return route
        if match == Match.PARTIAL and partial is None:
            partial = route
    return partial


def _requests(routes: list) -> list[tuple[str, str]]:
    asked = set()
    for route in routes:
        if not getattr(route, "path_format", None):
            continue
        path = _sample(route)
        for method in sorted(getattr(route, "methods", None) or {"GET"}):
            for variant in (path, path + "/", path + "/x1", path.rsplit("/", 1)[0] or "/"):
                asked.add((method, variant))
    asked |= {("GET", "/static/gridmap/map.js"), ("GET", "/ogc/"), ("GET", "/nowhere")}
    return sorted(asked)


def test_every_request_resolves_as_in_the_declared_order():
    entries = list(_app().router.routes)
    now, before = _flat(entries), _flat(_declared_order(entries))
    assert sorted(map(id, now)) == sorted(map(id, before))  # the same routes, reordered
    asked = _requests(now)
    assert len(asked) > 200
    moved = [(m, p) for m, p in asked if _resolve(now, m, p) is not _resolve(before, m, p)]
    assert moved == []


def test_the_street_level_routes_are_tried_first():
    routes = _flat(_app().router.routes)
    hot = {id(r) for m in HOT for r in m.router.routes}
    ahead = 0
    while id(routes[ahead]) not in hot:  # the app's own /openapi.json and /docs
        ahead += 1
    assert ahead <= 3
    assert {id(r) for r in routes[ahead : ahead + len(hot)]} == hot
    items = _resolve(routes, "GET", "/ogc/collections/building/items")
    assert items.endpoint.__name__ == "items"
    assert routes.index(items) < 10  # 54 before


@pytest.fixture
def viewer(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'g.db'}", seed_cache=False)
    app = create_app(settings)
    from gridmap.store.schema import upgrade

    upgrade(app.state.engine)
    with transaction(app.state.engine) as conn:
        add_account(conn, "测试查看者", "viewer", "C1", "long enough 100", actor="tests")
        token = issue_token(conn, "测试查看者", "QGIS", actor="tests")
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


@pytest.mark.parametrize("path", ["/ogc", "/ogc/conformance", "/ogc/conformance?f=html"])
def test_constant_documents_take_no_worker_thread(viewer, monkeypatch, path):
    assert viewer.get(path).status_code == 200  # the token looked up, and remembered
    real, calls = anyio.to_thread.run_sync, []

    async def counted(func, *args, **kwargs):
        calls.append(func)
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    response = viewer.get(path)
    assert response.status_code == 200
    assert calls == []
    if "html" not in path:
        assert response.json()["links"][0]["rel"] == "self"


def test_constant_documents_still_need_a_login(viewer):
    anonymous = TestClient(viewer.app)
    answer = anonymous.get("/ogc/conformance")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")

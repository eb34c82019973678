"""The requests of a street-level view (OGC items, the map's layer) take one worker thread call:
the connection is checked out, used and closed in it, and the login, the role check and the
parameter checks run in the event loop. A sync dependency or route added to their path puts
the waits for a thread back (three per request before; ``benchmarks/RESULTS.md``)."""

from __future__ import annotations

import anyio.to_thread
import pytest
from factories import buildings_frame
from fastapi.testclient import TestClient
from sqlalchemy import event

from gridmap.api.app import create_app
from gridmap.auth import add_account, issue_token
from gridmap.config import Settings
from gridmap.loading import load_file
from gridmap.store.db import transaction

STREET = "bbox=-180,-90,180,90"
PATHS = {
    "items": f"/ogc/collections/building/items?{STREET}&limit=100",
    "map": f"/api/layers/building/features?{STREET}&zoom=17",
}


@pytest.fixture
def served(db_settings, tmp_path):
    """A client with a viewer's token on an app whose database holds 5 buildings."""
    settings = Settings(database_url=db_settings.database_url, seed_cache=False)
    app = create_app(settings)
    buildings_frame(5).to_file(tmp_path / "b.geojson")
    load_file(app.state.engine, "building", tmp_path / "b.geojson")
    with transaction(app.state.engine) as conn:
        add_account(conn, "测试查看者", "viewer", "C1", "long enough 100", actor="tests")
        token = issue_token(conn, "测试查看者", "QGIS", actor="tests")
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client, app


def _worker_calls(monkeypatch, client, path: str):
    """The response to ``path`` and the functions handed to a worker thread meanwhile."""
    real, calls = anyio.to_thread.run_sync, []

    async def counted(func, *args, **kwargs):
        calls.append(getattr(func, "__qualname__", repr(func)))
        return await real(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    try:
        return client.get(path), calls
    finally:
        monkeypatch.undo()


@pytest.mark.parametrize("kind", PATHS)
def test_a_street_level_request_takes_one_worker_thread_call(served, monkeypatch, kind):
    client, app = served
    assert client.get(PATHS[kind]).status_code == 200  # the token looked up, and remembered
    response, calls = _worker_calls(monkeypatch, client, PATHS[kind])
    assert response.status_code == 200, response.text
    assert len(response.json()["features"]) == 5
    if kind == "map":  # the map's answers keep their validator
        assert response.headers["ETag"] and response.headers["Cache-Control"] == "private, no-cache"
    assert len(calls) == 1, calls
    assert app.state.engine.pool.checkedout() == 0  # and its connection given back


def _in_transaction(dbapi_connection) -> bool:
    info = getattr(dbapi_connection, "info", None)  # psycopg; sqlite3 has in_transaction
    if info is not None and hasattr(info, "transaction_status"):
        return info.transaction_status.name != "IDLE"
    return dbapi_connection.in_transaction


@pytest.mark.parametrize("kind", PATHS)
def test_a_street_level_request_reads_outside_a_transaction(served, kind):
    """No BEGIN before its statements and no ROLLBACK after them: two round trips of four."""
    client, app = served
    assert client.get(PATHS[kind]).status_code == 200  # the token looked up, and remembered
    seen = []

    def after(_conn, cursor, statement, *_args):
        seen.append((statement.split()[0], _in_transaction(cursor.connection)))

    event.listen(app.state.engine, "after_cursor_execute", after)
    try:
        assert client.get(PATHS[kind]).status_code == 200
    finally:
        event.remove(app.state.engine, "after_cursor_execute", after)
    assert seen and not any(open_ for _, open_ in seen), seen


@pytest.mark.parametrize(
    ("path", "status", "zh"),
    [
        ("/ogc/collections/nosuch/items", 404, "没有图层"),
        ("/api/layers/nosuch/features", 404, "没有图层"),
        ("/api/layers/building/features?bbox=1,2,3", 400, "bbox 应为"),
        ("/ogc/collections/building/items?datetime=yesterday", 400, "RFC 3339"),
    ],
)
def test_a_refused_street_level_request_gives_its_connection_back(served, path, status, zh):
    client, app = served
    response = client.get(path)
    assert response.status_code == status, response.text
    body = response.json()
    assert zh in body["message_zh"] and body["message_en"]
    assert app.state.engine.pool.checkedout() == 0

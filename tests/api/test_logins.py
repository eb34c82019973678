"""Who a token or session is, remembered by the server for a few seconds: looked up once in a
while instead of on every request, and forgotten the moment this process logs out, revokes a
token, changes a password or disables an account — the next request is refused, not a few
seconds later. Only a change made by another process waits for the memory to expire."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, update

from gridmap.api.app import create_app
from gridmap.api.logins import REMEMBER_SECONDS, RecentLogins
from gridmap.auth import (
    add_account,
    change_password,
    disable_account,
    issue_token,
    revoke_token,
)
from gridmap.config import Settings
from gridmap.permissions import Principal
from gridmap.store.db import transaction
from gridmap.store.models import ApiToken

PASSWORD = "long enough 100"


@pytest.fixture
def served(db_settings):
    """A client of an app on a fresh database with one coordinator and two tokens, and a count
    of the statements that read the tokens' or sessions' tables."""
    settings = Settings(database_url=db_settings.database_url, seed_cache=False)
    app = create_app(settings)
    with transaction(app.state.engine) as conn:
        add_account(conn, "测试协调员", "coordinator", "C1", PASSWORD, actor="tests")
        tokens = [issue_token(conn, "测试协调员", label, actor="tests") for label in ("QGIS", "script")]  # fmt: skip
    lookups = {"token": 0, "session": 0}

    def count(_conn, _cursor, statement, *_args):
        text = statement.lower()
        if text.lstrip().startswith("select"):
            lookups["token"] += "from account join api_token" in text
            lookups["session"] += "from account join login_session" in text

    event.listen(app.state.engine, "before_cursor_execute", count)
    with TestClient(app) as client:
        yield client, app, tokens, lookups


def me(client, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/api/me", headers=headers).status_code


def test_a_token_is_looked_up_once_while_it_is_remembered(served):
    client, _app, (qgis, script), lookups = served
    assert [me(client, qgis) for _ in range(5)] == [200] * 5
    assert me(client, script) == 200
    assert lookups["token"] == 2  # one per token, not one per request


def test_a_token_revoked_in_this_process_is_refused_at_once(served):
    client, app, (qgis, script), _ = served
    assert me(client, qgis) == 200 and me(client, script) == 200
    with transaction(app.state.engine) as conn:
        revoke_token(conn, "测试协调员", "QGIS", actor="tests")
    assert me(client, qgis) == 401
    assert me(client, script) == 200  # the other token stays


def test_a_disabled_account_is_refused_at_once(served):
    client, app, (qgis, _), _ = served
    assert me(client, qgis) == 200
    with transaction(app.state.engine) as conn:
        disable_account(conn, "测试协调员", actor="tests")
    assert me(client, qgis) == 401


def _log_in(client) -> str:
    form = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    ok = client.post("/login", data={"name": "测试协调员", "password": PASSWORD, "csrf": csrf},
                     follow_redirects=False)  # fmt: skip
    assert ok.status_code == 303, ok.text
    return client.get("/members").text


def test_a_session_is_remembered_and_ends_at_once_with_a_new_password(served):
    client, app, _, lookups = served
    _log_in(client)
    assert [me(client) for _ in range(4)] == [200] * 4
    assert lookups["session"] == 1  # by the page after the login, then remembered
    with transaction(app.state.engine) as conn:
        change_password(conn, "测试协调员", "another secret 100", actor="tests")
    assert me(client) == 401


def test_a_logout_ends_the_remembered_session_at_once(served):
    client, _, _, _ = served
    page = _log_in(client)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    assert me(client) == 200
    cookies = dict(client.cookies)
    assert client.post("/logout", headers={"X-CSRF-Token": csrf}, follow_redirects=False).status_code == 303  # fmt: skip
    client.cookies.update(cookies)  # the cookie saved before the logout
    assert me(client) == 401


def test_a_change_made_by_another_process_counts_once_the_memory_expires(served):
    client, app, (qgis, _), _ = served
    now = [1000.0]
    app.state.logins = RecentLogins(clock=lambda: now[0])
    assert me(client, qgis) == 200
    with transaction(app.state.engine) as conn:  # as `gridmap user revoke` would, elsewhere
        conn.execute(update(ApiToken).where(ApiToken.label == "QGIS").values(revoked=True))
    assert me(client, qgis) == 200  # remembered: this process was not told
    now[0] += REMEMBER_SECONDS
    assert me(client, qgis) == 401


def test_a_lookup_made_before_a_change_is_not_remembered_past_it():
    from gridmap.auth import accounts_changed, accounts_version

    logins, who = RecentLogins(), Principal("测试", "viewer", "C1")
    before = accounts_version()
    accounts_changed()  # a change lands while the lookup runs
    logins.remember("token", "gm_x", who, before)
    assert logins.recall("token", "gm_x") is None
    logins.remember("token", "gm_x", who, accounts_version())
    assert logins.recall("token", "gm_x") == who
    assert logins.recall("session", "gm_x") is None  # a session id is not a token


def test_the_memory_keeps_at_most_its_size():
    from gridmap.auth import accounts_version

    now = [0.0]
    logins = RecentLogins(seconds=5, size=3, clock=lambda: now[0])
    who, version = Principal("测试", "viewer", "C1"), accounts_version()
    for i in range(3):
        logins.remember("token", f"t{i}", who, version)
    now[0] = 6  # all three expired: dropped to make room
    logins.remember("token", "t3", who, version)
    assert len(logins._seen) == 1 and logins.recall("token", "t3") == who
    for i in range(4, 7):  # none expired: all forgotten rather than grow
        logins.remember("token", f"t{i}", who, version)
    assert len(logins._seen) == 1 and logins.recall("token", "t6") == who

"""Accounts and tokens in both databases: hashed, checked, logged, never stored in clear."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gridmap import login_throttle
from gridmap.auth import (  # fmt: skip
    add_account,
    authenticate,
    change_password,
    count_accounts,
    disable_account,
    end_session,
    end_sessions,
    issue_token,
    revoke_token,
    session_principal,
    start_session,
    token_principal,
)
from gridmap.errors import AuthError, ConflictError, GridmapError, NotFoundError
from gridmap.permissions import Principal
from gridmap.store.models import Account, ApiToken, ChangeLog, LoginSession, LoginThrottle


def test_password_is_hashed_and_checked(engine):
    with engine.begin() as conn:
        add_account(conn, "网格员甲", "coordinator", "510199001001", "correct horse 100", actor="admin")  # fmt: skip
    with engine.connect() as conn:
        stored = conn.execute(select(Account.password_hash)).scalar_one()
        assert "correct horse" not in stored and stored.startswith("$argon2id$")
        who = authenticate(conn, "网格员甲", "correct horse 100")
    assert who == Principal("网格员甲", "coordinator", "510199001001")
    assert who.may("personal") and not who.may("edit_plan")
    with pytest.raises(AuthError), engine.connect() as conn:
        authenticate(conn, "网格员甲", "wrong password")
    with pytest.raises(AuthError) as unknown, engine.connect() as conn:
        authenticate(conn, "nobody", "correct horse 100")
    assert "Wrong name or password" in str(unknown.value)  # the same answer: no account probing


def test_rules_for_new_accounts(engine):
    with engine.begin() as conn:
        add_account(conn, "admin", "admin", None, "long enough", actor="cli")
        with pytest.raises(ConflictError):
            add_account(conn, "admin", "admin", None, "long enough", actor="cli")
        with pytest.raises(GridmapError, match="area"):
            add_account(conn, "v", "viewer", None, "long enough", actor="cli")
        with pytest.raises(GridmapError, match="role"):
            add_account(conn, "x", "superuser", None, "long enough", actor="cli")
        with pytest.raises(GridmapError, match="8"):
            add_account(conn, "y", "admin", None, "short", actor="cli")
        assert count_accounts(conn) == 1
        actions = conn.execute(select(ChangeLog.action, ChangeLog.summary)).all()
    assert [a for a, _ in actions] == ["account_add"]
    assert "long enough" not in str(actions)


def test_tokens_are_returned_once_and_stored_as_digests(engine):
    with engine.begin() as conn:
        add_account(conn, "规划员", "planner", "510199001", "long enough", actor="cli")
        token = issue_token(conn, "规划员", "QGIS", actor="cli")
    with engine.begin() as conn:
        assert token_principal(conn, token) == Principal("规划员", "planner", "510199001")
        digest, used = conn.execute(select(ApiToken.digest, ApiToken.last_used_at)).one()
    assert token not in digest and used is not None
    with pytest.raises(AuthError), engine.begin() as conn:
        token_principal(conn, token + "x")


def test_a_disabled_account_can_neither_log_in_nor_use_its_tokens(engine):
    with engine.begin() as conn:
        add_account(conn, "协调员", "coordinator", "510199001001", "long enough", actor="cli")
        token = issue_token(conn, "协调员", "QGIS", actor="cli")
        other = issue_token(conn, "协调员", "script", actor="cli")
        session = start_session(conn, "协调员", IDLE)
    with engine.begin() as conn:
        assert disable_account(conn, "协调员", actor="admin") == 2
        assert count_accounts(conn) == 0
    with engine.begin() as conn:
        for t in (token, other):
            with pytest.raises(AuthError):
                token_principal(conn, t)
        with pytest.raises(AuthError):
            authenticate(conn, "协调员", "long enough")
        with pytest.raises(NotFoundError):
            disable_account(conn, "协调员", actor="admin")
        entry = conn.execute(select(ChangeLog.summary).where(ChangeLog.action == "account_disable")).scalar_one()  # fmt: skip
    assert entry == {"account": "协调员", "tokens_revoked": 2, "sessions_ended": 1}
    with engine.connect() as conn:
        assert session_principal(conn, session, IDLE) is None


# --- browser sessions ------------------------------------------------------------------------

IDLE = timedelta(hours=8)


def test_a_session_is_looked_up_and_ends_with_its_logout(engine):
    with engine.begin() as conn:
        add_account(conn, "查看者甲", "viewer", "510199001", "long enough", actor="cli")
        mine, other = start_session(conn, "查看者甲", IDLE), start_session(conn, "查看者甲", IDLE)
        digests = conn.execute(select(LoginSession.digest)).scalars().all()
    assert mine not in str(digests) and len(digests) == 2  # only digests are stored
    with engine.connect() as conn:
        assert session_principal(conn, mine, IDLE) == Principal("查看者甲", "viewer", "510199001")
    with engine.begin() as conn:
        end_session(conn, mine)
    with engine.connect() as conn:
        assert session_principal(conn, mine, IDLE) is None  # the saved cookie is worth nothing
        assert session_principal(conn, other, IDLE) is not None  # the other browser stays
        assert session_principal(conn, other, timedelta(0)) is None  # idle too long: ended
        assert conn.execute(select(LoginSession.id)).all() == []


def test_a_password_change_ends_every_session_and_is_audited(engine):
    with engine.begin() as conn:
        add_account(conn, "规划员", "planner", "510199001", "long enough", actor="cli")
        sessions = [start_session(conn, "规划员", IDLE) for _ in range(2)]
        token = issue_token(conn, "规划员", "QGIS", actor="cli")
        with pytest.raises(GridmapError, match="8"):
            change_password(conn, "规划员", "short", actor="cli")
        assert change_password(conn, "规划员", "a new secret 100", actor="cli") == 2
    with engine.connect() as conn:
        assert [session_principal(conn, s, IDLE) for s in sessions] == [None, None]
        assert token_principal(conn, token).name == "规划员"  # tokens stay
        with pytest.raises(AuthError):
            authenticate(conn, "规划员", "long enough")
        assert authenticate(conn, "规划员", "a new secret 100").name == "规划员"
        entry = conn.execute(select(ChangeLog.actor, ChangeLog.summary).where(ChangeLog.action == "password_change")).one()  # fmt: skip
    assert tuple(entry) == ("cli", {"account": "规划员", "sessions_ended": 2})
    assert "a new secret" not in str(entry)
    with pytest.raises(NotFoundError), engine.begin() as conn:
        change_password(conn, "nobody", "long enough", actor="cli")


def test_log_out_everywhere_ends_only_that_accounts_sessions(engine):
    with engine.begin() as conn:
        add_account(conn, "甲", "viewer", "510199001", "long enough", actor="cli")
        add_account(conn, "乙", "viewer", "510199001", "long enough", actor="cli")
        a = [start_session(conn, "甲", IDLE) for _ in range(3)]
        b = start_session(conn, "乙", IDLE)
        assert end_sessions(conn, "甲", actor="甲") == 3
    with engine.connect() as conn:
        assert [session_principal(conn, s, IDLE) for s in a] == [None] * 3
        assert session_principal(conn, b, IDLE).name == "乙"
        entry = conn.execute(select(ChangeLog.summary).where(ChangeLog.action == "logout_everywhere")).scalar_one()  # fmt: skip
    assert entry == {"account": "甲", "sessions_ended": 3}


def test_a_token_is_revoked_by_its_label_and_audited(engine):
    with engine.begin() as conn:
        add_account(conn, "协调员", "coordinator", "510199001001", "long enough", actor="cli")
        qgis = issue_token(conn, "协调员", "QGIS", actor="cli")
        script = issue_token(conn, "协调员", "script", actor="cli")
        assert revoke_token(conn, "协调员", "QGIS", actor="cli") == 1
        with pytest.raises(NotFoundError, match="QGIS"):
            revoke_token(conn, "协调员", "QGIS", actor="cli")  # nothing left to revoke
    with engine.connect() as conn:
        with pytest.raises(AuthError):
            token_principal(conn, qgis)
        assert token_principal(conn, script).name == "协调员"
        entry = conn.execute(select(ChangeLog.summary).where(ChangeLog.action == "token_revoke")).scalar_one()  # fmt: skip
    assert entry == {"account": "协调员", "label": "QGIS", "revoked": 1}


# --- login throttling --------------------------------------------------------------------------

T0 = datetime(2026, 12, 6, 9, 0, 1, tzinfo=UTC)
GUESSER, OWNER = "10.0.0.66", "10.0.0.1"


def _fail(engine, name, address, at, times=1):
    with engine.begin() as conn:
        for _ in range(times):
            login_throttle.record_failure(conn, name, address, at)


def _wait(engine, name, address, at):
    with engine.connect() as conn:
        return login_throttle.wait_seconds(conn, name, address, at)


def test_waits_double_per_failure_of_a_name_from_an_address_and_spare_the_owner(engine):
    waits = []
    for _ in range(6):
        _fail(engine, "admin", GUESSER, T0)
        waits.append(_wait(engine, "admin", GUESSER, T0))
    assert waits == [0.0, 0.0, 1.0, 2.0, 4.0, 8.0]
    assert _wait(engine, "admin", GUESSER, T0 + timedelta(seconds=8)) == 0.0  # a wait, no lock
    assert _wait(engine, "admin", OWNER, T0) == 0.0  # the owner's computer is not slowed
    assert _wait(engine, "someone else", GUESSER, T0) == 0.0


def test_guesses_from_many_addresses_slow_strangers_but_not_the_owners_usual_address(engine):
    with engine.begin() as conn:
        login_throttle.record_success(conn, "admin", OWNER, T0 - timedelta(days=3))
    for i in range(12):
        _fail(engine, "admin", f"10.1.0.{i}", T0)
    assert _wait(engine, "admin", "10.2.0.1", T0) == 4.0  # 12 failures, 10 free: 2² s
    assert _wait(engine, "admin", OWNER, T0) == 0.0  # logged in from there before


def test_guessing_with_ever_new_names_is_slowed_per_address(engine):
    for i in range(22):
        _fail(engine, f"name-{i}", GUESSER, T0)
    assert _wait(engine, "yet another name", GUESSER, T0) == 4.0  # 22 failures, 20 free
    assert _wait(engine, "yet another name", OWNER, T0) == 0.0


def test_unknown_names_are_counted_and_slowed_exactly_like_accounts(engine):
    with engine.begin() as conn:
        add_account(conn, "admin", "admin", None, "long enough", actor="cli")
    for name, address in (("admin", "10.3.0.1"), ("nobody-at-all", "10.3.0.2")):
        _fail(engine, name, address, T0, times=5)
    assert _wait(engine, "admin", "10.3.0.1", T0) == _wait(engine, "nobody-at-all", "10.3.0.2", T0) == 4.0  # fmt: skip


def test_failed_logins_reach_the_trail_once_per_name_address_and_window(engine):
    _fail(engine, "admin", GUESSER, T0, times=7)
    _fail(engine, "admin", OWNER, T0 + timedelta(minutes=5))
    _fail(engine, "=HYPERLINK(1)", GUESSER, T0 + timedelta(minutes=14))

    def entries():
        with engine.connect() as conn:
            rows = conn.execute(select(ChangeLog.actor, ChangeLog.summary).where(ChangeLog.action == "login_failed").order_by(ChangeLog.id)).all()  # fmt: skip
        return [(actor, summary["address"], summary["failures"]) for actor, summary in rows]

    assert entries() == []  # the window is still open
    with engine.begin() as conn:
        assert login_throttle.audit_closed_windows(conn, T0 + timedelta(minutes=15)) == 3
        assert login_throttle.audit_closed_windows(conn, T0 + timedelta(minutes=16)) == 0
    assert sorted(entries()) == [("=HYPERLINK(1)", GUESSER, 1), ("admin", OWNER, 1), ("admin", GUESSER, 7)]  # fmt: skip
    # the next window's failures are the next window's entry
    _fail(engine, "admin", GUESSER, T0 + timedelta(minutes=20), times=2)
    _fail(engine, "admin", GUESSER, T0 + timedelta(minutes=31))  # writes the closed window's
    assert entries()[-1] == ("admin", GUESSER, 2)


def test_the_failure_table_forgets_old_rows_and_keeps_at_most_its_cap(engine, monkeypatch):
    _fail(engine, "old", GUESSER, T0 - timedelta(days=2))
    _fail(engine, "recent", GUESSER, T0)  # audits the old window, then prunes it
    with engine.connect() as conn:
        assert conn.execute(select(LoginThrottle.name)).scalars().all() == ["recent"]
    monkeypatch.setattr(login_throttle, "MAX_ROWS", 5)
    for i in range(12):
        _fail(engine, f"spray-{i}", f"10.4.0.{i}", T0 + timedelta(seconds=i))
    with engine.connect() as conn:
        names = conn.execute(select(LoginThrottle.name).order_by(LoginThrottle.name)).scalars().all()  # fmt: skip
    assert names == sorted(f"spray-{i}" for i in range(7, 12))  # the newest five


# --- the user commands ---------------------------------------------------------------------------


def _gridmap(url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "GRIDMAP_DATABASE_URL": url, "COLUMNS": "200", **env}
    return subprocess.run([sys.executable, "-m", "gridmap.cli", *args], capture_output=True, text=True, env=environment, timeout=120)  # fmt: skip


def test_user_passwd_revoke_and_logout_commands_are_audited(engine, db_settings):
    url = db_settings.database_url
    with engine.begin() as conn:
        add_account(conn, "网格员乙", "coordinator", "510199001001", "long enough", actor="cli")
        qgis = issue_token(conn, "网格员乙", "QGIS", actor="cli")
        first = start_session(conn, "网格员乙", IDLE)
    changed = _gridmap(url, "user", "passwd", "网格员乙", GRIDMAP_NEW_PASSWORD="another secret 100")
    assert changed.returncode == 0 and "sessions ended: 1" in changed.stdout, changed.stderr
    assert "another secret" not in changed.stdout
    revoked = _gridmap(url, "user", "revoke", "网格员乙", "--token", "QGIS")
    assert revoked.returncode == 0, revoked.stderr
    again = _gridmap(url, "user", "revoke", "网格员乙", "--token", "QGIS")
    assert again.returncode == 2 and "QGIS" in again.stderr and "Traceback" not in again.stderr
    with engine.begin() as conn:
        second = start_session(conn, "网格员乙", IDLE)
    assert _gridmap(url, "user", "logout", "网格员乙").returncode == 0
    unknown = _gridmap(url, "user", "passwd", "没有的人", GRIDMAP_NEW_PASSWORD="long enough")
    assert unknown.returncode == 2 and "没有账号" in unknown.stderr
    with engine.connect() as conn:
        assert authenticate(conn, "网格员乙", "another secret 100").name == "网格员乙"
        assert [session_principal(conn, s, IDLE) for s in (first, second)] == [None, None]
        with pytest.raises(AuthError):
            token_principal(conn, qgis)
        actions = conn.execute(select(ChangeLog.actor, ChangeLog.action).where(ChangeLog.action.in_(["password_change", "token_revoke", "logout_everywhere"])).order_by(ChangeLog.id)).all()  # fmt: skip
    assert [tuple(a) for a in actions] == [("cli", "password_change"), ("cli", "token_revoke"), ("cli", "logout_everywhere")]  # fmt: skip

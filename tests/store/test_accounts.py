"""Accounts and tokens in both databases: hashed, checked, logged, never stored in clear."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gridmap.auth import (  # fmt: skip
    AuthError,
    Principal,
    add_account,
    authenticate,
    count_accounts,
    disable_account,
    issue_token,
    token_principal,
)
from gridmap.errors import ConflictError, GridmapError, NotFoundError
from gridmap.store.models import Account, ApiToken, ChangeLog


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
    assert entry == {"account": "协调员", "tokens_revoked": 2}

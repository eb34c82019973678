"""Accounts, passwords, API tokens and browser sessions (账号、密码、令牌与会话): the account SQL.

What an account may do, where, and what it reads masked is decided in :mod:`gridmap.permissions`
(roles, areas, masks); this module keeps who the accounts are. An account's *area* is the code of
a subdistrict, community or grid; ``None`` (admins) is the whole database. Passwords are hashed
with Argon2id (argon2-cffi); API tokens are random and stored only as SHA-256 digests. A browser
session is a row of ``login_session`` (the digest of a random id) that every request looks up:
the signed cookie (itsdangerous) carries only that id and a CSRF token. Logging out deletes the
row; changing the password, disabling the account or "log out everywhere" delete all of the
account's rows, so a cookie saved before is worth nothing.

Whoever remembers for a moment who a token or session is (the server does, for a few seconds:
:mod:`gridmap.api.security`) asks :func:`accounts_version` first: every change of an account, a
token or a session made in this process moves it, so nothing remembered outlives a logout, a
revoked token, a new password or a disabled account here.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, delete, event, insert, select, update

from gridmap.errors import AuthError, ConflictError, GridmapError, NotFoundError
from gridmap.permissions import ROLES, Principal
from gridmap.store.features import log_change
from gridmap.store.models import Account, ApiToken, LoginSession

_hasher = PasswordHasher()
TOKEN_USE_RESOLUTION = timedelta(hours=1)  # how exactly a token's last use is kept
SESSION_SEEN_RESOLUTION = timedelta(minutes=5)  # how exactly a session's last request is kept
_ACCOUNT = select(Account.name, Account.role, Account.area, Account.password_hash)
_version = 0  # moved by every change of accounts, tokens or sessions in this process


def accounts_version() -> int:
    """A number that changes whenever this process changes an account, a token or a session."""
    return _version


def accounts_changed(conn: Connection | None = None) -> None:
    """Say that accounts, tokens or sessions change: whatever was remembered of who a token or
    session is must be looked up again. With ``conn``, said again when its transaction commits,
    so that a lookup made while the change was not yet visible is not remembered past it."""
    global _version
    _version += 1
    if conn is not None:
        event.listen(conn, "commit", lambda _conn: accounts_changed(), once=True)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_account(conn: Connection, name: str, role: str, area: str | None, password: str, actor: str) -> None:  # fmt: skip
    """Create an account; the password is stored only as an Argon2 hash."""
    if role not in ROLES:
        raise GridmapError(f"没有角色 {role}。可用: {', '.join(ROLES)}。", f"No role {role}; roles: {', '.join(ROLES)}.")  # fmt: skip
    if role != "admin" and not area:
        raise GridmapError("非管理员账号必须指定范围 (--area 街道/社区/网格编号)。",
                           "Accounts other than admin need an area (--area CODE).")  # fmt: skip
    _check_password_rules(password)
    accounts_changed(conn)
    if conn.execute(select(Account.id).where(Account.name == name)).first():
        raise ConflictError(f"账号 {name} 已存在。", f"Account {name} exists already.")
    conn.execute(insert(Account).values(name=name, password_hash=hash_password(password), role=role,
                                        area=area, created_at=datetime.now(UTC), disabled=False))  # fmt: skip
    log_change(conn, actor, "account_add", None, {"account": name, "role": role, "area": area})


def _account_id(conn: Connection, name: str) -> int:
    """The id of an enabled account; 404 for an unknown or disabled one."""
    account_id = conn.execute(select(Account.id).where(Account.name == name, Account.disabled.is_(False))).scalar()  # fmt: skip
    if account_id is None:
        raise NotFoundError(f"没有账号 {name}。", f"No account {name}.")
    return account_id


def disable_account(conn: Connection, name: str, actor: str) -> int:
    """Disable an account, revoke its tokens and end its browser sessions (it stays in the
    log); returns tokens revoked."""
    account_id = _account_id(conn, name)
    accounts_changed(conn)
    conn.execute(update(Account).where(Account.id == account_id).values(disabled=True))
    revoked = conn.execute(
        update(ApiToken).where(ApiToken.account_id == account_id, ApiToken.revoked.is_(False))
        .values(revoked=True)
    ).rowcount  # fmt: skip
    ended = conn.execute(delete(LoginSession).where(LoginSession.account_id == account_id)).rowcount  # fmt: skip
    log_change(conn, actor, "account_disable", None, {"account": name, "tokens_revoked": revoked, "sessions_ended": ended})  # fmt: skip
    return revoked


def _check_password_rules(password: str) -> None:
    if len(password) < 8:
        raise GridmapError("密码至少 8 位。", "The password needs at least 8 characters.")


def change_password(conn: Connection, name: str, password: str, actor: str) -> int:
    """Set a new password and end every browser session of the account (someone who learnt
    the old one is logged out); its API tokens stay. Returns the sessions ended."""
    _check_password_rules(password)
    account_id = _account_id(conn, name)
    accounts_changed(conn)
    conn.execute(update(Account).where(Account.id == account_id).values(password_hash=hash_password(password)))  # fmt: skip
    ended = conn.execute(delete(LoginSession).where(LoginSession.account_id == account_id)).rowcount  # fmt: skip
    log_change(conn, actor, "password_change", None, {"account": name, "sessions_ended": ended})
    return ended


def revoke_token(conn: Connection, name: str, label: str, actor: str) -> int:
    """Revoke the account's tokens issued with ``label``; returns how many (404 for none)."""
    account_id = _account_id(conn, name)
    accounts_changed(conn)
    revoked = conn.execute(
        update(ApiToken).where(ApiToken.account_id == account_id, ApiToken.label == label,
                               ApiToken.revoked.is_(False)).values(revoked=True)
    ).rowcount  # fmt: skip
    if not revoked:
        raise NotFoundError(f"账号 {name} 没有用途为 {label} 的有效令牌。", f"Account {name} has no valid token labelled {label}.")  # fmt: skip
    log_change(conn, actor, "token_revoke", None, {"account": name, "label": label, "revoked": revoked})  # fmt: skip
    return revoked


def count_accounts(conn: Connection) -> int:
    return len(conn.execute(select(Account.id).where(Account.disabled.is_(False))).all())


def _principal(row) -> Principal:
    return Principal(row.name, row.role, row.area)


def account(conn: Connection, name: str) -> Principal:
    row = conn.execute(_ACCOUNT.where(Account.name == name, Account.disabled.is_(False))).first()
    if row is None:
        raise NotFoundError(f"没有账号 {name}。", f"No account {name}.")
    return _principal(row)


def authenticate(conn: Connection, name: str, password: str) -> Principal:
    """The account for a name and password; one message for both kinds of failure."""
    row = conn.execute(_ACCOUNT.where(Account.name == name, Account.disabled.is_(False))).first()
    if row is None or not check_password(row.password_hash, password):
        if row is None:
            check_password(_DUMMY, password)  # the same time either way: no account probing
        raise AuthError("用户名或密码错误。", "Wrong name or password.")
    return _principal(row)


def issue_token(conn: Connection, name: str, label: str, actor: str) -> str:
    """A new API token (for QGIS and scripts): returned once, stored only as its digest."""
    who = account(conn, name)
    token = "gm_" + secrets.token_urlsafe(32)
    account_id = conn.execute(select(Account.id).where(Account.name == who.name)).scalar_one()
    conn.execute(insert(ApiToken).values(account_id=account_id, digest=_digest(token), label=label,
                                         created_at=datetime.now(UTC)))  # fmt: skip
    log_change(conn, actor, "token_issue", None, {"account": name, "label": label})
    return token


def token_principal(conn: Connection, token: str, *, commit: bool = False) -> Principal:
    """The account of an API token; records its use, at most hourly (``commit``: and commits
    that record, so a caller on a read connection pays for a commit only then)."""
    query = _ACCOUNT.add_columns(ApiToken.id.label("token_id"), ApiToken.last_used_at).join(
        ApiToken, ApiToken.account_id == Account.id
    )
    row = conn.execute(
        query.where(ApiToken.digest == _digest(token), ApiToken.revoked.is_(False),
                    Account.disabled.is_(False))
    ).first()  # fmt: skip
    if row is None:
        raise AuthError("令牌无效或已撤销。", "Unknown or revoked token.")
    now = datetime.now(UTC)
    last = row.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)  # SQLite hands back naive UTC
    if last is None or now - last > TOKEN_USE_RESOLUTION:
        # at most one write per token and hour: fifty QGIS clients must not queue on the lock
        conn.execute(update(ApiToken).where(ApiToken.id == row.token_id).values(last_used_at=now))
        if commit:
            conn.commit()
    return _principal(row)


def start_session(conn: Connection, name: str, idle: timedelta) -> str:
    """A new browser session of account ``name``: its random id, for the cookie (the database
    keeps only the digest). Sessions of anyone idle for longer than ``idle`` go."""
    session_id = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    conn.execute(delete(LoginSession).where(LoginSession.last_seen_at < now - idle))
    conn.execute(insert(LoginSession).values(digest=_digest(session_id), account_id=_account_id(conn, name), created_at=now, last_seen_at=now))  # fmt: skip
    return session_id


def session_principal(conn: Connection, session_id: str, idle: timedelta) -> Principal | None:
    """The account of a live session, ``None`` for an unknown, ended or expired one (a session
    expires after ``idle`` without a request). Records the request at most every few minutes,
    and commits what it wrote."""
    query = _ACCOUNT.add_columns(LoginSession.id.label("session_id"), LoginSession.last_seen_at).join(
        LoginSession, LoginSession.account_id == Account.id
    )  # fmt: skip
    row = conn.execute(query.where(LoginSession.digest == _digest(session_id), Account.disabled.is_(False))).first()  # fmt: skip
    if row is None:
        return None
    now = datetime.now(UTC)
    seen = row.last_seen_at if row.last_seen_at.tzinfo else row.last_seen_at.replace(tzinfo=UTC)
    if now - seen > idle:
        conn.execute(delete(LoginSession).where(LoginSession.id == row.session_id))
        conn.commit()
        return None
    if now - seen > SESSION_SEEN_RESOLUTION:
        conn.execute(update(LoginSession).where(LoginSession.id == row.session_id).values(last_seen_at=now))  # fmt: skip
        conn.commit()
    return _principal(row)


def end_session(conn: Connection, session_id: str) -> None:
    """Log one browser out: its session id is worth nothing from now on."""
    accounts_changed(conn)
    conn.execute(delete(LoginSession).where(LoginSession.digest == _digest(session_id)))


def end_sessions(conn: Connection, name: str, actor: str) -> int:
    """Log account ``name`` out everywhere (every browser); returns the sessions ended."""
    account_id = conn.execute(select(Account.id).where(Account.name == name)).scalar()
    if account_id is None:
        raise NotFoundError(f"没有账号 {name}。", f"No account {name}.")
    accounts_changed(conn)
    ended = conn.execute(delete(LoginSession).where(LoginSession.account_id == account_id)).rowcount  # fmt: skip
    log_change(conn, actor, "logout_everywhere", None, {"account": name, "sessions_ended": ended})
    return ended


_DUMMY = _hasher.hash("not a password of anyone")

"""Real parts the tests start: free ports, a gridmap server in its own process with test
accounts, an HTTP client that logs in as the test admin, and the rule that a missing part skips
locally but fails under CI."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from databases import as_copy, fresh_settings

IN_CI = bool(os.environ.get("CI"))

# Accounts of every throwaway test database (names obviously fictional; one password for all).
PASSWORD = "test-password-not-secret"
ADMIN = "测试管理员"
ACCOUNTS = {  # name: (role, area)
    ADMIN: ("admin", None),
    "规划员甲": ("planner", "510199001"),  # the demo subdistrict
    "规划员乙": ("planner", "510199001"),
    "社区规划员": ("planner", "510199001002"),  # 锦绣's neighbour community only
    "社区协调员": ("coordinator", "510199001001"),  # 锦绣社区
    "网格协调员": ("coordinator", "510199001001001"),  # the first unified grid of 锦绣社区
    "查看者": ("viewer", "510199001"),
}
TOKENS: dict[str, dict[str, str]] = {}  # base URL → account name → API token


def add_test_accounts(database_url: str) -> dict[str, str]:
    """The test accounts (unless the database has accounts already) and a token for each."""
    from gridmap import auth
    from gridmap.config import Settings
    from gridmap.store.db import make_engine, transaction

    engine = make_engine(Settings(database_url=database_url))
    hashing = auth.hash_password
    # one real Argon2 hash of the test password serves every account of every server: seven
    # hashes took 1.6 s of each of the suite's server starts (any salted hash of it verifies)
    auth.hash_password = _hashed_once
    try:
        with transaction(engine) as conn:
            if auth.count_accounts(conn) == 0:
                for name, (role, area) in ACCOUNTS.items():
                    auth.add_account(conn, name, role, area, PASSWORD, actor="tests")
            return {name: auth.issue_token(conn, name, "tests", actor="tests") for name in ACCOUNTS}  # fmt: skip
    finally:
        auth.hash_password = hashing
        engine.dispose()


@functools.cache
def _hashed_once(password: str) -> str:
    from gridmap.auth import _hasher

    return _hasher.hash(password)


def headers(base: str, name: str = ADMIN) -> dict[str, str]:
    """The bearer header of account ``name`` on the server at ``base``."""
    return {"Authorization": f"Bearer {TOKENS[base][name]}"}


def _as_admin(request: httpx.Request) -> None:
    base = f"{request.url.scheme}://{request.url.host}:{request.url.port}"
    token = TOKENS.get(base, {}).get(ADMIN)
    if token and "authorization" not in request.headers:
        request.headers["Authorization"] = f"Bearer {token}"


def admin_client(**kwargs) -> httpx.Client:
    """An ``httpx.Client`` that sends the test admin's token to every server the tests started
    (requests that carry their own Authorization header keep it)."""
    return httpx.Client(event_hooks={"request": [_as_admin]}, **kwargs)


# Timeouts are hang guards, not expectations: a busy machine (two cores, other suites) can take
# tens of seconds for what takes one alone
http = admin_client(timeout=120)
"""``http.get(server + "/api/…")``: as the test admin. Plain ``httpx`` is anonymous."""


def require(condition: bool, reason: str) -> None:
    """Skip locally when a real part is missing; fail under CI, where nothing may be skipped."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(database_url: str, *, accounts: bool = True, **env_extra: str) -> tuple[subprocess.Popen, str]:  # fmt: skip
    """``gridmap serve`` in a real uvicorn process on a free port; returns it and its base URL.

    The test accounts are added first (``gridmap serve`` refuses to start without any), and
    their tokens kept in ``TOKENS[base]``.
    """
    tokens = add_test_accounts(database_url) if accounts else {}
    port = free_port()
    env = {
        **os.environ,
        "GRIDMAP_DATABASE_URL": database_url,
        "GRIDMAP_PORT": str(port),
        **env_extra,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "gridmap.cli", "serve"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # a guard against a hang: the loop waits on the server
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read()}")
        try:
            httpx.get(base + "/favicon.ico", timeout=1)
            TOKENS[base] = tokens
            return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start within 180 s")


def demo_database(url: str, *, analyse: bool = True) -> str:
    """Initialise the database at ``url`` with the demo subdistrict (and its analysis)."""
    from gridmap.cli import DEMO_DATA, load_demo
    from gridmap.config import Settings
    from gridmap.runs import run_analyze
    from gridmap.store.db import make_engine
    from gridmap.store.schema import upgrade

    def build(url: str) -> None:
        settings = Settings(database_url=url)
        engine = make_engine(settings)
        upgrade(engine)
        load_demo(engine, DEMO_DATA)
        if analyse:
            run_analyze(engine, settings)
        engine.dispose()

    # the demo loaded (and analysed) once per session and database kind, copied after
    as_copy(url, f"demo analysed={analyse}", build)
    return url


def demo_server(request, tmp_path_factory, name: str, *, analyse: bool = True):
    """A real server on the demo in the database kind of ``request.param`` (a module fixture's
    body: yields the base URL, stops the server after)."""
    url = fresh_settings(request.param, request, tmp_path_factory.mktemp(name)).database_url
    proc, base = start_server(demo_database(url, analyse=analyse))
    yield base
    proc.terminate()
    proc.wait(timeout=10)

"""Real parts the tests start: free ports, a gridmap server in its own process, and the rule
that a missing part skips locally but fails under CI."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

IN_CI = bool(os.environ.get("CI"))


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


def start_server(database_url: str, **env_extra: str) -> tuple[subprocess.Popen, str]:
    """``gridmap serve`` in a real uvicorn process on a free port; returns it and its base URL."""
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
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read()}")
        try:
            httpx.get(base + "/favicon.ico", timeout=1)
            return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start within 30 s")


def demo_database(url: str, *, analyse: bool = True) -> str:
    """Initialise the database at ``url`` with the demo subdistrict (and its analysis)."""
    from gridmap.cli import DEMO_DATA, load_demo
    from gridmap.config import Settings
    from gridmap.runs import run_analyze
    from gridmap.store.db import make_engine
    from gridmap.store.schema import upgrade

    settings = Settings(database_url=url)
    engine = make_engine(settings)
    upgrade(engine)
    load_demo(engine, DEMO_DATA)
    if analyse:
        run_analyze(engine, settings)
    engine.dispose()
    return url


def demo_server(request, tmp_path_factory, name: str, *, analyse: bool = True):
    """A real server on the demo in the database kind of ``request.param`` (a module fixture's
    body: yields the base URL, stops the server after)."""
    if request.param == "spatialite":
        url = f"sqlite:///{tmp_path_factory.mktemp(name) / 'gridmap.db'}"
    else:
        url = request.getfixturevalue("postgis_cluster").create_db(name)
    proc, base = start_server(demo_database(url, analyse=analyse))
    yield base
    proc.terminate()
    proc.wait(timeout=10)

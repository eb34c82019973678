"""A real uvicorn process serving gridmap on a free port, for HTTP and browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(database_url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "GRIDMAP_DATABASE_URL": database_url, "GRIDMAP_PORT": str(port)}
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


@pytest.fixture
def live_server(db_settings) -> Iterator[str]:
    """Base URL of a real server on a fresh database of each kind."""
    proc, base = start_server(db_settings.database_url)
    yield base
    proc.terminate()
    proc.wait(timeout=10)

"""Fixtures shared by every test: real SpatiaLite, a real throwaway PostGIS cluster, settings.

Real parts only. Locally a test whose part is missing (no PostgreSQL binaries, no Chromium) is
skipped with the reason; under CI (``CI`` set) the same situation fails the run, and so does any
skip at all (see ``pytest_sessionfinish``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from databases import fresh_settings
from servers import IN_CI, free_port, require

from gridmap.config import Settings
from gridmap.store.db import make_engine


def _pg_bin() -> Path:
    """The newest PostgreSQL's binaries (Debian keeps them off PATH, one folder per major)."""
    if os.environ.get("GRIDMAP_PG_BIN"):
        return Path(os.environ["GRIDMAP_PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
REPO = Path(__file__).resolve().parents[1]


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if IN_CI and skipped and exitstatus == 0:
        reporter.write_line(f"CI: {skipped} test(s) were skipped; nothing may be skipped in CI.")
        session.exitstatus = 1


# --- PostGIS: one throwaway cluster per test session ---------------------------------------


def _as_postgres(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; the tests may run as root (CI) or as a normal user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class PostgisCluster:
    """A PostgreSQL cluster in a temporary folder, started for the tests and removed after."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="gridmap-pg-"))
        self.port = free_port()
        self.data = self.dir / "data"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")

    def run(self, *cmd: str) -> None:
        subprocess.run(_as_postgres(list(cmd)), check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        self.run(str(PG_BIN / "initdb"), "-A", "trust", "-U", "postgres", "-D", str(self.data))
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self.run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-w",
            "-l", str(self.dir / "log"), "start",
        )  # fmt: skip

    def stop(self) -> None:
        try:
            self.run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, db: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def create_db(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url("postgres").replace("+psycopg", ""), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}"')
            c.execute(f'CREATE DATABASE "{name}"')
        with psycopg.connect(self.url(name).replace("+psycopg", ""), autocommit=True) as c:
            c.execute("CREATE EXTENSION postgis")
        return self.url(name)


@pytest.fixture(scope="session")
def postgis_cluster() -> Iterator[PostgisCluster]:
    require((PG_BIN / "initdb").exists(), f"PostgreSQL binaries not found in {PG_BIN}")
    cluster = PostgisCluster()
    try:
        cluster.start()
    except subprocess.CalledProcessError as exc:
        log = (cluster.dir / "log").read_text() if (cluster.dir / "log").exists() else ""
        cluster.stop()
        require(False, f"PostgreSQL did not start: {exc.stderr!r} {log[-500:]}")
    yield cluster
    cluster.stop()


@pytest.fixture(params=["spatialite", "postgis"])
def db_settings(request, tmp_path) -> Settings:
    """Settings for a fresh, initialised database of each kind (the store tests run on both)."""
    return fresh_settings(request.param, request, tmp_path)


@pytest.fixture
def engine(db_settings):
    eng = make_engine(db_settings)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_settings(request, tmp_path) -> Settings:
    return fresh_settings("spatialite", request, tmp_path)


@pytest.fixture
def sqlite_engine(sqlite_settings: Settings):
    """An engine on a new SpatiaLite database at the newest schema."""
    eng = make_engine(sqlite_settings)
    yield eng
    eng.dispose()

"""Faults as they happen in offices: an import killed half-way, PostGIS restarted or hung under a
running server. Real processes, real signals, a real cluster stopped and started again."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np
import psycopg
import pytest
import shapely
from conftest import PG_BIN
from servers import http, start_server
from sqlalchemy import text

from gridmap.config import Settings
from gridmap.errors import DatabaseError
from gridmap.loading import load_file
from gridmap.store import db
from gridmap.store.bulk import DEFER_INDEX_MIN_ROWS
from gridmap.store.db import make_engine, ping
from gridmap.store.features import layer_counts

FIRST_ROWS = 500  # the file already loaded
# The file killed half-way: its first 500 codes update those, the rest are new. More rows than
# DEFER_INDEX_MIN_ROWS, so the import drops the spatial index and rebuilds it at its end.
BIG_ROWS = 24_000
CHUNK_ROWS = 100  # many small chunks, all inside the one transaction of the import
KILLED_APP = "gridmap_killed_import"


def buildings(n: int, shift: float = 0.0, extra_households: int = 0) -> gpd.GeoDataFrame:
    """``n`` building footprints on a regular lattice, codes B000000…, Chinese headers."""
    i = np.arange(n)
    x = 104.0 + (i % 400) * 0.0004 + shift
    y = 30.5 + (i // 400) * 0.0003
    return gpd.GeoDataFrame(
        {"楼栋编号": [f"B{k:06d}" for k in i], "户数": i % 30 + 6 + extra_households},
        geometry=shapely.box(x, y, x + 0.0002, y + 0.0002),
        crs=4326,
    )


@pytest.fixture(scope="module")
def import_files(tmp_path_factory) -> tuple[Path, Path]:
    assert BIG_ROWS > DEFER_INDEX_MIN_ROWS
    folder = tmp_path_factory.mktemp("faults")
    first, big = folder / "楼栋.gpkg", folder / "楼栋_全市.gpkg"
    buildings(FIRST_ROWS).to_file(first, layer="building")
    buildings(BIG_ROWS, shift=0.00005, extra_households=3).to_file(big, layer="building")
    return first, big


def gridmap(*args, url: str, **env: str) -> subprocess.Popen:
    environment = {**os.environ, "GRIDMAP_DATABASE_URL": url, **env}
    return subprocess.Popen(
        [sys.executable, "-m", "gridmap.cli", *map(str, args)],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def state(engine) -> tuple[dict, str]:
    """Counts of every layer and of the change log, and a digest of codes, households, WKB."""
    digest = hashlib.sha256()
    with engine.connect() as conn:
        counts = layer_counts(conn)
        rows = conn.execute(
            text("SELECT code, households, ST_AsBinary(geom) FROM building ORDER BY code")
        )
        for code, households, wkb in rows:
            digest.update(f"{code}|{households}|".encode() + bytes(wkb))
    return counts, digest.hexdigest()


def wait_until(condition, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, "the import ended before being killed"
        assert time.monotonic() < deadline, f"still waiting after {timeout} s"
        time.sleep(0.02)


class ProgressWatcher:
    """Reads the progress bar a load draws on stderr; ``rows`` is the last count it showed."""

    def __init__(self, proc: subprocess.Popen):
        self.rows = 0
        self.text = ""
        self._thread = threading.Thread(target=self._read, args=(proc.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        while chunk := stream.read1(4096):
            self.text += chunk.decode("utf-8", "replace")
            counts = re.findall(r"(\d+)/\?", self.text[-2000:])
            if counts:
                self.rows = max(self.rows, int(counts[-1]))

    def wait_for(self, rows: int, proc: subprocess.Popen) -> None:
        wait_until(lambda: self.rows >= rows, proc)


def holds_write_transaction(settings: Settings) -> bool:
    """Whether the killed import's process holds an open write transaction right now."""
    url = settings.database_url
    if url.startswith("sqlite"):
        probe = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            return "locked" in str(exc)
        finally:
            probe.close()
        return False
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        return (
            conn.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "JOIN pg_stat_activity a ON a.pid = l.pid WHERE c.relname = 'building' "
                # rows written (RowExclusive), or the spatial index dropped for a large import
                "AND l.mode IN ('RowExclusiveLock', 'AccessExclusiveLock') AND l.granted "
                "AND a.application_name = %s",
                (KILLED_APP,),
            ).fetchone()[0]
            > 0
        )


def check_reopened_database(settings: Settings, engine) -> None:
    """The file or server is sound: SQLite integrity and R*Tree, or no session or lock left."""
    if settings.database_url.startswith("sqlite"):
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            # the import had dropped the R*Tree inside its transaction: it is back and consistent
            assert conn.exec_driver_sql("SELECT CheckSpatialIndex('building', 'geom')").scalar()
        return
    # autocommit: PostgreSQL keeps one snapshot of pg_stat_activity per transaction, so a loop
    # inside one transaction would never see the session go
    with psycopg.connect(settings.database_url.replace("+psycopg", ""), autocommit=True) as conn:
        # The client is dead, but its backend notices only when it next reads from the socket: on
        # a busy machine it may still be running the chunk's statement. Ending it is what the server
        # does anyway when it notices — roll back the open transaction — so end it now and wait for
        # that state (pg_terminate_backend waits for the exit), rather than race a clock.
        conn.execute(
            "SELECT pg_terminate_backend(pid, 120000) FROM pg_stat_activity "
            "WHERE application_name = %s",
            (KILLED_APP,),
        )
        left = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (KILLED_APP,)
        ).fetchone()[0]
        assert left == 0, "the killed import's session is still there"
        locks = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname LIKE '%building%' AND l.pid <> pg_backend_pid()"
        ).fetchone()[0]
        assert locks == 0
        assert conn.execute("SELECT count(*) FROM building").fetchone()[0] == FIRST_ROWS
        index = "SELECT count(*) FROM pg_indexes WHERE indexname = 'idx_building_geom'"
        assert conn.execute(index).fetchone()[0] == 1


def test_an_import_killed_half_way_leaves_the_database_as_before(db_settings, import_files):
    first, big = import_files
    url = db_settings.database_url
    loaded = gridmap("load", "building", first, url=url)
    assert loaded.wait(timeout=120) == 0, loaded.stderr.read().decode()
    engine = make_engine(db_settings)
    before = state(engine)
    assert before[0]["building"] == FIRST_ROWS and before[0]["change_log"] == 1
    engine.dispose()

    killed_url = url if url.startswith("sqlite") else f"{url}?application_name={KILLED_APP}"
    proc = gridmap(
        "load", "building", big, url=killed_url, GRIDMAP_IMPORT_CHUNK_ROWS=str(CHUNK_ROWS),
        TTY_COMPATIBLE="1", TTY_INTERACTIVE="1", COLUMNS="120",  # draw the progress bar on a pipe
    )  # fmt: skip
    try:
        watcher = ProgressWatcher(proc)
        # past the 500 updates of existing buildings, into the new ones, still far from the end
        watcher.wait_for(FIRST_ROWS + 2 * CHUNK_ROWS, proc)
        if url.startswith("sqlite"):
            # and until SQLite's page cache spills: uncommitted pages are in the WAL file
            wait_until(lambda: os.path.getsize(url.removeprefix("sqlite:///") + "-wal") > 0, proc)
        assert holds_write_transaction(db_settings)
        rows_at_kill = watcher.rows
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert FIRST_ROWS < rows_at_kill < BIG_ROWS, rows_at_kill

    engine = make_engine(db_settings)
    try:
        check_reopened_database(db_settings, engine)
        assert state(engine) == before
        # and nothing is left blocking the next import
        report = load_file(engine, "building", first)
        assert (report.inserted, report.updated) == (0, FIRST_ROWS)
    finally:
        engine.dispose()


# --- PostGIS stopped and started again under a running server --------------------------------


def pg_ctl(cluster, *args: str) -> None:
    cluster.run(str(PG_BIN / "pg_ctl"), "-D", str(cluster.data), "-w", *args)


@contextmanager
def stopped(cluster):
    """The cluster gone at once, as in a crash or a power cut, then started with the options it
    had (recovering from its WAL). Immediate, not fast: a fast shutdown ends the session holding
    the test's lock first at times, and a request waiting on that lock then ran to a 200 before
    its own session was ended."""
    pg_ctl(cluster, "-m", "immediate", "stop")
    try:
        yield
    finally:
        # restart on a stopped cluster starts it with the options recorded at its last start
        pg_ctl(cluster, "-l", str(cluster.dir / "log"), "restart")


def assert_database_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["error"] == "DatabaseError"
    assert (
        "无法连接数据库" in body["message_zh"] and "Cannot reach the database" in body["message_en"]
    )


# (a box, a search: whole layers and layer counts are kept by the server until the data change,
# and answer without the table)
ENDPOINTS = [
    "/api/search?q=b",
    "/api/layers/building/features?bbox=-180,-90,180,90",
    "/ogc/collections/building/items",
]


@pytest.fixture
def served_postgis(postgis_cluster, tmp_path):
    url = postgis_cluster.create_db(f"restart_{int(time.time() * 1000) % 100000}")
    buildings(3).to_file(tmp_path / "b.gpkg", layer="building")
    engine = make_engine(Settings(database_url=url))
    load_file(engine, "building", tmp_path / "b.gpkg")
    engine.dispose()
    proc, base = start_server(url)
    yield url, proc, base
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def blocked_requests(url: str, base: str, paths: list[str]) -> tuple[dict, list[threading.Thread]]:
    """Requests stuck inside PostgreSQL (waiting for a lock the test holds) when it goes down."""
    answers: dict[str, httpx.Response | Exception] = {}

    def get(path: str) -> None:
        try:
            answers[path] = http.get(base + path, timeout=30)
        except httpx.HTTPError as exc:
            answers[path] = exc

    threads = [threading.Thread(target=get, args=(p,)) for p in paths]
    for thread in threads:
        thread.start()
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        deadline = time.monotonic() + 30
        waiting = (
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'building'::regclass"
        )
        while conn.execute(waiting).fetchone()[0] < len(paths):
            assert time.monotonic() < deadline, "the requests never reached the database"
            time.sleep(0.05)
    return answers, threads


def test_postgis_restarted_under_a_running_server_fails_cleanly_and_recovers(
    postgis_cluster, served_postgis
):
    url, proc, base = served_postgis
    for path in ENDPOINTS:
        assert http.get(base + path, timeout=10).status_code == 200

    locker = psycopg.connect(url.replace("+psycopg", ""))
    locker.execute("LOCK TABLE building IN ACCESS EXCLUSIVE MODE")
    in_flight, threads = blocked_requests(url, base, ENDPOINTS)
    with stopped(postgis_cluster):
        for thread in threads:
            thread.join(timeout=30)
        for path in ENDPOINTS:  # were inside the database when it shut down
            assert isinstance(in_flight[path], httpx.Response), in_flight[path]
            assert_database_unavailable(in_flight[path])
        for path in ENDPOINTS:  # arrive while it is down
            started = time.monotonic()
            assert_database_unavailable(http.get(base + path, timeout=30))
            assert time.monotonic() - started < 5
    locker.close()

    for path in ENDPOINTS:
        response = http.get(base + path, timeout=10)
        assert response.status_code == 200, response.text
    layers = http.get(base + "/api/layers", timeout=10).json()
    assert {"layer": "building", "label_zh": "楼栋", "count": 3} in layers
    assert proc.poll() is None  # the same gridmap process, never restarted


def test_postgis_restarted_between_requests_fails_no_request(postgis_cluster, served_postgis):
    # The server's pooled connections were used a moment ago (no idle time to make them
    # suspect) and no request was inside the database when it went down: the first requests
    # after the restart are the first to meet the closed connections.
    _url, proc, base = served_postgis
    for _ in range(3):
        for path in ENDPOINTS:
            assert http.get(base + path, timeout=10).status_code == 200
    with stopped(postgis_cluster):
        pass
    for path in ENDPOINTS:
        response = http.get(base + path, timeout=10)
        assert response.status_code == 200, response.text
    assert proc.poll() is None


def silent_server() -> socket.socket:
    """A port that accepts connections and never answers, as a hung server or half-open link."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    return listener


def test_a_database_that_never_answers_gives_a_503_not_a_hanging_request(monkeypatch):
    listener = silent_server()
    port = listener.getsockname()[1]
    try:
        # the default limit applies when the URL has none …
        monkeypatch.setattr(db, "PG_CONNECT_TIMEOUT_S", 2)
        engine = make_engine(Settings(database_url=f"postgresql+psycopg://x@127.0.0.1:{port}/x"))
        started = time.monotonic()
        with pytest.raises(DatabaseError):
            ping(engine)
        assert time.monotonic() - started < 8
        # … and a running server answers 503 within the URL's connect_timeout
        url = f"postgresql+psycopg://x@127.0.0.1:{port}/x?connect_timeout=2"
        proc, base = start_server(url, accounts=False)  # it starts all the same, and answers 503
        try:
            started = time.monotonic()
            # with a token to look up (an anonymous request is refused without the database)
            token = {"Authorization": "Bearer gm_looked-up-in-the-database"}
            assert_database_unavailable(http.get(base + "/api/layers", headers=token, timeout=20))
            assert time.monotonic() - started < 8
        finally:
            proc.kill()
            proc.wait()
    finally:
        listener.close()

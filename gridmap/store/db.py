"""Engines for the two databases gridmap runs on: SpatiaLite (embedded default) and PostGIS.

One code path: everything above this module sees a SQLAlchemy ``Engine``; only here do the two
differ (how SpatiaLite is loaded, pragmas, connection checks).

Examples
--------
>>> from gridmap.config import Settings
>>> engine = make_engine(Settings(database_url="sqlite://"))
>>> dialect_name(engine)
'sqlite'
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InvalidatePoolError, OperationalError

from gridmap.config import Settings
from gridmap.errors import DatabaseError


def _sqlite_module():
    # The Python 3.11 build here has no enable_load_extension; pysqlite3 has it (SETUP-NOTES).
    try:
        import pysqlite3.dbapi2 as sqlite_module
    except ImportError:  # pragma: no cover - depends on the interpreter build
        import sqlite3 as sqlite_module
    return sqlite_module


def _on_sqlite_connect(dbapi_conn, _record) -> None:
    from geoalchemy2 import load_spatialite

    os.environ.setdefault("SPATIALITE_LIBRARY_PATH", "mod_spatialite")
    # SpatiaLite's metadata of a new database in one transaction: 0.07 s instead of 2.8 s, one
    # commit (and fsync) in place of one per row; an interrupted init leaves nothing half-made
    load_spatialite(dbapi_conn, init_mode="WGS84", transaction=True)
    cur = dbapi_conn.cursor()
    # Write-ahead log: readers (the map server) never block an import, and a killed import
    # leaves the last committed state intact.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


# Seconds to wait for PostgreSQL to answer a new connection. Without a limit, a server that
# accepts the TCP connection but never answers (hung, half-open network) blocks a request, and
# the worker thread serving it, for ever; with it the request fails with DatabaseError (503).
# A ``connect_timeout`` in the database URL wins.
PG_CONNECT_TIMEOUT_S = 10


# A pooled PostgreSQL connection idle longer than this is pinged (one round trip) before use.
PG_PING_IDLE_S = 5.0


def watch_pooled_connections(engine: Engine) -> None:
    """Replace, on checkout, a pooled connection the server has closed, without a round trip.

    A connection left in the pool across a server restart (or ended by the server: an
    administrator, ``idle_session_timeout``) must not fail the next request. SQLAlchemy's
    ``pool_pre_ping`` asks the server on every checkout, a second round trip for a request of
    one statement. Here the connection is asked only when it may be dead: when its socket has
    something to read (an idle connection is sent nothing, so data or end of file there means
    the server said goodbye — a restart, even an immediate one, closes every session's socket),
    or when it sat in the pool longer than :data:`PG_PING_IDLE_S` (a link that died silently).
    A dead one invalidates the pool, as the pre-ping did, and the checkout takes a new one.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _given_back(_dbapi_conn, record) -> None:
        record.info["gridmap_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_conn, record, _proxy) -> None:
        idle_since = record.info.pop("gridmap_idle_since", None)
        if idle_since is None:  # just opened
            return
        if time.monotonic() - idle_since <= PG_PING_IDLE_S and not _has_news(dbapi_conn):
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_conn, None):
                raise InvalidatePoolError() from exc
            raise


def _has_news(dbapi_conn) -> bool:
    """Whether the server sent an idle connection anything (its goodbye, or end of file)."""
    if not hasattr(select, "poll") or dbapi_conn.closed:  # pragma: no cover - Windows, closed
        return True
    poller = select.poll()
    poller.register(dbapi_conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def make_engine(settings: Settings, **kwargs) -> Engine:
    """Create the engine for ``settings.database_url`` (SpatiaLite file or PostGIS server)."""
    url = settings.database_url
    if url.startswith("sqlite"):
        # GDAL (pyogrio) must be loaded before the first SpatiaLite connection: loading
        # mod_spatialite first makes GDAL's own SQLite calls (GeoPackage) crash the process.
        import pyogrio  # noqa: F401

        engine = create_engine(url, module=_sqlite_module(), **kwargs)
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    if url.startswith("postgresql"):
        connect_args = dict(kwargs.pop("connect_args", {}))
        if "connect_timeout" not in make_url(url).query:
            connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        watch_pooled_connections(engine)
        return engine
    raise DatabaseError(
        f"不支持的数据库地址: {url.split(':', 1)[0]}。请使用 sqlite:///文件 或 postgresql+psycopg://…",
        "Unsupported database URL: use sqlite:///FILE or postgresql+psycopg://…",
    )


def dialect_name(bind: Engine | Connection) -> str:
    """``'sqlite'`` or ``'postgresql'``."""
    return bind.dialect.name


@contextmanager
def connect(engine: Engine) -> Iterator[Connection]:
    """A connection for reading; database outages become a clear :class:`DatabaseError`."""
    try:
        with engine.connect() as conn:
            yield conn
    except OperationalError as exc:
        raise DatabaseError(
            "无法连接数据库，请检查 GRIDMAP_DATABASE_URL 与数据库服务。",
            f"Cannot reach the database ({type(exc.orig).__name__}); check GRIDMAP_DATABASE_URL.",
        ) from exc


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction: everything inside lands together or not at all.

    On SQLite the transaction is opened at once with ``BEGIN IMMEDIATE``. The driver (pysqlite)
    would otherwise open it only before the first INSERT, UPDATE or DELETE, so what ran before —
    DDL, SpatiaLite functions called through SELECT such as ``DisableSpatialIndex`` — committed
    on its own: an import killed after dropping its R*Tree left the layer without a spatial
    index. Taking the write lock first also makes concurrent writers wait their turn
    (``busy_timeout``) rather than fail on a snapshot that another writer made stale.
    """
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            yield conn
    except OperationalError as exc:
        raise DatabaseError(
            "数据库操作失败，未写入任何内容。",
            f"Database operation failed, nothing was written ({type(exc.orig).__name__}).",
        ) from exc


def ping(engine: Engine) -> None:
    """Raise :class:`DatabaseError` unless the database answers."""
    with connect(engine) as conn:
        conn.execute(text("SELECT 1"))

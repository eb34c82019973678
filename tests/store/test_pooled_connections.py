"""PostgreSQL connections kept in the pool: a dead one is replaced on checkout, a live one that
was just used is handed out without asking the server first (no pre-ping round trip)."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import text

from gridmap.config import Settings
from gridmap.store import db
from gridmap.store.db import make_engine

_names = iter(range(1_000_000))


@pytest.fixture
def pg_engine(postgis_cluster):
    url = postgis_cluster.create_db(f"pool{next(_names)}_{int(time.time() * 1000) % 100000}")
    engine = make_engine(Settings(database_url=url))
    yield engine, url
    engine.dispose()


@pytest.fixture
def pings(monkeypatch, pg_engine) -> list[object]:
    """Every ping the engine sends the server on checkout."""
    engine, _ = pg_engine
    sent: list[object] = []
    real = engine.dialect.do_ping

    def counted(dbapi_conn):
        sent.append(dbapi_conn)
        return real(dbapi_conn)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return sent


def backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_just_given_back_is_reused_without_a_ping(pg_engine, pings):
    engine, _ = pg_engine
    first = backend_pid(engine)
    for _ in range(20):
        assert backend_pid(engine) == first
    assert pings == []


def test_a_connection_idle_longer_than_the_limit_is_pinged_and_kept(pg_engine, pings, monkeypatch):
    engine, _ = pg_engine
    first = backend_pid(engine)
    monkeypatch.setattr(db, "PG_PING_IDLE_S", -1.0)  # every pooled connection is "long idle"
    assert backend_pid(engine) == first
    assert len(pings) == 1


def test_a_connection_the_server_ended_is_replaced_before_the_request_uses_it(pg_engine, pings):
    engine, url = pg_engine
    first = backend_pid(engine)  # now idle in the pool, used a moment ago
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (first,)).fetchone()[0]
        gone = "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
        while admin.execute(gone, (first,)).fetchone()[0]:
            time.sleep(0.02)
    second = backend_pid(engine)  # no error: the dead connection was noticed on checkout
    assert second != first
    assert len(pings) == 1  # asked because the server had closed it, not because of its age

"""Dependencies shared by the routers: the engine and a read connection, and a route's whole use
of a connection in one worker thread.

Those that do no I/O are ``async``: FastAPI runs them in the event loop instead of handing each
to a worker thread, which cost about 0.1 ms a dependency on every request (see
``benchmarks/RESULTS.md``, OGC items at street level)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool

from gridmap.config import Settings
from gridmap.store.db import connect

T = TypeVar("T")


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_conn(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Connection]:
    with connect(engine) as conn:
        yield conn


async def on_connection(
    engine: Engine, work: Callable[[Connection], T], *, reading: bool = False
) -> T:
    """``work`` on a read connection checked out, used and closed in ONE worker thread call.

    For the routes asked most often (a street-level view): a sync route with :data:`ConnDep`
    waits three times for a worker thread (the checkout, the route, the close), and on a busy
    machine each wait is a wait for a CPU. Errors are those of :data:`ConnDep`: an unreachable
    database is a :class:`~gridmap.errors.DatabaseError` (503), ``work``'s own raised as they
    are.

    ``reading``: ``work`` only reads, and on PostgreSQL each statement runs as its own
    transaction (autocommit). Under READ COMMITTED each statement sees its own snapshot all the
    same; what goes is the BEGIN before the first statement and the ROLLBACK when the
    connection is given back — two of the four round trips of a one-statement request, each a
    wait for the server's process on a busy machine. (SQLite opens no transaction to read.)

    Example, in an ``async def`` route::

        return await on_connection(engine, lambda conn: page_of(conn, box), reading=True)
    """

    def run() -> T:
        with connect(engine) as conn:
            if reading and conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT")  # reset when given back
            return work(conn)

    return await run_in_threadpool(run)


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]
ConnDep = Annotated[Connection, Depends(get_conn)]

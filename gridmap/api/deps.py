"""Dependencies shared by the routers: the engine and a read connection.

Those that do no I/O are ``async``: FastAPI runs them in the event loop instead of handing each
to a worker thread, which cost about 0.1 ms a dependency on every request (see
``benchmarks/RESULTS.md``, OGC items at street level)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine

from gridmap.config import Settings
from gridmap.store.db import connect


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


def get_conn(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Connection]:
    with connect(engine) as conn:
        yield conn


SettingsDep = Annotated[Settings, Depends(get_settings)]
ConnDep = Annotated[Connection, Depends(get_conn)]

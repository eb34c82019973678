"""Responses every user gets alike, kept until the data change (one cache per server process).

The map asks for whole layers — communities, grids, stations — at every zoom, and every
coordinator's map asks for the same ones; building them is most of a server's work under load
(benchmarks/bench_load.py). A body is kept under its request's key and the *data version*: the
newest entry of the change log, which every import, analysis, plan save or approval and restore
appends to. When the version moves, old bodies are simply never asked for again and age out.

A small LRU written by hand (an ordered dict and a lock): no library is needed for this.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from fastapi import Request
from sqlalchemy import Connection, func, select

from gridmap.store.areas import Area
from gridmap.store.models import ChangeLog


def data_version(conn: Connection) -> int:
    """The newest change log entry: moves with every change of layers or analysis results."""
    return conn.execute(select(func.max(ChangeLog.id))).scalar() or 0


def kept(request: Request, conn: Connection, key: tuple, make: Callable[[], object],
         area: Area | None = None) -> object:  # fmt: skip
    """The app's kept body for ``key`` as the data stand now (per ``area``, where it matters)."""
    where = (area.level, area.code) if area is not None else None
    return request.app.state.responses.get((*key, where, data_version(conn)), make)


class ResponseCache:
    """At most ``size`` bodies, least recently used first out; safe across threads."""

    def __init__(self, size: int = 64):
        self.size = size
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, make: Callable[[], object]) -> object:
        """The body kept under ``key``, or ``make()``'s, kept from now on (treat it as frozen)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        body = make()  # outside the lock: two threads may build the same body once each
        with self._lock:
            self.misses += 1
            self._items[key] = body
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return body

"""Responses every user gets alike, kept until the data change, and sent as HTTP caches expect.

The map asks for whole layers — communities, grids, stations — at every zoom, and every
coordinator's map asks for the same ones; building them is most of a server's work under load
(benchmarks/bench_load.py). A body is kept under its request's key and the *data version*: the
newest entry of the change log, which every import, analysis, plan save or approval and restore
appends to. When the version moves, old bodies are simply never asked for again and age out.

A kept body is kept compressed only (a fifth to a tenth of its size): gzip ran once per body, in the request's worker thread,
instead of once per answer in the event loop (where Starlette's GZipMiddleware compresses, holding
up every other request of the process: 25 ms for a 3 MB view of gaps). Every body carries an
``ETag`` with ``Cache-Control: private, no-cache``: a browser keeps what it fetched and asks again
with ``If-None-Match``, and an unchanged body is a bodiless 304.

A small LRU written by hand (an ordered dict and a lock): no library is needed for this.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import Connection, func, select

from gridmap.permissions import Area
from gridmap.store.models import ChangeLog
from gridmap.store.models.log import AUDIT_ONLY

log = logging.getLogger("gridmap")
GZIP_MIN_BYTES = 1024  # as the app's GZipMiddleware: smaller bodies are sent as they are
# level 1: a zoom-14 page of 1,400 buildings (438 KB) compresses in 2 ms to 61 KB, where the
# default level 9 took 40 ms for 48 KB — twice the whole request (benchmarks/bench_serve)
GZIP_LEVEL = 1
# every answer may change with the data, and depends on the account's area: browsers keep it for
# themselves only and ask whether it changed before using it again
CACHE_CONTROL = "private, no-cache"


@dataclass(frozen=True)
class Body:
    """A response body as sent, kept once: gzipped when it is worth it (every browser takes
    that), else as it is; and its validator, a weak ETag of the plain bytes (weak: the same for
    both encodings). A client that does not take gzip gets the bytes unpacked for it."""

    data: bytes
    is_gzipped: bool
    etag: str

    @property
    def raw(self) -> bytes:
        return gzip.decompress(self.data) if self.is_gzipped else self.data

    @property
    def gzipped(self) -> bytes | None:
        return self.data if self.is_gzipped else None

    @property
    def nbytes(self) -> int:
        return len(self.data)


def packed(text: str | bytes) -> Body:
    """A body ready to send: encoded, compressed and tagged once."""
    raw = text.encode() if isinstance(text, str) else text
    etag = f'W/"{hashlib.blake2b(raw, digest_size=12).hexdigest()}"'
    if len(raw) < GZIP_MIN_BYTES:
        return Body(raw, False, etag)
    return Body(gzip.compress(raw, GZIP_LEVEL, mtime=0), True, etag)


def send(request: Request, body: Body | str, media_type: str) -> Response:
    """``body`` as ``request`` can take it: 304 when the client holds it already (its
    ``If-None-Match`` names the ETag), gzipped when the client accepts gzip."""
    body = packed(body) if isinstance(body, str) else body
    headers = {"ETag": body.etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding"}
    if _holds(request.headers.get("if-none-match", ""), body.etag):
        return Response(status_code=304, headers=headers)
    if body.gzipped is not None and _accepts_gzip(request.headers.get("accept-encoding", "")):
        headers["Content-Encoding"] = "gzip"  # GZipMiddleware leaves encoded bodies alone
        return Response(body.gzipped, media_type=media_type, headers=headers)
    return Response(body.raw, media_type=media_type, headers=headers)


def _holds(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison of ``If-None-Match`` (``*`` or a list of tags) with ``etag``."""
    opaque = etag.removeprefix("W/")
    tags = (t.strip().removeprefix("W/") for t in if_none_match.split(","))
    return any(t == "*" or t == opaque for t in tags if t)


def _accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.partition(";")
        if coding.strip() == "gzip":  # refused only with q=0
            q = params.replace(" ", "").removeprefix("q=")
            return not q or not q.replace(".", "", 1).isdigit() or float(q) > 0
    return False


def data_version(conn: Connection) -> int:
    """The newest change log entry that changed data: moves with every change of layers or
    analysis results, and not with a login or a look at personal data (``AUDIT_ONLY``)."""
    newest = select(func.max(ChangeLog.id)).where(ChangeLog.action.not_in(AUDIT_ONLY))
    return conn.execute(newest).scalar() or 0


def kept(request: Request, conn: Connection, key: tuple, make: Callable[[], str | bytes],
         area: Area | None = None, among: str = "responses",
         keep_if: Callable[[Body], bool] | None = None) -> Body:  # fmt: skip
    """The app's kept body for ``key`` as the data stand now (per ``area``, where it matters);
    ``make`` builds its text when it is not kept. ``among``: the app's cache to keep it in
    (``tiles``: the many small vector tiles have one of their own, so that they never push
    the whole layers out); ``keep_if``: whether a body built is worth a place in it (else it is
    sent and built again when asked again)."""
    cache = getattr(request.app.state, among)
    return cache.get(_full(conn, key, area), lambda: packed(make()), keep_if)


def kept_json(request: Request, conn: Connection, key: tuple, make: Callable[[], object],
              area: Area | None = None) -> Response:  # fmt: skip
    """:func:`kept` for a value ``make`` returns, sent as compact JSON (as FastAPI would: UTF-8
    text, no NaN)."""

    def text() -> str:
        return json.dumps(make(), ensure_ascii=False, separators=(",", ":"), allow_nan=False)

    return send(request, kept(request, conn, key, text, area), "application/json")


def _full(conn: Connection, key: tuple, area: Area | None) -> tuple:
    """``key`` with the caller's area and the data version: the key a value is kept under."""
    return (*key, (area.level, area.code) if area is not None else None, data_version(conn))


def kept_soon(request: Request, conn: Connection, key: tuple, build: Callable[[Connection], object],
              area: Area | None = None, wait: bool = False) -> object | None:  # fmt: skip
    """The kept value for ``key`` if there is one; else ``None``, and ``build`` runs in the
    background on a connection of its own and keeps its value for the requests after (with
    ``wait``: built on ``conn`` now, as :func:`kept`).

    For values that take seconds to build (the gaps of a whole city drawn at a zoom): the request
    that finds none answers the slow way for itself rather than make every request after it wait.
    """
    from gridmap.store.db import connect

    responses, engine = request.app.state.responses, request.app.state.engine
    if wait:
        return responses.get(_full(conn, key, area), lambda: build(conn))

    def make() -> object:
        with connect(engine) as own:
            return build(own)

    return responses.peek_or_build(_full(conn, key, area), make)


class ResponseCache:
    """At most ``size`` values and ``max_bytes`` of them (by their ``nbytes``), least recently
    used first out; safe across threads."""

    def __init__(self, size: int = 256, max_bytes: int = 256 << 20):
        self.size, self.max_bytes = size, max_bytes
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}
        self._queued: set[Hashable] = set()
        self._builder = ThreadPoolExecutor(1, thread_name_prefix="gridmap-kept")
        self.hits = self.misses = 0

    def get(self, key: Hashable, make: Callable[[], object],
            keep_if: Callable[[object], bool] | None = None) -> object:  # fmt: skip
        """The value kept under ``key``, or ``make()``'s, kept from now on (treat it as frozen)
        unless ``keep_if`` says it is not worth its place (cheaper to build again than to push
        out another).

        One thread builds a missing value; others asking for it meanwhile wait for it rather
        than build it again (fifty maps asking at once for what takes a second to build)."""
        with self._lock:
            if key in self._items:
                return self._hit(key)
            building = self._building.get(key)
            mine = building is None
            if mine:
                building = self._building[key] = threading.Lock()
                building.acquire()
        if not mine:
            with building:  # released once the value is built (kept or not), or its building failed
                pass
            with self._lock:
                if key in self._items:
                    return self._hit(key)
            return self.get(key, make, keep_if)  # not kept by the other thread: build it here
        try:
            value = make()
            with self._lock:
                self.misses += 1
                if keep_if is None or keep_if(value):
                    self._keep(key, value)
            return value
        finally:
            with self._lock:
                del self._building[key]
            building.release()

    def peek_or_build(self, key: Hashable, make: Callable[[], object]) -> object | None:
        """The value kept under ``key``; else ``None``, and ``make()`` is kept once built in a
        background thread (one at a time: building competes with answering)."""
        with self._lock:
            if key in self._items:
                return self._hit(key)
            if key in self._building or key in self._queued:
                return None
            self._queued.add(key)

        def build() -> None:
            try:
                self.get(key, make)
            except Exception as exc:  # a request asking for it later answers the error itself
                log.warning("building a kept answer failed: %s", type(exc).__name__)
            finally:
                with self._lock:
                    self._queued.discard(key)

        self._builder.submit(build)
        return None

    def _hit(self, key: Hashable) -> object:
        self._items.move_to_end(key)
        self.hits += 1
        return self._items[key]

    def _keep(self, key: Hashable, value: object) -> None:
        self._items[key] = value
        self._bytes += getattr(value, "nbytes", 0)
        while len(self._items) > 1 and (len(self._items) > self.size or self._bytes > self.max_bytes):  # fmt: skip
            _, old = self._items.popitem(last=False)
            self._bytes -= getattr(old, "nbytes", 0)

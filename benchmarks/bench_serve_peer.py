"""The HTTP peer of ``bench_serve.py``: the benchmark's own statements behind the smallest ASGI
app, served by uvicorn with the options ``gridmap serve`` uses.

It answers what a server that does nothing but HTTP and the statement costs, so that
``bench_serve.py`` can say what gridmap adds over HTTP itself (its login, middleware, routing,
validation, the worker thread of a sync driver, the collection around the page) apart from what
HTTP adds over the statement. No framework, no login, no middleware: one raw ASGI callable that
parses the query string, runs the statement on a pooled psycopg connection in the event loop
(async, autocommit: one round trip) and sends the text the database wrote.

    PEER_DSN=postgresql://… python -m uvicorn benchmarks.bench_serve_peer:app --http httptools \\
        --log-level warning --timeout-keep-alive 75

``GET /items?bbox=x0,y0,x1,y1&limit=N`` (``sql/serve_items.sql``), ``GET /map?bbox=…&zoom=Z``
(``sql/serve_map.sql``, simplified below zoom 17 as gridmap does) and ``GET /floor`` (a constant
document: the peer's HTTP floor).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from urllib.parse import parse_qs

import psycopg

SQL = Path(__file__).parent / "sql"
ITEMS_SQL = (SQL / "serve_items.sql").read_text()
MAP_SQL = (SQL / "serve_map.sql").read_text()
MAP_SIMPLIFIED_SQL = MAP_SQL.format(geom="ST_SimplifyPreserveTopology(geom, %(tolerance)s)")
MAP_PLAIN_SQL = MAP_SQL.format(geom="geom")
FLOOR = b'{"conformsTo":[]}'
CONNECTIONS = 8


def half_pixel(zoom: int) -> float:
    """gridmap's simplification tolerance at ``zoom`` (degrees); none from zoom 17 on."""
    return 360.0 / (256 * 2**zoom) / 2 if zoom < 17 else 0.0


class Pool:
    """Up to ``size`` autocommit connections, opened as needed and reused."""

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn, self.size, self.opened = dsn, size, 0
        self.idle: asyncio.Queue[psycopg.AsyncConnection] = asyncio.Queue()

    async def text(self, sql: str, params: dict) -> str:
        if self.idle.empty() and self.opened < self.size:
            self.opened += 1
            conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        else:
            conn = await self.idle.get()
        try:
            cur = await conn.execute(sql, params)
            return (await cur.fetchone())[0]
        finally:
            self.idle.put_nowait(conn)


_pool: Pool | None = None


def statement(path: str, query: dict[str, list[str]]) -> tuple[str, dict] | None:
    """The statement and its parameters for ``path``, or None for an unknown path."""
    if path not in ("/items", "/map"):
        return None
    x0, y0, x1, y1 = (float(v) for v in query["bbox"][0].split(","))
    box = {"x0": x0, "y0": y0, "x1": x1, "y1": y1}
    if path == "/items":
        return ITEMS_SQL, box | {"limit": int(query.get("limit", ["10"])[0])}
    tolerance = half_pixel(int(query["zoom"][0]))
    return (MAP_SIMPLIFIED_SQL, box | {"tolerance": tolerance}) if tolerance else (MAP_PLAIN_SQL, box)  # fmt: skip


async def app(scope, receive, send) -> None:
    global _pool
    if scope["type"] != "http":  # lifespan: nothing to set up
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/floor":
        body = FLOOR
    else:
        found = statement(scope["path"], parse_qs(scope["query_string"].decode()))
        if found is None:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        _pool = _pool or Pool(os.environ["PEER_DSN"], CONNECTIONS)
        body = (await _pool.text(*found)).encode()
    headers = [(b"content-type", b"application/geo+json"), (b"content-length", str(len(body)).encode())]  # fmt: skip
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})

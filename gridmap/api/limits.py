"""How many requests work at once: the rest wait in the event loop, holding no thread.

FastAPI runs a route's database connection dependency, the route itself and the dependency's
cleanup as three separate calls on its thread pool (40 threads). With more requests in flight
than pooled connections, every thread could end up blocked in the pool waiting for a connection
while the requests that hold the connections wait for a thread to go on — nothing moves until
the pool's timeout (a load test of 50 users found exactly that). Admitting at most ``limit``
requests at a time, with two pooled connections for each (a route may hold its read connection
and open a transaction), means no thread ever waits for a connection.

Written by hand: Starlette and uvicorn have no such limit (uvicorn's ``--limit-concurrency``
refuses the excess with 503 instead of queueing it).
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send


class ConcurrencyLimit:
    """ASGI middleware: at most ``limit`` HTTP requests inside the app at once, the others queue.

    Paths starting with ``exempt`` (static files: no database) are never held back.
    """

    def __init__(self, app: ASGIApp, limit: int, exempt: tuple[str, ...] = ("/static/",)):
        self.app = app
        self.limit = limit
        self.exempt = exempt
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:  # made on the server's event loop
            self._semaphore = asyncio.Semaphore(self.limit)
        async with self._semaphore:
            await self.app(scope, receive, send)


def pool_options(database_url: str, limit: int) -> dict:
    """Engine pool sizes for ``limit`` admitted requests (none for in-memory SQLite)."""
    if database_url in ("sqlite://", "sqlite:///:memory:"):
        return {}
    return {"pool_size": limit, "max_overflow": limit, "pool_timeout": 30}

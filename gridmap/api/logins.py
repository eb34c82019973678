"""Who a token or a browser session is, remembered for a few seconds (最近的登录).

Every request names its account by an API token or a session id. Looking either up in the
database took a worker thread and a query on every request — at street level about half of what
the app itself spends on one (``benchmarks/RESULTS.md``, "Serving at street level"). The server
now remembers each answer for :data:`REMEMBER_SECONDS`, keyed by a digest of the secret (never
the secret), and forgets everything the moment this process changes any account, token or
session (:func:`gridmap.auth.accounts_version`): a logout, a revoked token, a new password, a
disabled account or a restored backup made here is refused on the very next request.

A change made by another process — ``gridmap user revoke`` while the server runs, or another
worker of ``gridmap serve --workers N`` — takes effect within :data:`REMEMBER_SECONDS`. A failed
lookup is never remembered. A token's last use and a session's last request are still recorded
(hourly, every few minutes) by the lookups made as entries expire.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy import Connection

from gridmap.api.deps import on_connection
from gridmap.auth import accounts_version
from gridmap.permissions import Principal

REMEMBER_SECONDS = 5.0
MAX_REMEMBERED = 10_000  # past this many, the expired are dropped, then all if none was


@dataclass(frozen=True)
class _Entry:
    principal: Principal
    version: int
    until: float


class RecentLogins:
    """The accounts of the tokens and sessions seen in the last ``seconds``, per app. Used from
    the event loop only (no lock needed)."""

    def __init__(
        self,
        seconds: float = REMEMBER_SECONDS,
        size: int = MAX_REMEMBERED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self._seen: dict[bytes, _Entry] = {}

    @staticmethod
    def _key(kind: str, secret: str) -> bytes:
        return hashlib.sha256(f"{kind}\0{secret}".encode()).digest()

    def recall(self, kind: str, secret: str) -> Principal | None:
        entry = self._seen.get(self._key(kind, secret))
        if entry is None or entry.version != accounts_version() or self.clock() >= entry.until:
            return None
        return entry.principal

    def remember(self, kind: str, secret: str, principal: Principal, version: int) -> None:
        """Remember ``principal`` as looked up when the accounts were at ``version`` (taken
        before the lookup: a change made meanwhile makes the entry stale at once)."""
        now = self.clock()
        if len(self._seen) >= self.size:
            self._seen = {k: e for k, e in self._seen.items() if e.until > now}
            if len(self._seen) >= self.size:
                self._seen.clear()
        self._seen[self._key(kind, secret)] = _Entry(principal, version, now + self.seconds)


def recent_logins(app: FastAPI) -> RecentLogins:
    logins = getattr(app.state, "logins", None)
    if logins is None:
        logins = app.state.logins = RecentLogins()
    return logins


async def looked_up(
    app: FastAPI, kind: str, secret: str, lookup: Callable[[Connection], Principal | None]
) -> Principal | None:
    """The account of a token or session: remembered, or else ``lookup`` on a connection of its
    own in a worker thread (its errors raised as they are; ``None`` is not remembered)."""
    logins = recent_logins(app)
    principal = logins.recall(kind, secret)
    if principal is not None:
        return principal
    version = accounts_version()
    principal = await on_connection(app.state.engine, lookup)
    if principal is not None:
        logins.remember(kind, secret, principal, version)
    return principal

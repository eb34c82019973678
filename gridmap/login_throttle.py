"""Login throttling (登录限速): waits between tries that grow with the failures, counted in the
database (``login_throttle``), so every server process (``gridmap serve --workers N``) sees the
same counts.

Three counts, each over the last :data:`LOOKBACK`:

- one account name from one client address: after :data:`FREE_PER_PAIR` failures, the next
  try must wait 1 s after the last failure, then 2, 4, 8 … s, at most :data:`MAX_WAIT`;
- one client address, whatever names it tries: the same from :data:`FREE_PER_ADDRESS` failures
  on, so guessing with ever new names is as slow as with one;
- one account name from every address: the same from :data:`FREE_PER_ACCOUNT` failures on, so a
  guess spread over many addresses slows down too — except from an address the account logged
  in from within :data:`KNOWN_FOR`: its owner's usual computer. An attacker elsewhere can delay
  the owner only by failing from the owner's own address; nobody can lock anyone out.

Never a hard lock, and the same counts and answers whether or not a name is an account's: the
answer, its wording and its delay do not tell which names exist.

Failures are kept as one row per name, address and :data:`WINDOW`, with a count. Once a window
has closed, the audit trail gets one entry per row (action ``login_failed``, the name as typed
for the actor, the address, the window's start and the number of failures), written by the next
login try or the next read of the trail. The table stays small: rows older than
:data:`RETENTION` go (those of a success after :data:`KNOWN_FOR`), and beyond :data:`MAX_ROWS`
the oldest go first.

Examples
--------
>>> wait_after(2, free=3), wait_after(3, free=3), wait_after(6, free=3), wait_after(40, free=3)
(0.0, 1.0, 8.0, 900.0)
>>> window_of(datetime(2026, 12, 6, 9, 44, 59, tzinfo=UTC))
datetime.datetime(2026, 12, 6, 9, 30, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gridmap.store.features import log_change
from gridmap.store.models import LoginThrottle

WINDOW = timedelta(minutes=15)
LOOKBACK = timedelta(hours=1)
FREE_PER_PAIR = 3
FREE_PER_ADDRESS = 20  # an office behind one address: many people, a few typing errors each
FREE_PER_ACCOUNT = 10
MAX_WAIT = timedelta(minutes=15)
KNOWN_FOR = timedelta(days=30)
RETENTION = timedelta(days=1)
MAX_ROWS = 50_000

_T = LoginThrottle.__table__


def wait_after(failures: int, *, free: int) -> float:
    """Seconds to wait after the last of ``failures`` failures, ``free`` of which cost nothing."""
    if failures < free:
        return 0.0
    return float(min(2 ** min(failures - free, 20), MAX_WAIT.total_seconds()))


def window_of(moment: datetime) -> datetime:
    """The start of the :data:`WINDOW` holding ``moment`` (UTC)."""
    step = int(WINDOW.total_seconds())
    return datetime.fromtimestamp(int(moment.timestamp()) // step * step, UTC)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def _failures(conn: Connection, since: datetime, *where) -> tuple[int, datetime | None]:
    row = conn.execute(
        select(func.coalesce(func.sum(_T.c.failures), 0), func.max(_T.c.last_failure_at))
        .where(_T.c.window_start >= window_of(since), *where)
    ).one()  # fmt: skip
    return int(row[0]), _utc(row[1])


def wait_seconds(conn: Connection, name: str, address: str, now: datetime) -> float:
    """How long ``address`` must still wait before trying ``name`` again (0: it may now)."""
    since = now - LOOKBACK
    known = conn.execute(
        select(_T.c.id).where(_T.c.name == name, _T.c.address == address,
                              _T.c.last_success_at >= now - KNOWN_FOR).limit(1)
    ).first() is not None  # fmt: skip
    counts = [
        (_failures(conn, since, _T.c.name == name, _T.c.address == address), FREE_PER_PAIR),
        (_failures(conn, since, _T.c.address == address), FREE_PER_ADDRESS),
    ]
    if not known:
        counts.append((_failures(conn, since, _T.c.name == name), FREE_PER_ACCOUNT))
    waits = [
        (last + timedelta(seconds=wait_after(n, free=free)) - now).total_seconds()
        for (n, last), free in counts
        if last is not None
    ]
    return max([0.0, *waits])


def _upsert(conn: Connection, values: dict, changes: dict) -> None:
    make = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    statement = make(_T).values(**values)
    conn.execute(statement.on_conflict_do_update(index_elements=["name", "address", "window_start"], set_=changes))  # fmt: skip


def record_failure(conn: Connection, name: str, address: str, now: datetime) -> None:
    """Count a failed login of ``name`` from ``address``; then audit closed windows and prune."""
    key = {"name": name, "address": address, "window_start": window_of(now)}
    _upsert(conn, {**key, "failures": 1, "last_failure_at": now, "audited": False},
            {"failures": _T.c.failures + 1, "last_failure_at": now})  # fmt: skip
    audit_closed_windows(conn, now)
    prune(conn, now)


def record_success(conn: Connection, name: str, address: str, now: datetime) -> None:
    """Note a login of ``name`` from ``address``: that address is the owner's from now on."""
    key = {"name": name, "address": address, "window_start": window_of(now)}
    _upsert(conn, {**key, "failures": 0, "last_success_at": now, "audited": False},
            {"last_success_at": now})  # fmt: skip
    audit_closed_windows(conn, now)


def audit_closed_windows(conn: Connection, now: datetime) -> int:
    """One ``login_failed`` entry in the audit trail for each name, address and closed window
    with failures not yet audited; returns how many were written."""
    rows = conn.execute(
        select(_T.c.id, _T.c.name, _T.c.address, _T.c.window_start, _T.c.failures)
        .where(_T.c.audited.is_(False), _T.c.failures > 0, _T.c.window_start < window_of(now))
        .order_by(_T.c.window_start, _T.c.id)
    ).all()  # fmt: skip
    written = 0
    for row in rows:
        # only the process that marks the row writes its entry (two processes may both read it)
        claimed = conn.execute(update(_T).where(_T.c.id == row.id, _T.c.audited.is_(False)).values(audited=True)).rowcount  # fmt: skip
        if claimed:
            summary = {"address": row.address, "window_start": _utc(row.window_start).isoformat(),
                       "window_minutes": int(WINDOW.total_seconds() // 60), "failures": row.failures}  # fmt: skip
            log_change(conn, row.name, "login_failed", None, summary)
            written += 1
    return written


def prune(conn: Connection, now: datetime) -> None:
    """Forget old tries (audited ones, and successes after :data:`KNOWN_FOR`), and keep at most
    :data:`MAX_ROWS` rows, the newest."""
    conn.execute(
        delete(_T).where(
            _T.c.window_start < now - RETENTION,
            (_T.c.audited.is_(True)) | (_T.c.failures == 0),
            _T.c.last_success_at.is_(None) | (_T.c.last_success_at < now - KNOWN_FOR),
        )
    )
    total = conn.execute(select(func.count()).select_from(_T)).scalar_one()
    if total > MAX_ROWS:
        oldest = select(_T.c.id).order_by(_T.c.window_start, _T.c.id).limit(total - MAX_ROWS)
        conn.execute(delete(_T).where(_T.c.id.in_(oldest.scalar_subquery())))

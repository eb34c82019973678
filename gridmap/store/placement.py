"""Each member's placement (落位) by an analyze run, stored with the run and read back.

:func:`gridmap.core.assign.assign_points` places a member in the building their home point lies
in (``inside``) or next to (``snapped``), or in none (``unplaced``). The analysis stores that once
per run (:func:`save_placements`); the members list reads it (:func:`placements_of`) instead of
placing members again on every request, and knows when members or buildings changed since
(:func:`changed_since`).

Examples
--------
>>> import pandas as pd
>>> from gridmap.config import Settings
>>> from gridmap.store.db import make_engine
>>> from gridmap.store.results import new_run
>>> from gridmap.store.schema import upgrade
>>> engine = make_engine(Settings(database_url="sqlite://")); upgrade(engine)
>>> placed = pd.DataFrame({"code": ["M1", "M2"], "building_code": ["B1", None],
...                        "how": ["inside", "unplaced"], "distance_m": [0.0, 41.5]})
>>> with engine.begin() as conn:
...     run = new_run(conn, "cli", "analyze", {})
...     save_placements(conn, run, placed)
...     placements_of(conn, run, ["M2", "M1", "M3"])["building_code"].to_dict()
{'M1': 'B1', 'M2': None}
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Connection, func, select

from gridmap.store.features import bbox_clause
from gridmap.store.models import AnalysisRun, MemberPlacement, table_for
from gridmap.store.results import insert_rows

COLUMNS = ["member_code", "building_code", "how", "distance_m"]
CHUNK = 5000  # member codes per query (well under SQLite's limit of bound values)
# a code looked up in the index costs about as much as reading this many rows of the run in
# order (measured on SpatiaLite: 3,069 codes by IN 21 ms, the run's 3,069 rows 3.5 ms)
LOOKUP_ROWS = 6


def save_placements(conn: Connection, run_id: int, placed: pd.DataFrame | None) -> None:
    """Store :func:`gridmap.core.assign.assign_points` rows (``code, building_code, how,
    distance_m``; ``partition`` too for a partitioned run) under ``run_id``."""
    if placed is None or placed.empty:
        return
    frame = placed.rename(columns={"code": "member_code"}).assign(run_id=run_id)
    frame["building_code"] = frame["building_code"].astype(object).where(frame["building_code"].notna(), None)  # fmt: skip
    columns = ["run_id", *COLUMNS, *(["partition"] if "partition" in frame else [])]
    insert_rows(conn, MemberPlacement.__table__, frame, columns, spatial=False)


def placements_of(conn: Connection, run_id: int, codes: Sequence[str] | None = None) -> pd.DataFrame:  # fmt: skip
    """The placements of ``run_id``, indexed by member code: ``building_code`` (``None`` for
    the unplaced), ``how``, ``distance_m``; only those of ``codes`` when given."""
    table = MemberPlacement.__table__
    query = select(*(table.c[c] for c in COLUMNS)).where(table.c.run_id == run_id)
    if codes is not None:
        codes = list(dict.fromkeys(codes))
    if codes is None or _cheaper_whole(conn, run_id, len(codes)):
        rows = list(map(tuple, conn.execute(query.order_by(table.c.id))))
    else:
        chunks = (codes[start : start + CHUNK] for start in range(0, len(codes), CHUNK))
        rows = [
            tuple(row)
            for chunk in chunks
            for row in conn.execute(query.where(table.c.member_code.in_(chunk)))
        ]
    frame = pd.DataFrame(rows, columns=COLUMNS).set_index("member_code")
    if codes is not None:
        frame = frame[frame.index.isin(codes)]
    return frame.astype(object).where(frame.notna(), None)


def _cheaper_whole(conn: Connection, run_id: int, wanted: int) -> bool:
    """Whether reading every placement of the run beats looking ``wanted`` codes up one by one
    (a members list of the whole area, or of most of it)."""
    if wanted < 100:
        return False
    table = MemberPlacement.__table__
    total = conn.execute(select(func.count()).where(table.c.run_id == run_id)).scalar_one()
    return total <= wanted * LOOKUP_ROWS


def _utc(moment) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite hands times back naive, in UTC)."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def changed_since(conn: Connection, run_id: int, updated: pd.Series, bbox) -> bool:
    """Whether members (their ``updated`` times) or the buildings in ``bbox`` (lon/lat) were
    loaded or changed after run ``run_id``: then its placements may no longer hold for them."""
    at = _utc(conn.execute(select(AnalysisRun.at).where(AnalysisRun.id == run_id)).scalar())
    if at is None:
        return True
    newest_member = pd.to_datetime(updated, utc=True).max()
    if pd.notna(newest_member) and newest_member > at:
        return True
    building = table_for("building")
    newest = conn.execute(
        select(func.max(building.c.updated_at)).where(bbox_clause(conn, building, tuple(bbox)))
    ).scalar()
    return newest is not None and _utc(newest) > at

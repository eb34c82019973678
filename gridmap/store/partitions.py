"""Bookkeeping of partitioned runs: which partitions have finished, and their rows copied on.

A partitioned run is recorded with kind ``analyze:unfinished`` (or ``integrate:unfinished``)
until its last partition is in; :func:`gridmap.store.results.latest_run` passes over it, so the
map and the reports keep the run before. Each partition's results and its row here are written
in one transaction: a partition is either wholly in or not at all, which is what makes a run
that stopped half-way resumable.

Examples
--------
>>> from gridmap.config import Settings
>>> from gridmap.store.db import make_engine
>>> from gridmap.store.schema import upgrade
>>> engine = make_engine(Settings(database_url="sqlite://")); upgrade(engine)
>>> with engine.begin() as conn:
...     run = start_run(conn, "cli", "analyze", {"partition": "subdistrict"})
...     save_partition(conn, run, "510199001", "abc", analysed=True, summary={})
...     finished_partitions(conn, run), unfinished_run(conn, "analyze") == run
({'510199001': 'abc'}, True)
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, text, update

from gridmap.store.models import AnalysisPartition, AnalysisRun
from gridmap.store.results import UNFINISHED

RESULT_TABLES = ("gap", "proposal", "unit_figure", "crosswalk", "member_placement")


def start_run(conn: Connection, actor: str, kind: str, summary: dict) -> int:
    """Record a partitioned run, unfinished until :func:`finish_run`; returns its id."""
    row = insert(AnalysisRun).values(
        at=datetime.now(UTC), actor=actor, kind=kind + UNFINISHED, summary=summary
    )
    return int(conn.execute(row).inserted_primary_key[0])


def unfinished_run(conn: Connection, kind: str) -> int | None:
    """The newest run of ``kind`` that stopped before its last partition, if it is the newest
    run of that kind at all (a finished run after it makes it stale)."""
    newest = conn.execute(
        select(AnalysisRun.id, AnalysisRun.kind)
        .where(AnalysisRun.kind.in_([kind, kind + UNFINISHED]))
        .order_by(AnalysisRun.id.desc())
        .limit(1)
    ).first()
    return int(newest[0]) if newest is not None and newest[1] == kind + UNFINISHED else None


def run_settings(conn: Connection, run_id: int) -> dict:
    """What a partitioned run was started with (its summary while unfinished)."""
    return conn.execute(select(AnalysisRun.summary).where(AnalysisRun.id == run_id)).scalar() or {}


def finished_partitions(conn: Connection, run_id: int) -> dict[str, str]:
    """Partition → fingerprint of every partition of ``run_id`` that is in."""
    rows = conn.execute(
        select(AnalysisPartition.partition, AnalysisPartition.fingerprint).where(
            AnalysisPartition.run_id == run_id
        )
    )
    return dict(rows.all())


def partition_summaries(conn: Connection, run_id: int) -> dict[str, dict]:
    """Partition → the summary its task recorded."""
    rows = conn.execute(
        select(AnalysisPartition.partition, AnalysisPartition.summary).where(
            AnalysisPartition.run_id == run_id
        )
    )
    return {key: summary or {} for key, summary in rows}


def save_partition(
    conn: Connection,
    run_id: int,
    partition: str,
    fingerprint: str,
    *,
    analysed: bool,
    summary: dict,
) -> None:
    """Mark ``partition`` of ``run_id`` finished (inside the transaction of its results)."""
    conn.execute(
        insert(AnalysisPartition).values(
            run_id=run_id, partition=partition, fingerprint=fingerprint, analysed=analysed,
            summary=summary, finished_at=datetime.now(UTC),
        )
    )  # fmt: skip


def copy_partition(conn: Connection, from_run: int, to_run: int, partition: str) -> None:
    """The result rows of ``partition`` in ``from_run`` again under ``to_run`` (inputs unchanged)."""
    for table in RESULT_TABLES:
        columns = [
            row[1]
            for row in conn.execute(_columns_query(conn, table))
            if row[1] not in ("id", "run_id")
        ]
        names = ", ".join(f'"{c}"' for c in columns)
        conn.execute(
            text(
                f'INSERT INTO "{table}" (run_id, {names}) SELECT :to_run, {names} FROM "{table}" '
                "WHERE run_id = :from_run AND partition = :partition ORDER BY id"
            ),
            {"to_run": to_run, "from_run": from_run, "partition": partition},
        )


def _columns_query(conn: Connection, table: str):
    """(position, name) of every column of ``table`` (names from the catalogue, never input)."""
    if conn.dialect.name == "sqlite":
        return text(f"SELECT cid, name FROM pragma_table_info('{table}')")
    return text(
        "SELECT ordinal_position, column_name FROM information_schema.columns "
        f"WHERE table_name = '{table}' AND table_schema = current_schema() ORDER BY 1"
    )


def finish_run(conn: Connection, run_id: int, kind: str, summary: dict) -> None:
    """The run becomes the latest of ``kind``, with the summary of all its partitions."""
    conn.execute(
        update(AnalysisRun).where(AnalysisRun.id == run_id).values(kind=kind, summary=summary)
    )

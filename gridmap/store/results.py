"""Store and read analysis results: runs, gaps, crosswalk rows and proposals.

Each run of ``integrate``/``analyze`` gets an ``analysis_run`` row; its results point to it, so
the map always shows one consistent run (the latest) and older runs stay for comparison.

Examples
--------
>>> from gridmap.config import Settings
>>> from gridmap.core.gaps import empty_gaps
>>> from gridmap.store.db import make_engine
>>> from gridmap.store.schema import upgrade
>>> engine = make_engine(Settings(database_url="sqlite://")); upgrade(engine)
>>> with engine.begin() as conn:
...     run = new_run(conn, "cli", "analyze", {})
...     save_gaps(conn, run, empty_gaps())
...     latest_run(conn, "analyze") == run
True
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, func, insert, select

from gridmap.core.gaps import GAP_COLUMNS, empty_gaps
from gridmap.layers import STORAGE_CRS
from gridmap.store.bulk import _postgres_copy as copy_rows
from gridmap.store.bulk import column_lists
from gridmap.store.features import with_wkb_geometry
from gridmap.store.models import (
    SRID,
    AnalysisRun,
    CrosswalkRecord,
    GapRecord,
    ProposalRecord,
    UnitFigure,
)


def new_run(conn: Connection, actor: str, kind: str, summary: dict) -> int:
    """Record a run and return its id."""
    result = conn.execute(
        insert(AnalysisRun).values(at=datetime.now(UTC), actor=actor, kind=kind, summary=summary)
    )
    return int(result.inserted_primary_key[0])


def latest_run(conn: Connection, kind: str | None = None) -> int | None:
    """The id of the newest run (of ``kind``), or ``None``."""
    query = select(func.max(AnalysisRun.id))
    if kind:
        query = query.where(AnalysisRun.kind == kind)
    return conn.execute(query).scalar()


def run_summary(conn: Connection, run_id: int) -> dict | None:
    return conn.execute(select(AnalysisRun.summary).where(AnalysisRun.id == run_id)).scalar()


def _insert_rows(
    conn: Connection, table, frame: pd.DataFrame, columns: list[str], spatial: bool
) -> None:
    """Append ``frame``'s rows to ``table`` through the DB-API cursor (geometry from WKB, SRID 4326).

    Thousands of findings and proposals per run: SQLAlchemy's per-row parameter processing would
    cost more than the database work, so rows go as tuples, as in :mod:`gridmap.store.bulk`.
    """
    if frame.empty:
        return
    sqlite = conn.dialect.name == "sqlite"
    values = column_lists(frame, columns, spatial, ewkb_hex=not sqlite)
    cursor = conn.connection.driver_connection.cursor()
    if sqlite:
        names = ", ".join(f'"{c}"' for c in columns) + (", geom" if spatial else "")
        marks = ", ".join("?" for _ in columns) + (f", GeomFromWKB(?, {SRID})" if spatial else "")
        cursor.executemany(
            f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
            list(zip(*values, strict=True)),
        )
    else:
        copy_rows(cursor, table.name, columns, values, spatial)
    cursor.close()


def _json(values) -> list[str]:
    """JSON text as SQLAlchemy's JSON type writes it (``None`` becomes JSON ``null``)."""
    return [json.dumps(v) for v in values]


def save_gaps(conn: Connection, run_id: int, gaps: gpd.GeoDataFrame) -> None:
    """Store a gap frame (columns of :data:`gridmap.core.gaps.GAP_COLUMNS`) under ``run_id``."""
    frame = gaps.to_crs(STORAGE_CRS).copy()
    frame["run_id"] = run_id
    columns = ["run_id", *[c for c in GAP_COLUMNS if c != "geometry"]]
    _insert_rows(conn, GapRecord.__table__, frame, columns, spatial=True)


def _read_geo(conn: Connection, table, run_id: int, where=None) -> gpd.GeoDataFrame:
    cols = [c for c in table.columns if c.name not in ("geom", "id", "run_id")]
    query = select(*cols, func.ST_AsBinary(table.c.geom).label("wkb")).where(
        table.c.run_id == run_id
    )
    if where is not None:
        query = query.where(where)
    rows = conn.execute(query.order_by(table.c.id)).mappings().all()
    frame = pd.DataFrame(rows, columns=[c.name for c in cols] + ["wkb"])
    return with_wkb_geometry(frame)


def read_gaps(
    conn: Connection, run_id: int | None = None, kind: str | None = None
) -> gpd.GeoDataFrame:
    """Gaps of a run (default: the latest analyze or integrate run)."""
    run_id = run_id or latest_run(conn)
    if run_id is None:
        return empty_gaps()
    table = GapRecord.__table__
    return _read_geo(conn, table, run_id, table.c.kind == kind if kind else None)


def save_crosswalk(conn: Connection, run_id: int, crosswalk: pd.DataFrame) -> None:
    columns = [c.name for c in CrosswalkRecord.__table__.columns if c.name not in ("id", "run_id")]
    if crosswalk.empty:
        return
    data = crosswalk.reindex(columns=columns).assign(run_id=run_id)
    _insert_rows(conn, CrosswalkRecord.__table__, data, ["run_id", *columns], spatial=False)


def read_crosswalk(conn: Connection, run_id: int) -> pd.DataFrame:
    table = CrosswalkRecord.__table__
    cols = [c for c in table.columns if c.name not in ("id", "run_id")]
    rows = conn.execute(select(*cols).where(table.c.run_id == run_id).order_by(table.c.id)).all()
    return pd.DataFrame(rows, columns=[c.name for c in cols])


def save_proposals(conn: Connection, run_id: int, proposals: gpd.GeoDataFrame) -> None:
    table = ProposalRecord.__table__
    columns = [c.name for c in table.columns if c.name not in ("id", "geom")]
    frame = proposals.to_crs(STORAGE_CRS).copy()
    frame["run_id"] = run_id
    for c in columns:
        if c not in frame:
            frame[c] = None
    frame["details"] = _json(frame["details"])
    _insert_rows(conn, table, frame, columns, spatial=True)


def read_proposals(conn: Connection, run_id: int) -> gpd.GeoDataFrame:
    return _read_geo(conn, ProposalRecord.__table__, run_id)


def save_figures(conn: Connection, run_id: int, figures: pd.DataFrame) -> None:
    """Store :func:`gridmap.core.coverage.unit_figures` rows under ``run_id``."""
    if figures.empty:
        return
    columns = ["run_id", *figures.columns]
    _insert_rows(conn, UnitFigure.__table__, figures.assign(run_id=run_id), columns, spatial=False)


def read_figures(
    conn: Connection, run_id: int | None = None, level: str | None = None, code: str | None = None
) -> pd.DataFrame:
    """Figures of a run (default: the latest analyze run), optionally of one level or unit."""
    table = UnitFigure.__table__
    cols = [c for c in table.columns if c.name not in ("id", "run_id")]
    run_id = run_id or latest_run(conn, "analyze")
    query = select(*cols).where(table.c.run_id == (run_id or -1))
    if level:
        query = query.where(table.c.level == level)
    if code is not None:
        query = query.where(table.c.code == code)
    rows = conn.execute(query.order_by(table.c.id)).all()
    return pd.DataFrame(rows, columns=[c.name for c in cols])

"""Store and read analysis results: runs, gaps, crosswalk rows and branch proposals.

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
from collections.abc import Sequence
from datetime import UTC, datetime

import geopandas as gpd
import pandas as pd
from sqlalchemy import Connection, and_, case, func, insert, literal, or_, select, text

from gridmap.core.gaps import GAP_COLUMNS, empty_gaps
from gridmap.layers import STORAGE_CRS
from gridmap.store.bulk import column_lists, postgres_copy
from gridmap.store.features import bbox_clause, with_wkb_geometry
from gridmap.store.models import (
    SRID,
    AnalysisRun,
    BranchProposalRecord,
    ChangeLog,
    CrosswalkRecord,
    GapRecord,
    UnitFigure,
)


def new_run(conn: Connection, actor: str, kind: str, summary: dict) -> int:
    """Record a run and return its id."""
    result = conn.execute(
        insert(AnalysisRun).values(at=datetime.now(UTC), actor=actor, kind=kind, summary=summary)
    )
    return int(result.inserted_primary_key[0])


UNFINISHED = ":unfinished"  # the kind of a partitioned run ends so until every partition is in


def latest_run(conn: Connection, kind: str | None = None) -> int | None:
    """The id of the newest finished run (of ``kind``), or ``None``.

    A partitioned run still under way (or stopped half-way) is not finished: the map and the
    reports keep showing the run before it.
    """
    query = select(func.max(AnalysisRun.id))
    if kind:
        query = query.where(AnalysisRun.kind == kind)
    else:
        query = query.where(AnalysisRun.kind.not_like(f"%{UNFINISHED}"))
    return conn.execute(query).scalar()


def run_summary(conn: Connection, run_id: int) -> dict | None:
    return conn.execute(select(AnalysisRun.summary).where(AnalysisRun.id == run_id)).scalar()


def insert_rows(
    conn: Connection, table, frame: pd.DataFrame, columns: list[str], spatial: bool
) -> None:
    """Append ``frame``'s rows to ``table`` through the DB-API cursor (geometry from WKB, SRID 4326).

    Thousands of findings and proposals per run: SQLAlchemy's per-row parameter processing would
    cost more than the database work, so rows go as tuples, as in :mod:`gridmap.store.bulk`.
    """
    if frame.empty:
        return
    sqlite = conn.dialect.name == "sqlite"
    cursor = conn.connection.driver_connection.cursor()
    if sqlite:
        values = column_lists(frame, columns, spatial)
        names = ", ".join(f'"{c}"' for c in columns) + (", geom" if spatial else "")
        marks = ", ".join("?" for _ in columns) + (f", GeomFromWKB(?, {SRID})" if spatial else "")
        cursor.executemany(
            f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})',
            list(zip(*values, strict=True)),
        )
    else:
        postgres_copy(cursor, table.name, columns, frame, spatial)
    cursor.close()


def _json(values) -> list[str]:
    """JSON text as SQLAlchemy's JSON type writes it (``None`` becomes JSON ``null``)."""
    return [json.dumps(v) for v in values]


def save_gaps(conn: Connection, run_id: int, gaps: gpd.GeoDataFrame) -> None:
    """Store a gap frame (columns of :data:`gridmap.core.gaps.GAP_COLUMNS`) under ``run_id``."""
    frame = gaps.to_crs(STORAGE_CRS).copy()
    frame["run_id"] = run_id
    columns = ["run_id", *[c for c in GAP_COLUMNS if c != "geometry"]]
    if "partition" in frame:
        columns.append("partition")
    insert_rows(conn, GapRecord.__table__, frame, columns, spatial=True)


def _read_geo(conn: Connection, table, run_id: int, where=None) -> gpd.GeoDataFrame:
    cols = [c for c in table.columns if c.name not in ("geom", "id", "run_id", "partition")]
    query = select(*cols, func.ST_AsBinary(table.c.geom).label("wkb")).where(
        table.c.run_id == run_id
    )
    if where is not None:
        query = query.where(where)
    rows = conn.execute(query.order_by(table.c.id)).all()
    # from plain tuples: a frame built from row mappings took a third of reading a city's gaps
    frame = pd.DataFrame([tuple(r) for r in rows], columns=[c.name for c in cols] + ["wkb"])
    return with_wkb_geometry(frame)


Box = tuple[float, float, float, float]


def _meets_box(conn: Connection, table, bbox: Box):
    """Rows whose geometry meets a lon/lat box, through the spatial index where there is one.

    SpatiaLite's gap table has no R*Tree (only the layer tables get one), so there the box is
    tested row by row (SpatiaLite compares bounding rectangles before exact geometry).
    """
    if conn.dialect.name == "sqlite":
        indexed = conn.execute(
            text(
                "SELECT spatial_index_enabled FROM geometry_columns "
                "WHERE f_table_name = :t AND f_geometry_column = 'geom'"
            ),
            {"t": table.name},
        ).scalar()
        if not indexed:
            return func.ST_Intersects(table.c.geom, func.BuildMbr(*bbox, SRID))
    return bbox_clause(conn, table, bbox)


def _gap_where(
    conn: Connection,
    run_id: int,
    kinds: Sequence[str] | None = None,
    community: str | None = None,
    bbox: Box | None = None,
    leave_out_layers: Sequence[str] = (),
    located: bool = False,
    unplaced_too: bool = False,
):
    table = GapRecord.__table__
    where = [table.c.run_id == run_id]
    if kinds is not None:
        where.append(table.c.kind.in_(list(kinds)))
    if community:
        here = table.c.community_code == community
        if unplaced_too:  # gaps placed in no community belong to every community's list
            here = or_(here, table.c.community_code.is_(None), table.c.community_code == "")
        where.append(here)
    if leave_out_layers:
        where.append(table.c.layer.not_in(list(leave_out_layers)))
    if located or bbox is not None:
        where.append(table.c.geom.is_not(None))
    if bbox is not None:
        where.append(_meets_box(conn, table, bbox))
    return and_(*where)


def read_gaps(
    conn: Connection,
    run_id: int | None = None,
    kind: str | None = None,
    *,
    kinds: Sequence[str] | None = None,
    community: str | None = None,
    bbox: Box | None = None,
    leave_out_layers: Sequence[str] = (),
    located: bool = False,
) -> gpd.GeoDataFrame:
    """Gaps of a run (default: the latest analyze or integrate run), filtered in the database.

    ``kind`` or ``kinds`` keep those kinds, ``community`` one community's gaps, ``bbox``
    (lon/lat) those meeting the box, ``leave_out_layers`` drops gaps about features of those
    layers, ``located`` keeps gaps that have a geometry.
    """
    run_id = run_id or latest_run(conn)
    if run_id is None:
        return empty_gaps()
    if kind:
        kinds = [kind]
    where = _gap_where(conn, run_id, kinds, community, bbox, leave_out_layers, located)
    return _read_geo(conn, GapRecord.__table__, run_id, where)


def unit_gaps(conn: Connection, run_id: int | None, code: str) -> pd.DataFrame:
    """The gaps of a run about one unit: its ``code``, or among the ``codes`` a gap involves.

    Only those rows are read, without geometry (a click on a unit must not read the whole run).
    """
    table = GapRecord.__table__
    columns = ["kind", "layer", "code", "measure", "unit", "message_zh", "message_en"]
    escaped = code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    codes = literal(";").concat(func.coalesce(table.c.codes, "")).concat(";")
    query = (
        select(*(table.c[c] for c in columns), table.c.codes)
        .where(table.c.run_id == (run_id or -1))
        .where(or_(table.c.code == code, codes.like(f"%;{escaped};%", escape="\\")))
        .order_by(table.c.id)
    )
    frame = pd.DataFrame(list(map(tuple, conn.execute(query))), columns=[*columns, "codes"])
    # SQLite's LIKE ignores ASCII case: the exact test is made here, on the few rows found
    exact = (frame["code"] == code) | frame["codes"].fillna("").str.split(";").map(
        lambda involved: code in involved
    )
    return frame.loc[exact.astype(bool), columns].reset_index(drop=True)


INDEX_COLUMNS = ["kind", "layer", "code", "name", "measure", "unit", "community_code"]


def gap_index(
    conn: Connection,
    run_id: int | None,
    kinds: Sequence[str] | None,
    *,
    community: str | None = None,
    bbox: Box | None = None,
    limit: int | None = None,
    with_geometry: bool = False,
    unplaced_too: bool = False,
    leave_out_layers: Sequence[str] = (),
) -> pd.DataFrame:
    """The located gaps of ``kinds`` (in that order, then as found; all kinds for ``None``):
    what a gap list shows.

    Columns :data:`INDEX_COLUMNS` and ``bbox`` (``[minlon, minlat, maxlon, maxlat]``, computed
    by the database); the geometry as well with ``with_geometry`` (to test an account's area).
    ``unplaced_too`` keeps, besides ``community``'s gaps, those placed in no community.
    """
    table = GapRecord.__table__
    bounds = ("ST_MinX", "ST_MinY", "ST_MaxX", "ST_MaxY")
    if conn.dialect.name == "postgresql":
        bounds = ("ST_XMin", "ST_YMin", "ST_XMax", "ST_YMax")
    cols = [table.c[c] for c in INDEX_COLUMNS]
    cols += [getattr(func, b)(table.c.geom).label(b) for b in bounds]
    if with_geometry:
        cols.append(func.ST_AsBinary(table.c.geom).label("wkb"))
    order = [table.c.id]
    if kinds:
        order.insert(0, case({k: i for i, k in enumerate(kinds)}, value=table.c.kind))
    where = _gap_where(
        conn, run_id or -1, kinds, community, bbox, leave_out_layers, located=True,
        unplaced_too=unplaced_too,
    )  # fmt: skip
    query = select(*cols).where(where).order_by(*order).limit(limit)
    rows = list(map(tuple, conn.execute(query)))
    frame = pd.DataFrame(
        rows, columns=[*INDEX_COLUMNS, *bounds, *(["wkb"] if with_geometry else [])]
    )
    frame["bbox"] = frame[list(bounds)].to_numpy(dtype=float).tolist()
    frame = frame.drop(columns=list(bounds))
    return with_wkb_geometry(frame) if with_geometry else frame


def count_gaps(
    conn: Connection,
    run_id: int | None,
    kinds: Sequence[str] | None,
    community: str | None = None,
    unplaced_too: bool = False,
    leave_out_layers: Sequence[str] = (),
) -> int:
    """How many located gaps of ``kinds`` (in ``community``) a run holds."""
    where = _gap_where(
        conn, run_id or -1, kinds, community, None, leave_out_layers, located=True,
        unplaced_too=unplaced_too,
    )  # fmt: skip
    return conn.execute(
        select(func.count()).select_from(GapRecord.__table__).where(where)
    ).scalar_one()


def save_crosswalk(conn: Connection, run_id: int, crosswalk: pd.DataFrame) -> None:
    columns = [c.name for c in CrosswalkRecord.__table__.columns if c.name not in ("id", "run_id")]
    if crosswalk.empty:
        return
    data = crosswalk.reindex(columns=columns).assign(run_id=run_id)
    insert_rows(conn, CrosswalkRecord.__table__, data, ["run_id", *columns], spatial=False)


def read_crosswalk(conn: Connection, run_id: int) -> pd.DataFrame:
    table = CrosswalkRecord.__table__
    cols = [c for c in table.columns if c.name not in ("id", "run_id", "partition")]
    rows = conn.execute(select(*cols).where(table.c.run_id == run_id).order_by(table.c.id)).all()
    return pd.DataFrame(rows, columns=[c.name for c in cols])


def save_branch_proposals(conn: Connection, run_id: int, proposals: gpd.GeoDataFrame) -> None:
    """The branch proposals (支部组建建议) of a run, in the table ``proposal``."""
    table = BranchProposalRecord.__table__
    columns = [c.name for c in table.columns if c.name not in ("id", "geom")]
    frame = proposals.to_crs(STORAGE_CRS).copy()
    frame["run_id"] = run_id
    for c in columns:
        if c not in frame:
            frame[c] = None
    frame["details"] = _json(frame["details"])
    insert_rows(conn, table, frame, columns, spatial=True)


def read_branch_proposals(conn: Connection, run_id: int) -> gpd.GeoDataFrame:
    return _read_geo(conn, BranchProposalRecord.__table__, run_id)


def save_figures(conn: Connection, run_id: int, figures: pd.DataFrame) -> None:
    """Store :func:`gridmap.core.coverage.unit_figures` rows under ``run_id``."""
    if figures.empty:
        return
    columns = ["run_id", *figures.columns]
    insert_rows(conn, UnitFigure.__table__, figures.assign(run_id=run_id), columns, spatial=False)


def read_figures(
    conn: Connection, run_id: int | None = None, level: str | None = None, code: str | None = None
) -> pd.DataFrame:
    """Figures of a run (default: the latest analyze run), optionally of one level or unit."""
    table = UnitFigure.__table__
    cols = [c for c in table.columns if c.name not in ("id", "run_id", "partition")]
    run_id = run_id or latest_run(conn, "analyze")
    query = select(*cols).where(table.c.run_id == (run_id or -1))
    if level:
        query = query.where(table.c.level == level)
    if code is not None:
        query = query.where(table.c.code == code)
    rows = conn.execute(query.order_by(table.c.id)).all()
    return pd.DataFrame(rows, columns=[c.name for c in cols])


# changes of the data an analysis reads; the others (logins, plan drafts, exports) leave it true
DATA_CHANGES = {"import": "导入图层", "plan_approve": "批准方案", "integrate": "多网合一"}


def changes_since_analysis(conn: Connection) -> list[dict] | None:
    """The data changes logged after the latest analysis (what the map shows is older than
    the data), oldest first; ``None`` when the analysis is up to date."""
    last = select(func.max(ChangeLog.id)).where(ChangeLog.action == "analyze").scalar_subquery()
    rows = conn.execute(
        select(ChangeLog.action, ChangeLog.layer, ChangeLog.at)
        .where(ChangeLog.action.in_(DATA_CHANGES), ChangeLog.id > func.coalesce(last, 0))
        .order_by(ChangeLog.id)
    ).all()
    if not rows:
        return None
    return [{"action": a, "action_zh": DATA_CHANGES[a], "layer": layer, "at": at} for a, layer, at in rows]  # fmt: skip

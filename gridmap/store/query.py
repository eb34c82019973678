"""Paged, filtered reads of a layer (for OGC API Features and the JSON API).

Filters name canonical columns only (checked against the table, never interpolated) and their
values are bound, so a filter string can never become SQL.

Examples
--------
>>> from gridmap.config import Settings
>>> from gridmap.store.db import make_engine
>>> from gridmap.store.schema import upgrade
>>> engine = make_engine(Settings(database_url="sqlite://")); upgrade(engine)
>>> with engine.connect() as conn: page = query_features(conn, "building", limit=10)
>>> page.number_matched, len(page.frame)
(0, 0)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Boolean, Connection, DateTime, Float, Integer, and_, func, select

from gridmap.errors import InputFileError
from gridmap.layers import LAYERS, STORAGE_CRS
from gridmap.store.features import bbox_clause, fix_types
from gridmap.store.models import table_for

HIDDEN_COLUMNS = ("properties", "repair_note", "source", "geom")
NOT_ON_MAP = ("properties", "updated_at", "source", "geom")


@dataclass
class Page:
    frame: gpd.GeoDataFrame
    number_matched: int


def queryable_columns(layer: str, include_personal: bool = False) -> list[str]:
    """Columns a client may filter on and receives (personal fields only when allowed)."""
    table = table_for(layer)
    personal = set() if include_personal else set(LAYERS[layer].personal_fields)
    return [
        c.name
        for c in table.columns
        if c.name not in HIDDEN_COLUMNS and c.name not in personal and c.name != "id"
    ]


MAX_INTEGER = 2**31 - 1  # the integer columns are 32-bit in PostgreSQL


def _coerce(column, value: str):
    """The filter text as the column's type; a value the column cannot hold is a clear 400."""
    kind = column.type
    try:
        if isinstance(kind, Boolean):
            return value.lower() in ("true", "1", "是", "yes")
        if isinstance(kind, Integer):
            number = int(value)
            if abs(number) > MAX_INTEGER:
                raise ValueError(f"{number} is out of range")
            return number
        if isinstance(kind, Float):
            return float(value)
        if isinstance(kind, DateTime):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    except ValueError as exc:
        raise InputFileError(
            f"筛选条件 {column.name}={value} 的取值类型不对或超出范围。",
            f"Filter {column.name}={value} has a value of the wrong type or out of range.",
        ) from exc
    return value


@dataclass
class RowsPage:
    """A page as the driver returned it: column names, value tuples, geometries (no frame)."""

    names: list[str]
    rows: list[tuple]
    geoms: np.ndarray
    number_matched: int


def query_rows(
    conn: Connection,
    layer: str,
    *,
    grid_layer: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    filters: dict[str, str] | None = None,
    updated: tuple[datetime | None, datetime | None] | None = None,
    limit: int = 10,
    offset: int = 0,
    include_personal: bool = False,
) -> RowsPage:
    """One page of a layer, ordered by code, with the total number matching."""
    table = table_for(layer)
    allowed = queryable_columns(layer, include_personal)
    conditions = []
    if layer == "grid":
        conditions.append(table.c.layer == grid_layer)
    for name, value in (filters or {}).items():
        if name not in allowed:
            raise InputFileError(
                f"不能按 {name} 筛选。可用: {', '.join(allowed)}。",
                f"Cannot filter on {name}; queryable: {', '.join(allowed)}.",
            )
        conditions.append(table.c[name] == _coerce(table.c[name], value))
    if bbox is not None:
        conditions.append(bbox_clause(conn, table, bbox))
    if updated is not None:
        start, end = updated
        if start is not None:
            conditions.append(table.c.updated_at >= start)
        if end is not None:
            conditions.append(table.c.updated_at <= end)
    where = and_(*conditions) if conditions else None
    count = select(func.count()).select_from(table)
    columns = [table.c.id, *(table.c[n] for n in allowed)]
    query = select(*columns, func.ST_AsBinary(table.c.geom).label("wkb"))
    if where is not None:
        count, query = count.where(where), query.where(where)
    rows = conn.execute(query.order_by(table.c.code, table.c.id).limit(limit).offset(offset)).all()
    if len(rows) < limit and (rows or offset == 0):
        matched = offset + len(rows)  # the last page: nothing more to count
    else:
        matched = conn.execute(count).scalar_one()
    wkb = np.array([bytes(r[-1]) if r[-1] is not None else None for r in rows], dtype=object)
    geoms = shapely.from_wkb(wkb) if len(wkb) else np.array([], dtype=object)
    return RowsPage(["id", *allowed], [tuple(r[:-1]) for r in rows], geoms, int(matched))


def query_features(conn: Connection, layer: str, **kwargs) -> Page:
    """:func:`query_rows` as a GeoDataFrame (for HTML pages and single items)."""
    page = query_rows(conn, layer, **kwargs)
    # plain tuples: pandas builds a frame from SQLAlchemy rows several times slower
    frame = pd.DataFrame(page.rows, columns=page.names)
    frame = fix_types(frame, table_for(layer))
    frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(page.geoms, crs=STORAGE_CRS), crs=STORAGE_CRS)  # fmt: skip
    return Page(frame, page.number_matched)


def map_rows(
    conn: Connection,
    layer: str,
    *,
    grid_layer: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    limit: int | None = None,
) -> tuple[list[str], list[tuple], np.ndarray]:
    """What the map shows of a layer: column names, rows and geometries, ordered by code.

    The columns are :func:`~gridmap.store.features.read_features`' without ``properties``,
    ``updated_at`` and ``source`` (personal fields are never included). Rows come straight from
    the driver, without a DataFrame: for a viewport of a thousand buildings the frame's
    bookkeeping cost as much as the query.
    """
    table = table_for(layer)
    left_out = {*NOT_ON_MAP, *LAYERS[layer].personal_fields}
    first = ["id", "code", "name"]
    names = first + [c.name for c in table.columns if c.name not in first]
    names = [n for n in names if n not in left_out]
    query = select(*(table.c[n] for n in names), func.ST_AsBinary(table.c.geom))
    if layer == "grid":
        query = query.where(table.c.layer == grid_layer)
    if bbox is not None:
        query = query.where(bbox_clause(conn, table, bbox))
    rows = conn.execute(query.order_by(table.c.code).limit(limit)).all()
    wkb = np.array([bytes(r[-1]) if r[-1] is not None else None for r in rows], dtype=object)
    return names, [tuple(r[:-1]) for r in rows], shapely.from_wkb(wkb)

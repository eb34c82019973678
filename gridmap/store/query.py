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
from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Boolean, Connection, Float, Integer, and_, func, select

from gridmap.errors import InputFileError
from gridmap.layers import LAYERS
from gridmap.store.features import bbox_clause, fix_types, with_wkb_geometry
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


def _coerce(column, value: str):
    kind = column.type
    try:
        if isinstance(kind, Boolean):
            return value.lower() in ("true", "1", "是", "yes")
        if isinstance(kind, Integer):
            return int(value)
        if isinstance(kind, Float):
            return float(value)
    except ValueError as exc:
        raise InputFileError(
            f"筛选条件 {column.name}={value} 的取值类型不对。",
            f"Filter {column.name}={value} has a value of the wrong type.",
        ) from exc
    return value


def query_features(
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
) -> Page:
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
    # plain tuples: pandas builds a frame from SQLAlchemy rows several times slower
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["id", *allowed, "wkb"])
    frame = fix_types(frame, table)
    return Page(with_wkb_geometry(frame), int(matched))


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

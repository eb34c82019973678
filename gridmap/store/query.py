"""Paged, filtered reads of a layer (for OGC API Features and the JSON API), as rows or as
GeoJSON text written by the database.

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
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import (
    Boolean,
    Connection,
    DateTime,
    Float,
    Integer,
    and_,
    bindparam,
    func,
    select,
)

from gridmap.errors import InputFileError
from gridmap.layers import LAYERS, STORAGE_CRS
from gridmap.store.features import BOX_PARAMS, bound_bbox_clause, fix_types
from gridmap.store.geojson import feature_text, register_functions
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


@dataclass(frozen=True)
class _Shape:
    """What a page's statement depends on besides the values it is run with (so that it is built
    once and reused: building and keying a statement cost more than running it)."""

    dialect: str
    layer: str
    include_personal: bool
    filters: tuple[str, ...]
    bbox: bool
    start: bool
    end: bool


def _request(
    conn: Connection,
    layer: str,
    include_personal: bool,
    grid_layer: str | None,
    bbox: tuple[float, float, float, float] | None,
    filters: dict[str, str] | None,
    updated: tuple[datetime | None, datetime | None] | None,
) -> tuple[_Shape, dict]:
    """The statement's shape and the values to run it with; unknown filters are a 400."""
    table = table_for(layer)
    allowed = queryable_columns(layer, include_personal)
    params: dict = {"grid_layer": grid_layer} if layer == "grid" else {}
    for name, value in (filters or {}).items():
        if name not in allowed:
            raise InputFileError(
                f"不能按 {name} 筛选。可用: {', '.join(allowed)}。",
                f"Cannot filter on {name}; queryable: {', '.join(allowed)}.",
            )
        params[f"f_{name}"] = _coerce(table.c[name], value)
    if bbox is not None:
        params.update(zip(BOX_PARAMS, bbox, strict=True))
    start, end = updated or (None, None)
    params.update({k: v for k, v in (("start", start), ("end", end)) if v is not None})
    shape = _Shape(conn.dialect.name, layer, include_personal, tuple(filters or ()),
                   bbox is not None, start is not None, end is not None)  # fmt: skip
    return shape, params


def _where(shape: _Shape):
    """The WHERE clause of ``shape`` (``None`` for every feature), its values as parameters."""
    table = table_for(shape.layer)
    conditions = [table.c[n] == bindparam(f"f_{n}", type_=table.c[n].type) for n in shape.filters]
    if shape.layer == "grid":
        conditions.append(table.c.layer == bindparam("grid_layer"))
    if shape.bbox:
        conditions.append(bound_bbox_clause(shape.dialect, table))
    kind = table.c.updated_at.type
    if shape.start:
        conditions.append(table.c.updated_at >= bindparam("start", type_=kind))
    if shape.end:
        conditions.append(table.c.updated_at <= bindparam("end", type_=kind))
    return and_(*conditions) if conditions else None


def _filtered(query, shape: _Shape):
    where = _where(shape)
    return query if where is None else query.where(where)


@lru_cache(maxsize=256)
def _count_statement(shape: _Shape):
    return _filtered(select(func.count()).select_from(table_for(shape.layer)), shape)


@lru_cache(maxsize=256)
def _rows_statement(shape: _Shape):
    table = table_for(shape.layer)
    columns = [table.c[n] for n in ("id", *queryable_columns(shape.layer, shape.include_personal))]
    query = _filtered(select(*columns, func.ST_AsBinary(table.c.geom).label("wkb")), shape)
    return query.order_by(table.c.code, table.c.id).limit(bindparam("limit")).offset(bindparam("offset"))  # fmt: skip


@lru_cache(maxsize=256)
def _geojson_statement(shape: _Shape):
    """One row: the number matching (a window count in the pass that finds the page), the
    number on the page and its features' GeoJSON text, written only for the page's rows."""
    table = table_for(shape.layer)
    allowed = queryable_columns(shape.layer, shape.include_personal)
    read = [c for c in table.columns if c.name in {"id", "code", "geom", *allowed}]
    sqlite = shape.dialect == "sqlite"
    # SQLite's sorter carries every column it is given: there the page is found on codes and
    # ids alone and only its rows are read whole (a fifth faster for 1,000 of 1,500 matches;
    # PostgreSQL is as fast either way, and a little slower with the second look)
    found = [table.c.id, table.c.code] if sqlite else read
    page = _filtered(select(*found, func.count().over().label("matched")), shape)
    page = page.order_by(table.c.code, table.c.id)
    page = page.limit(bindparam("limit")).offset(bindparam("offset")).subquery()
    if sqlite:
        whole = select(page.c.matched, *read).join_from(page, table, page.c.id == table.c.id)
        page = whole.subquery()
    polygons = LAYERS[shape.layer].geometry == "polygon"
    texts = func.aggregate_strings(feature_text(shape.dialect, page, allowed, polygons), ",")
    return select(func.max(page.c.matched), func.count(),
                  texts.aggregate_order_by(page.c.code, page.c.id))  # fmt: skip


def _number_matched(conn, shape: _Shape, params: dict, offset: int, returned: int, limit: int) -> int:  # fmt: skip
    """How many features match: known without counting on the last page."""
    if returned < limit and (returned or offset == 0):
        return offset + returned
    return int(conn.execute(_count_statement(shape), params).scalar_one())


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
    shape, params = _request(conn, layer, include_personal, grid_layer, bbox, filters, updated)
    rows = conn.execute(_rows_statement(shape), {**params, "limit": limit, "offset": offset}).all()
    matched = _number_matched(conn, shape, params, offset, len(rows), limit)
    wkb = np.array([bytes(r[-1]) if r[-1] is not None else None for r in rows], dtype=object)
    geoms = shapely.from_wkb(wkb) if len(wkb) else np.array([], dtype=object)
    names = ["id", *queryable_columns(layer, include_personal)]
    return RowsPage(names, [tuple(r[:-1]) for r in rows], geoms, matched)


@dataclass
class GeoJSONPage:
    """A page as GeoJSON text: its features joined by commas (without the brackets)."""

    features: str
    number_returned: int
    number_matched: int


def query_geojson(
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
) -> GeoJSONPage:
    """:func:`query_rows`' page as the GeoJSON text the database writes (one statement).

    The features are :func:`~gridmap.store.geojson.feature_text`'s: ``code`` as the id, the
    columns :func:`query_rows` returns (but ``id``) as properties; polygons valid as written.
    """
    shape, params = _request(conn, layer, include_personal, grid_layer, bbox, filters, updated)
    if shape.dialect == "sqlite":
        register_functions(conn)
    run = {**params, "limit": limit, "offset": offset}
    matched, returned, features = conn.execute(_geojson_statement(shape), run).one()
    if matched is None:  # no row on this page: nothing was counted
        matched = _number_matched(conn, shape, params, offset, 0, limit)
    return GeoJSONPage(features or "", int(returned), int(matched))


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
    names = map_columns(layer)
    params: dict = {"grid_layer": grid_layer, "limit": limit}
    if bbox is not None:
        params.update(zip(BOX_PARAMS, bbox, strict=True))
    statement = _map_statement(conn.dialect.name, layer, bbox is not None, limit is not None)
    rows = conn.execute(statement, params).all()
    wkb = np.array([bytes(r[-1]) if r[-1] is not None else None for r in rows], dtype=object)
    return names, [tuple(r[:-1]) for r in rows], shapely.from_wkb(wkb)


def map_columns(layer: str) -> list[str]:
    """The columns the map shows of ``layer`` (as :func:`map_rows` and the vector tiles)."""
    table = table_for(layer)
    left_out = {*NOT_ON_MAP, *LAYERS[layer].personal_fields}
    first = ["id", "code", "name"]
    names = first + [c.name for c in table.columns if c.name not in first]
    return [n for n in names if n not in left_out]


@lru_cache(maxsize=64)
def _map_statement(dialect: str, layer: str, bbox: bool, limited: bool):
    """:func:`map_rows`' statement, built once (a street-level view spent longer building and
    keying it than PostGIS spent running it); the box and the limit are its parameters."""
    table = table_for(layer)
    query = select(*(table.c[n] for n in map_columns(layer)), func.ST_AsBinary(table.c.geom))
    if layer == "grid":
        query = query.where(table.c.layer == bindparam("grid_layer"))
    if bbox:
        query = query.where(bound_bbox_clause(dialect, table))
    query = query.order_by(table.c.code)
    return query.limit(bindparam("limit")) if limited else query

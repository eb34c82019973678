"""GeoJSON text of features, written by the database itself (``ST_AsGeoJSON`` on PostGIS,
``AsGeoJSON`` on SpatiaLite): a page of OGC items leaves the database as one text, with no
geometry object, no property dict and no encoder run per row in Python.

Each feature is ``{"type":"Feature","id":<code>,"geometry":…,"properties":{…}}``: coordinates
rounded to 7 decimals (about 1 cm), times as RFC 3339 UTC (``2026-11-26T08:00:00Z``), booleans as
``true``/``false`` on both databases (SQLite stores them as 0/1).

Examples
--------
>>> from gridmap.config import Settings
>>> from gridmap.store.db import make_engine
>>> from gridmap.store.models import table_for
>>> from sqlalchemy import select
>>> engine = make_engine(Settings(database_url="sqlite://"))
>>> with engine.connect() as conn:
...     sql = select(feature_text(conn.dialect.name, table_for("station"), ["code", "kind"]))
>>> "AsGeoJSON" in str(sql)
True
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Boolean, DateTime, Text, case, cast, false, func, literal, true
from sqlalchemy.sql.elements import ColumnElement

DECIMALS = 7  # about 1 cm: as the items have always been rounded
PG_TIME = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'
SQLITE_TIME = "%Y-%m-%dT%H:%M:%SZ"


def _property(column, postgres: bool) -> ColumnElement:
    """``column``'s value as JSON takes it: times as RFC 3339 UTC text, SQLite's 0/1 as booleans."""
    if isinstance(column.type, DateTime):
        if postgres:  # a timestamptz seen in UTC, without fractions of a second
            return func.to_char(func.timezone("UTC", column), PG_TIME)
        return func.strftime(SQLITE_TIME, column)  # SQLite keeps naive UTC text
    if isinstance(column.type, Boolean) and not postgres:
        return func.json(case((column == true(), "true"), (column == false(), "false")))
    return column


def feature_text(dialect: str, table, names: Sequence[str]) -> ColumnElement[str]:
    """SQL for one row of ``table`` (a table or a subquery of one) as a GeoJSON Feature's text:
    its ``code`` as id, ``names`` as properties, in that order."""
    postgres = dialect == "postgresql"
    pairs = [part for n in names for part in (literal(n), _property(table.c[n], postgres))]
    if postgres:
        geometry = func.ST_AsGeoJSON(table.c.geom, DECIMALS, type_=Text)
        fid = cast(func.to_json(table.c.code), Text)
        properties = cast(func.json_build_object(*pairs), Text)
    else:
        geometry = func.AsGeoJSON(table.c.geom, DECIMALS, type_=Text)
        fid = func.json_quote(table.c.code, type_=Text)
        properties = func.json_object(*pairs, type_=Text)
    return (
        literal('{"type":"Feature","id":', Text)
        + fid
        + literal(',"geometry":', Text)
        + func.coalesce(geometry, literal("null", Text))
        + literal(',"properties":', Text)
        + properties
        + literal("}", Text)
    )

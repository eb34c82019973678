"""GeoJSON text of features, written by the database itself (``ST_AsGeoJSON`` on PostGIS,
``AsGeoJSON`` on SpatiaLite): a page of OGC items leaves the database as one text, with no
geometry object, no property dict and no encoder run per row in Python.

Each feature is ``{"type":"Feature","id":<code>,"geometry":…,"properties":{…}}``: coordinates
rounded to 7 decimals (about 1 cm), times as RFC 3339 UTC (``2026-11-26T08:00:00Z``), booleans as
``true``/``false`` on both databases (SQLite stores them as 0/1).

Rounding moves vertices, and a valid polygon with two of its edges within a centimetre can cross
itself once rounded (one OpenStreetMap footprint in 2,675, two of the demo's 43 unified cells).
Such a polygon is snap-rounded instead (GEOS, which keeps it valid): ``ST_ReducePrecision`` on
PostGIS; SpatiaLite 5.0 has no such function, so there :func:`snap_rounded` does it, registered
on the connection by :func:`register_functions`. Which polygons need it is found by the database
itself: rounded to the grid (``ST_SnapToGrid``), a polygon no longer valid or with fewer rings.
The others (nearly all) are written as they were. The check costs a page of 1,000 footprints
about 2 ms (4.0 → 6.5 ms on SpatiaLite, 5.4 → 7.3 ms on PostGIS).

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

import shapely
from sqlalchemy import (
    Boolean,
    Connection,
    DateTime,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    true,
)
from sqlalchemy.sql.elements import ColumnElement

from gridmap.io.polygons import polygonal

DECIMALS = 7  # about 1 cm: as the items have always been rounded
GRID = 10.0**-DECIMALS
SNAP_ROUNDED = "gridmap_snap_rounded"  # SpatiaLite: the SQL name of snap_rounded
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


def snap_rounded(wkb: bytes | None) -> str | None:
    """GeoJSON text of a (multi)polygon's WKB snap-rounded to 7 decimals: valid, a MultiPolygon
    (empty if nothing of it is a centimetre wide).

    A notch 8e-8 wide becomes a spike once rounded (invalid); snap-rounded, it is gone:

    >>> notch = shapely.from_wkt("POLYGON ((0 0, 2 0, 2 2, 1.00000004 2, 1.00000004 1, "
    ...                          "0.99999996 1, 0.99999996 2, 0 2, 0 0))")
    >>> shapely.set_precision(notch, GRID, mode="pointwise").is_valid
    False
    >>> snap_rounded(shapely.to_wkb(notch))
    '{"type":"MultiPolygon","coordinates":[[[[2.0,2.0],[2.0,0.0],[0.0,0.0],[0.0,2.0],[1.0,2.0],[2.0,2.0]]]]}'
    """
    if wkb is None:
        return None
    rounded = polygonal([shapely.set_precision(shapely.from_wkb(wkb), GRID)])[0]
    return shapely.to_geojson(rounded if rounded is not None else shapely.MultiPolygon())


def register_functions(conn: Connection) -> None:
    """Make :func:`snap_rounded` callable in SQL on ``conn`` (SpatiaLite; once per connection)."""
    record = conn.connection
    if record.info.get(SNAP_ROUNDED) is None:
        record.driver_connection.create_function(SNAP_ROUNDED, 1, snap_rounded, deterministic=True)
        record.info[SNAP_ROUNDED] = True


def _rounds_valid(geom, postgres: bool) -> ColumnElement[bool]:
    """Whether a valid polygon stays valid, every ring kept, with its vertices on the grid."""
    if postgres:
        on_grid = func.ST_SnapToGrid(geom, GRID)
        return and_(func.ST_IsValid(on_grid), func.ST_NRings(on_grid) == func.ST_NRings(geom))
    on_grid = func.SnapToGrid(geom, GRID)
    return and_(func.ST_IsValid(on_grid) == 1, func.ST_NRings(on_grid) == func.ST_NRings(geom))


def _geometry(geom, postgres: bool, polygons: bool) -> ColumnElement[str]:
    """The geometry's GeoJSON text, rounded; polygons that rounding would break snap-rounded."""
    if postgres:
        rounded = func.ST_AsGeoJSON(geom, DECIMALS, type_=Text)
        reduced = func.ST_Multi(func.ST_ReducePrecision(geom, GRID))
        snapped = func.ST_AsGeoJSON(reduced, DECIMALS, type_=Text)
    else:
        rounded = func.AsGeoJSON(geom, DECIMALS, type_=Text)
        snapped = getattr(func, SNAP_ROUNDED)(func.AsBinary(geom), type_=Text)
    if not polygons:
        return rounded
    return case((_rounds_valid(geom, postgres), rounded), else_=snapped)


def feature_text(
    dialect: str, table, names: Sequence[str], polygons: bool = False
) -> ColumnElement[str]:
    """SQL for one row of ``table`` (a table or a subquery of one) as a GeoJSON Feature's text:
    its ``code`` as id, ``names`` as properties, in that order. ``polygons``: the geometries are
    polygons, kept valid when rounded (on SpatiaLite, after :func:`register_functions`)."""
    postgres = dialect == "postgresql"
    pairs = [part for n in names for part in (literal(n), _property(table.c[n], postgres))]
    geometry = _geometry(table.c.geom, postgres, polygons)
    if postgres:
        fid = cast(func.to_json(table.c.code), Text)
        properties = cast(func.json_build_object(*pairs), Text)
    else:
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

"""Read and write layer GeoDataFrames: the bridge between ``core`` and the database.

Writes are upserts keyed on the layer's code (grids: layer + code), so loading the same file twice
changes nothing; they run inside the caller's transaction, so a failure leaves nothing behind.
Geometry travels as WKB both ways (``ST_GeomFromWKB`` / ``ST_AsBinary``), which SpatiaLite and
PostGIS both speak.

Examples
--------
>>> from gridmap.config import Settings
>>> from gridmap.store.db import make_engine
>>> from gridmap.store.schema import upgrade
>>> engine = make_engine(Settings(database_url="sqlite://")); upgrade(engine)
>>> with engine.connect() as conn: layer_counts(conn)["building"]
0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import (
    Boolean,
    Connection,
    Float,
    Integer,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import BindParameter

from gridmap.layers import LAYERS, STORAGE_CRS
from gridmap.store.bulk import bulk_upsert, data_columns, row_constants
from gridmap.store.models import SRID, ChangeLog, GridLayer, table_for

Progress = Callable[[int], None]


@dataclass(frozen=True)
class UpsertCounts:
    inserted: int
    updated: int


def _key_filter(table, layer: str, grid_layer: str | None):
    if layer == "grid":
        return table.c.layer == grid_layer
    return None


def existing_codes(conn: Connection, layer: str, grid_layer: str | None = None) -> set[str]:
    """The codes already stored in a layer (one grid layer for ``grid``)."""
    table = table_for(layer)
    query = select(table.c.code)
    cond = _key_filter(table, layer, grid_layer)
    if cond is not None:
        query = query.where(cond)
    return {row[0] for row in conn.execute(query)}


def delete_layer(conn: Connection, layer: str, grid_layer: str | None = None) -> int:
    """Remove every feature of a layer (``--replace``); returns how many were removed."""
    table = table_for(layer)
    stmt = delete(table)
    cond = _key_filter(table, layer, grid_layer)
    if cond is not None:
        stmt = stmt.where(cond)
    return conn.execute(stmt).rowcount or 0


def upsert_features(
    conn: Connection,
    layer: str,
    frame: pd.DataFrame,
    *,
    grid_layer: str | None = None,
    source: str | None = None,
    chunk_rows: int = 5000,
    progress: Progress | None = None,
) -> UpsertCounts:
    """Insert or update ``frame`` (canonical columns of :data:`LAYERS`) in ``layer``.

    ``frame`` may carry ``properties`` (dict per row) and ``repair_note``; grids need
    ``grid_layer``. Polygons must already be MultiPolygons in EPSG:4326.
    """
    if layer == "grid" and not grid_layer:
        raise ValueError("grid features need a grid layer name")
    spatial = LAYERS[layer].geometry != "none"
    table = table_for(layer)
    columns = data_columns(table)
    before = existing_codes(conn, layer, grid_layer)
    constants = row_constants(conn, source)
    if layer == "grid":
        constants["layer"] = grid_layer
        ensure_grid_layer(conn, grid_layer)
    key = ["layer", "code"] if layer == "grid" else ["code"]
    fresh = not before.intersection(frame["code"])
    bulk_upsert(
        conn, table, frame, columns, key, spatial, chunk_rows, progress,
        fresh=fresh, constants=constants,
    )  # fmt: skip
    updated = int(frame["code"].isin(before).sum())
    return UpsertCounts(inserted=len(frame) - updated, updated=updated)


def ensure_grid_layer(conn: Connection, name: str, label: str | None = None) -> None:
    """Register a grid layer name (idempotent, also when partitions of a run register the same
    layer at the same time: a second insert does nothing instead of failing)."""
    if conn.execute(select(GridLayer.name).where(GridLayer.name == name)).first() is not None:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    row = {"name": name, "label": label, "created_at": datetime.now(UTC)}
    conn.execute(dialect.insert(GridLayer).values(**row).on_conflict_do_nothing(index_elements=["name"]))  # fmt: skip


def grid_layers(conn: Connection) -> list[str]:
    """Names of the grid layers that have features, in name order."""
    table = table_for("grid")
    return sorted({row[0] for row in conn.execute(select(table.c.layer).distinct())})


def has_grid_layer(conn: Connection, name: str) -> bool:
    """Whether grid layer ``name`` has features (one look in the layer index)."""
    table = table_for("grid")
    return (
        conn.execute(select(table.c.id).where(table.c.layer == name).limit(1)).first() is not None
    )


def fix_types(frame: pd.DataFrame, table) -> pd.DataFrame:
    # SQLite hands booleans back as 0/1 and integers may come back as floats next to NULLs.
    for column in table.columns:
        if column.name not in frame:
            continue
        if isinstance(column.type, Boolean):
            frame[column.name] = frame[column.name].astype("boolean")
        elif isinstance(column.type, Integer) and column.name != "id":
            frame[column.name] = frame[column.name].astype("Int64")
    return frame


def with_wkb_geometry(frame: pd.DataFrame, column: str = "wkb") -> gpd.GeoDataFrame:
    """Turn a column of WKB (bytes or memoryview, as the drivers hand it) into the geometry."""
    wkb = np.array([bytes(b) if b is not None else None for b in frame.pop(column)], dtype=object)
    geoms = shapely.from_wkb(wkb) if len(wkb) else []
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS), crs=STORAGE_CRS)


def read_features(
    conn: Connection,
    layer: str,
    *,
    grid_layer: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    include_personal: bool = False,
    columns: Sequence[str] | None = None,
) -> gpd.GeoDataFrame | pd.DataFrame:
    """One layer as a GeoDataFrame in EPSG:4326 (a DataFrame for ``org``), ordered by code.

    Personal fields (names, phones, addresses of members) are left out unless asked for.
    ``columns`` reads only those fields besides ``id``, ``code`` and the geometry (a million
    members read faster without their bookkeeping columns).
    """
    table = table_for(layer)
    spec = LAYERS[layer]
    hidden = set() if include_personal else set(spec.personal_fields)
    first = ["id", "code", "name"]
    ordered = [table.c[n] for n in first] + [c for c in table.columns if c.name not in first]
    cols = [c for c in ordered if c.name != "geom" and c.name not in hidden]
    if columns is not None:
        cols = [c for c in cols if c.name in {"id", "code", *columns}]
    spatial = spec.geometry != "none"
    query = select(*cols)
    if spatial:
        query = query.add_columns(func.ST_AsBinary(table.c.geom).label("wkb"))
        if bbox is not None:
            query = query.where(bbox_clause(conn, table, bbox))
    cond = _key_filter(table, layer, grid_layer)
    if cond is not None:
        query = query.where(cond)
    query = query.order_by(table.c.code)
    # plain tuples: pandas builds the frame several times faster than from row mappings
    rows = list(map(tuple, conn.execute(query)))
    frame = pd.DataFrame(rows, columns=[c.name for c in cols] + (["wkb"] if spatial else []))
    frame = fix_types(frame, table)
    if not spatial:
        return frame
    return with_wkb_geometry(frame)


def households_of_buildings(conn: Connection) -> tuple[np.ndarray, np.ndarray]:
    """The households and footprints (EPSG:4326) of the buildings that have any, in no
    particular order: what counting households by place needs, without the ids, the codes and
    the sort by code of :func:`read_features`, nor a frame around them."""
    table = table_for("building")
    query = select(table.c.households, func.ST_AsBinary(table.c.geom)).where(table.c.households != 0)  # fmt: skip
    rows = conn.execute(query).all()
    counts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    wkb = np.array([bytes(r[1]) if r[1] is not None else None for r in rows], dtype=object)
    return counts, shapely.from_wkb(wkb) if len(wkb) else np.array([], dtype=object)


BOX_PARAMS = ("x0", "y0", "x1", "y1")  # the corners of :func:`bound_bbox_clause`'s box


def bbox_clause(conn: Connection, table, bbox: tuple[float, float, float, float]):
    """A WHERE clause for features meeting a lon/lat box, through the spatial index."""
    return _meets_box(conn.dialect.name, table, bbox)


def bound_bbox_clause(dialect: str, table):
    """:func:`bbox_clause` for a box given when the statement runs, as parameters
    :data:`BOX_PARAMS` (a statement built once and run for every box)."""
    return _meets_box(dialect, table, [bindparam(k, type_=Float) for k in BOX_PARAMS])


def _meets_box(dialect: str, table, corners):
    if dialect == "sqlite":
        # SpatiaLite's R*Tree is only used when asked for through its SpatialIndex table.
        index = text(
            "SELECT ROWID FROM SpatialIndex WHERE f_table_name = :t "
            "AND search_frame = BuildMbr(:x0, :y0, :x1, :y1, 4326)"
        ).bindparams(t=table.name)
        if isinstance(corners[0], BindParameter):
            index = index.bindparams(*corners)
        else:
            index = index.bindparams(**dict(zip(BOX_PARAMS, corners, strict=True)))
        return and_(
            table.c.id.in_(index), func.ST_Intersects(table.c.geom, func.BuildMbr(*corners, SRID))
        )
    envelope = func.ST_MakeEnvelope(*corners, SRID)
    return and_(table.c.geom.op("&&")(envelope), func.ST_Intersects(table.c.geom, envelope))


def table_bounds(conn: Connection, table, where=None) -> list[float] | None:
    """``[minlon, minlat, maxlon, maxlat]`` of a table's geometries (rows matching ``where``)."""
    names = ("ST_MinX", "ST_MinY", "ST_MaxX", "ST_MaxY")
    if conn.dialect.name == "postgresql":
        names = ("ST_XMin", "ST_YMin", "ST_XMax", "ST_YMax")
    lo, hi = func.min, func.max
    query = select(
        *(
            agg(getattr(func, n)(table.c.geom))
            for agg, n in zip((lo, lo, hi, hi), names, strict=True)
        )
    )
    if where is not None:
        query = query.where(where)
    row = conn.execute(query).one()
    return [float(v) for v in row] if row[0] is not None else None


def layer_extent(conn: Connection) -> list[float] | None:
    """The lon/lat box of the largest area layer that has features (for the map's first view)."""
    for layer in ("subdistrict", "community", "grid", "compound", "building"):
        bounds = table_bounds(conn, table_for(layer))
        if bounds is not None:
            return bounds
    return None


def layer_counts(conn: Connection) -> dict[str, int]:
    """Feature count of every layer table, plus ``grid:<layer>`` per grid layer."""
    counts = {
        layer: conn.execute(select(func.count()).select_from(table_for(layer))).scalar_one()
        for layer in LAYERS
    }
    grid = table_for("grid")
    for name, n in conn.execute(select(grid.c.layer, func.count()).group_by(grid.c.layer)):
        counts[f"grid:{name}"] = n
    counts["change_log"] = conn.execute(select(func.count()).select_from(ChangeLog)).scalar_one()
    return counts


def log_change(conn: Connection, actor: str, action: str, layer: str | None, summary: dict) -> None:
    """Append one entry to the change log (never personal fields in ``summary``)."""
    conn.execute(
        insert(ChangeLog).values(
            at=datetime.now(UTC), actor=actor, action=action, layer=layer, summary=summary
        )
    )


SEARCHABLE = ("community", "grid", "compound", "building", "station")


def search_features(conn: Connection, text_: str, limit: int = 20) -> list[dict]:
    """Features whose code starts with, or whose name contains, ``text_`` (case-insensitive).

    Larger units first (communities before buildings), each with its bounding box for zooming.
    """
    needle = text_.strip().lower()
    if not needle:
        return []
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    out: list[dict] = []
    for layer in SEARCHABLE:
        table = table_for(layer)
        query = select(
            table.c.code,
            table.c.name,
            *([table.c.layer] if layer == "grid" else []),
            func.ST_AsBinary(func.ST_Envelope(table.c.geom)).label("wkb"),
        ).where(
            func.lower(table.c.code).like(escaped + "%", escape="\\")
            | func.lower(table.c.name).like("%" + escaped + "%", escape="\\")
        )
        rows = conn.execute(query.order_by(table.c.code).limit(limit - len(out))).mappings()
        for row in rows:
            bounds = shapely.from_wkb(bytes(row["wkb"])).bounds if row["wkb"] else None
            key = f"grid:{row['layer']}" if layer == "grid" else layer
            out.append({"layer": key, "code": row["code"], "name": row["name"],
                        "bbox": [round(v, 6) for v in bounds] if bounds else None})  # fmt: skip
        if len(out) >= limit:
            break
    return out

"""A layer's Mapbox Vector Tile written by PostGIS (``ST_AsMVT``) in one statement.

The same tile as :func:`gridmap.maps.vector_tiles.encode` writes from the features in it (the
tests decode both and compare them): the features meeting the tile and its margin, in tile
coordinates, clipped to the margin, ``id`` as the feature id and the map's other columns
(:func:`gridmap.store.query.map_columns`: never a personal field) as properties.
SpatiaLite has no tile writer; there the features are read by box and encoded in Python.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Connection, text

from gridmap.store.models import SRID, table_for
from gridmap.store.query import map_columns


@lru_cache(maxsize=64)
def _statement(layer: str):
    table = table_for(layer)
    columns = ", ".join(f"f.{table.c[n].name}" for n in map_columns(layer))  # our own names
    grid = " AND f.layer = :grid_layer" if layer == "grid" else ""
    return text(f"""
        WITH box AS (
            SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
                   ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), {SRID}) AS near
        )
        SELECT ST_AsMVT(t, :name, :extent, 'geom', 'id'), count(*) FROM (
            SELECT {columns},
                   ST_AsMVTGeom(ST_Transform(f.geom, 3857), box.tile, :extent, :buffer, true) AS geom
            FROM {table.name} AS f, box
            WHERE f.geom && box.near AND ST_Intersects(f.geom, box.near){grid}
            ORDER BY f.code
            LIMIT :limit
        ) AS t
        WHERE t.geom IS NOT NULL
    """)  # fmt: skip


def postgis_tile(
    conn: Connection,
    layer: str,
    z: int,
    x: int,
    y: int,
    *,
    name: str,
    grid_layer: str | None = None,
    extent: int = 4096,
    buffer: int = 256,
    limit: int | None = None,
) -> tuple[bytes, int]:
    """Tile ``z/x/y`` of ``layer`` (a tile layer named ``name``) and how many features it holds,
    at most ``limit`` read (more than that is the caller's to refuse)."""
    params = {"z": z, "x": x, "y": y, "margin": buffer / extent, "name": name,
              "extent": extent, "buffer": buffer, "limit": limit, "grid_layer": grid_layer}  # fmt: skip
    tile, count = conn.execute(_statement(layer), params).one()
    return bytes(tile or b""), int(count)

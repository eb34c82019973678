"""Mapbox Vector Tiles of a layer: the tile grid, and a tile encoded from the features in it.

A map (or QGIS, as an XYZ vector tile source) asks for the tiles ``z/x/y`` of the Web Mercator
grid it shows; each tile is the features meeting it, in tile coordinates (4,096 to a side, with a
margin of 256 that a renderer needs to draw outlines across tile edges), clipped to that margin.
On PostGIS the database writes the tile itself (``ST_AsMVT``, :mod:`gridmap.store.tiles`); this
module writes the same tile from features read any way (SpatiaLite, and the GCJ-02 display that
PostGIS cannot shift), with the well-kept encoder :mod:`mapbox_vector_tile`. What is written by
hand here is only the tile arithmetic (a few lines of the spherical Mercator formulas).

Examples
--------
>>> [round(v, 6) for v in tile_lonlat_bounds(0, 0, 0)]
[-180.0, -85.051129, 180.0, 85.051129]
>>> [round(v, 4) for v in tile_lonlat_bounds(17, 109230, 53523)]
[120.0092, 31.3067, 120.0119, 31.3091]
>>> import shapely
>>> tile = encode("building", ["id", "code"], [(7, "B1")], [shapely.box(120.0095, 31.307, 120.0105, 31.308)],
...               17, 109230, 53523)
>>> decoded = decode(tile)["building"]["features"]
>>> decoded[0]["id"], decoded[0]["properties"], decoded[0]["geometry"]["type"]
(7, {'code': 'B1'}, 'Polygon')
"""

from __future__ import annotations

import datetime as dt
import math

import mapbox_vector_tile
import numpy as np
import shapely

EXTENT = 4096  # tile coordinates to a side, as ST_AsMVT's default
MARGIN = 256  # beyond the tile's edge, in tile coordinates (ST_AsMVTGeom's default buffer)
EARTH_RADIUS = 6378137.0  # EPSG:3857's sphere
HALF_WORLD = math.pi * EARTH_RADIUS  # 20037508.34…: the grid's extent on each side of 0
MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
MAX_LATITUDE = 85.0511287798066  # the grid's top and bottom edges


def tile_mercator_bounds(z: int, x: int, y: int, margin: float = 0.0) -> tuple[float, float, float, float]:  # fmt: skip
    """``(minx, miny, maxx, maxy)`` of tile ``z/x/y`` in EPSG:3857 metres, widened by ``margin``
    (a share of the tile's side), as PostGIS's ``ST_TileEnvelope``."""
    side = 2 * HALF_WORLD / 2**z
    west, north = -HALF_WORLD + x * side, HALF_WORLD - y * side
    extra = margin * side
    return west - extra, north - side - extra, west + side + extra, north + extra


def _lonlat(mx: np.ndarray, my: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon = np.degrees(mx / EARTH_RADIUS)
    lat = np.degrees(2 * np.arctan(np.exp(my / EARTH_RADIUS)) - math.pi / 2)
    return lon, lat


def tile_lonlat_bounds(z: int, x: int, y: int, margin: float = 0.0) -> tuple[float, float, float, float]:  # fmt: skip
    """:func:`tile_mercator_bounds` in longitude and latitude (a bounding box to read by)."""
    x0, y0, x1, y1 = tile_mercator_bounds(z, x, y, margin)
    (lon0, lon1), (lat0, lat1) = _lonlat(np.array([x0, x1]), np.array([y0, y1]))
    return float(lon0), float(lat0), float(lon1), float(lat1)


def in_grid(z: int, x: int, y: int) -> bool:
    """Whether ``z/x/y`` names a tile of the grid."""
    return 0 <= x < 2**z and 0 <= y < 2**z


def _mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude in EPSG:3857 metres (latitudes beyond the grid's are clamped)."""
    lat = np.clip(lat, -MAX_LATITUDE, MAX_LATITUDE)
    return EARTH_RADIUS * np.radians(lon), EARTH_RADIUS * np.log(np.tan(math.pi / 4 + np.radians(lat) / 2))  # fmt: skip


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The column and row of the tile of zoom ``z`` holding a place."""
    n = 2**z
    mx, my = _mercator(np.array([lon]), np.array([lat]))
    side = 2 * HALF_WORLD / n
    x, y = int((mx[0] + HALF_WORLD) // side), int((HALF_WORLD - my[0]) // side)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tiles_over(bounds, z: int) -> list[tuple[int, int]]:
    """The tiles of zoom ``z`` covering ``(minlon, minlat, maxlon, maxlat)`` (mind
    :func:`tile_count` first: a box across a country holds millions).

    >>> tiles_over((120.0095, 31.307, 120.0105, 31.308), 17)
    [(109230, 53523)]
    """
    (x0, y1), (x1, y0) = tile_of(bounds[0], bounds[1], z), tile_of(bounds[2], bounds[3], z)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def tile_count(bounds, z: int) -> int:
    """How many tiles :func:`tiles_over` would list, without listing them.

    >>> tile_count((73.5, 18.2, 134.8, 53.6), 16)  # China's box
    91880280
    """
    (x0, y1), (x1, y0) = tile_of(bounds[0], bounds[1], z), tile_of(bounds[2], bounds[3], z)
    return (x1 - x0 + 1) * (y1 - y0 + 1)


def to_tile(geoms, z: int, x: int, y: int):
    """Longitude/latitude geometries in the coordinates of tile ``z/x/y`` (y up, 0–4,096 inside
    the tile), clipped to its margin; those left empty are ``None``."""
    x0, y0, x1, _ = tile_mercator_bounds(z, x, y)
    scale = EXTENT / (x1 - x0)

    def project(coords: np.ndarray) -> np.ndarray:
        mx, my = _mercator(coords[:, 0], coords[:, 1])
        return np.column_stack([(mx - x0) * scale, (my - y0) * scale])

    moved = shapely.transform(np.asarray(geoms, dtype=object), project)
    clipped = shapely.clip_by_rect(moved, -MARGIN, -MARGIN, EXTENT + MARGIN, EXTENT + MARGIN)
    clipped[shapely.is_empty(clipped) | shapely.is_missing(clipped)] = None
    return clipped


def _value(v):
    """A property value as a tile holds it (numbers, text, booleans); ``None`` is left out."""
    if isinstance(v, bool | int | float | str) or v is None:
        return v
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    if isinstance(v, np.generic):
        return v.item()
    return str(v)


def encode(layer: str, names: list[str], rows: list[tuple], geoms, z: int, x: int, y: int) -> bytes:  # fmt: skip
    """The tile ``z/x/y`` of one layer named ``layer``: its features are ``rows`` (columns
    ``names``; ``id`` becomes the feature id, the others its properties) with ``geoms`` in
    longitude/latitude. A layer with no feature in the tile gives an empty tile (no bytes)."""
    shapes = to_tile(geoms, z, x, y)
    id_at = names.index("id") if "id" in names else None
    features = []
    for row, shape in zip(rows, shapes, strict=True):
        if shape is None:
            continue
        properties = {
            n: _value(v) for n, v in zip(names, row, strict=True) if n != "id" and v is not None
        }
        feature = {"geometry": shape, "properties": properties}
        if id_at is not None:
            feature["id"] = int(row[id_at])
        features.append(feature)
    if not features:
        return b""
    repair = mapbox_vector_tile.encoder.on_invalid_geometry_make_valid
    options = {"extents": EXTENT, "y_coord_down": False, "on_invalid_geometry": repair}
    return mapbox_vector_tile.encode(
        [{"name": layer, "features": features}], default_options=options
    )


def decode(tile: bytes) -> dict:
    """A tile's layers as :mod:`mapbox_vector_tile` reads them (tile coordinates, y up)."""
    return mapbox_vector_tile.decode(tile, default_options={"y_coord_down": False})

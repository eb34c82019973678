"""GeoJSON text (RFC 7946), written one way for every route, the OGC API and the report maps.

Geometries are written by GEOS in one call (:func:`shapely.to_geojson`) and properties by one
JSON encoder, and the text is put together directly: building dicts of coordinates for
``json.dumps`` (what ``GeoDataFrame.to_json`` does) costs several times more on a large layer.
The database writes the features it serves itself (:mod:`gridmap.store.geojson`); a collection
is put around those with :func:`collection` too. Coordinates are written as they are (the
shortest text that reads back as the same number); answers that a client writes back rounded
are rounded to its grid first, keeping polygons valid (:func:`rounded_coverage`).

Examples
--------
>>> from shapely import Point
>>> text = feature_collection(["code", "name"], [("B1", "一栋")], [Point(104.0, 30.5)])
>>> text
'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"B1","name":"一栋"},"geometry":{"type":"Point","coordinates":[104.0,30.5]}}]}'
>>> collection([], {"numberMatched": 0, "links": []})
'{"type": "FeatureCollection", "numberMatched": 0, "links": [],"features":[]}'
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

MEDIA_TYPE = "application/geo+json"
EMPTY = '{"type":"FeatureCollection","features":[]}'
EDITOR_DECIMALS = 8  # what the editor keeps of a coordinate when it sends cells back (toGeoJSON(8))

# the API's properties: compact, any other value (a date, a decimal) as its text
compact = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":")).encode
# the report maps' properties, as json.dumps writes them
spaced = json.JSONEncoder(ensure_ascii=False).encode


def features(properties: Iterable[dict], geoms, encode: Callable[[dict], str] = compact) -> list[str]:  # fmt: skip
    """GeoJSON text of each feature: its ``properties`` (written by ``encode``) and its geometry
    (``null`` when missing)."""
    return [
        f'{{"type":"Feature","properties":{encode(p)},"geometry":{text or "null"}}}'
        for p, text in zip(properties, shapely.to_geojson(geoms), strict=True)
    ]


def feature_texts(names: list[str], rows: Iterable[tuple], geoms) -> list[str]:
    """GeoJSON text of each feature: ``rows`` (values of ``names``, the properties) with their
    ``geoms``."""
    return features((dict(zip(names, row, strict=True)) for row in rows), geoms)


def collection(texts: Iterable[str] | str, members: dict | None = None) -> str:
    """A FeatureCollection of features' GeoJSON ``texts`` (or of their text joined by commas),
    with other ``members`` (``numberMatched``, ``links`` … of the OGC API) before them."""
    joined = texts if isinstance(texts, str) else ",".join(texts)
    if members is None:
        return '{"type":"FeatureCollection","features":[' + joined + "]}"
    head = json.dumps({"type": "FeatureCollection", **members}, ensure_ascii=False)
    return head[:-1] + ',"features":[' + joined + "]}"


def feature_collection(names: list[str], rows: Iterable[tuple], geoms) -> str:
    """GeoJSON text of ``rows`` (values of ``names``, the properties) with their ``geoms``."""
    return collection(feature_texts(names, rows, geoms))


def frame_collection(frame: gpd.GeoDataFrame, encode: Callable[[dict], str] = compact) -> str:
    """GeoJSON text of a frame (in EPSG:4326): every column but the geometry a property, a
    missing value (``NaN``, ``None``) as ``null``."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    records = frame[columns].to_dict("records")
    properties = [{k: _null(v) for k, v in record.items()} for record in records]
    return collection(features(properties, frame.geometry.to_numpy(), encode))


def rounded_coverage(geoms, decimals: int, *, exclusive: bool = False) -> np.ndarray:
    """Polygons that tile (cells dissolved from units) with every coordinate rounded to
    ``decimals`` places, each still valid and the borders they share still shared, so that a
    client rounding them to ``decimals`` changes nothing.

    Rounding each polygon alone moves vertices a hair apart onto one point, and a dissolve's pin
    hole or notch then makes it touch itself; snap rounding each alone
    (:func:`shapely.set_precision`) mends that, but may take a border two polygons share through
    a different grid point on either side. So the borders of all are snap-rounded together, in
    one noding (:func:`shapely.union_all` with a ``grid_size``), and each polygon is put back
    together from the faces they enclose that lie mostly inside it. Holes, gaps and parts
    narrower than a grid step go (a polygon that narrow everywhere comes back empty); ground two
    polygons overlap on stays theirs both, or with ``exclusive`` goes to the first of them only
    (then no two overlap); a corner of one within half a step of its neighbour's border becomes a
    vertex of both.

    >>> from shapely import Polygon, box
    >>> pin = [(104.0005, 30.0005), (104.0006, 30.0005), (104.0006, 30.000500003)]
    >>> holed = Polygon([(104, 30), (104.001, 30), (104.001, 30.001), (104, 30.001)], [pin])
    >>> shapely.transform(holed, lambda xy: xy.round(8)).is_valid
    False
    >>> cell, neighbour = rounded_coverage([holed, box(104.001, 30, 104.002, 30.001)], 8)
    >>> cell.wkt
    'POLYGON ((104 30, 104 30.001, 104.001 30.001, 104.001 30, 104 30))'
    >>> neighbour.equals(box(104.001, 30, 104.002, 30.001))
    True
    >>> overlapping = [box(104, 30, 104.001, 30.001), box(104.0005, 30, 104.002, 30.001)]
    >>> first, second = rounded_coverage(overlapping, 8, exclusive=True)
    >>> second.equals(box(104.001, 30, 104.002, 30.001))
    True
    """
    geoms = np.asarray(geoms, dtype=object)
    step = 10.0**-decimals
    borders = shapely.union_all(shapely.boundary(geoms), grid_size=step)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(borders)))
    face, owner = _owners(geoms, faces, step)
    if exclusive:
        order = np.lexsort((owner, face))
        first = np.unique(face[order], return_index=True)[1]
        face, owner = face[order][first], owner[order][first]
    out = np.empty(len(geoms), dtype=object)
    for k in range(len(geoms)):
        mine = faces[face[owner == k]]
        out[k] = shapely.coverage_union_all(mine) if len(mine) else shapely.Polygon()
    return out


def _owners(geoms: np.ndarray, faces: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (face, polygon): each face of the snapped borders with the polygons it lies in.

    Snapping moves no border by more than a grid step, so a face whose inner point is farther
    than that from every border lies in the polygons holding that point; one whose point is that
    near (a sliver) lies in those holding most of its area.
    """
    points = shapely.point_on_surface(faces)
    tree = shapely.STRtree(geoms)
    face, owner = tree.query(points, predicate="intersects")
    near = np.unique(shapely.STRtree(shapely.boundary(geoms)).query(points, predicate="dwithin", distance=step)[0])  # fmt: skip
    sure = ~np.isin(face, near)
    sliver, held = tree.query(faces[near], predicate="intersects")
    sliver = near[sliver]
    try:
        inside = shapely.area(shapely.intersection(faces[sliver], geoms[held]))
    except shapely.errors.GEOSException:  # a polygon itself invalid: the ground it means, repaired
        inside = shapely.area(shapely.intersection(faces[sliver], shapely.make_valid(geoms[held])))
    mostly = inside > shapely.area(faces[sliver]) / 2
    return np.r_[face[sure], sliver[mostly]], np.r_[owner[sure], held[mostly]]


def script_safe(text: str) -> str:
    """JSON text safe inside an HTML ``<script>``: ``<``, ``>`` and ``&`` escaped."""
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _null(value):
    """``None`` for a missing scalar (``NaN``, ``NaT``, ``pd.NA``); lists and dicts as they are."""
    if value is None or isinstance(value, (str, list, dict, tuple)):
        return value
    return None if pd.isna(value) else value

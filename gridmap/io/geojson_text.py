"""GeoJSON text (RFC 7946), written one way for every route, the OGC API and the report maps.

Geometries are written by GEOS in one call (:func:`shapely.to_geojson`) and properties by one
JSON encoder, and the text is put together directly: building dicts of coordinates for
``json.dumps`` (what ``GeoDataFrame.to_json`` does) costs several times more on a large layer.
The database writes the features it serves itself (:mod:`gridmap.store.geojson`); a collection
is put around those with :func:`collection` too.

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
import pandas as pd
import shapely

MEDIA_TYPE = "application/geo+json"
EMPTY = '{"type":"FeatureCollection","features":[]}'

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


def script_safe(text: str) -> str:
    """JSON text safe inside an HTML ``<script>``: ``<``, ``>`` and ``&`` escaped."""
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _null(value):
    """``None`` for a missing scalar (``NaN``, ``NaT``, ``pd.NA``); lists and dicts as they are."""
    if value is None or isinstance(value, (str, list, dict, tuple)):
        return value
    return None if pd.isna(value) else value

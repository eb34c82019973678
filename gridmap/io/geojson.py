"""GeoJSON features sent by a client (the planners' editor, a script) → a checked GeoDataFrame.

Files go through :mod:`gridmap.io.read`; this is for features that arrive as JSON in a request.
Each feature is read on its own, so a problem is reported with the feature's number and what is
wrong with it: no geometry, unreadable GeoJSON, an empty shape, not a polygon, coordinates that
are not finite or not longitude/latitude, or a set of cells spread wider than any city.

Examples
--------
>>> cell = {"type": "Feature", "properties": {"code": "W01"},
...         "geometry": {"type": "Polygon", "coordinates": [[[104, 30], [104.01, 30], [104.01, 30.01], [104, 30]]]}}
>>> frame = cells_from_features([cell], max_features=10, max_extent_km=300)
>>> frame["code"].tolist(), frame.geometry.iloc[0].geom_type
(['W01'], 'Polygon')
>>> cells_from_features([{**cell, "geometry": {"type": "Polygon"}}], max_features=10, max_extent_km=300)
Traceback (most recent call last):
...
gridmap.errors.InputFileError: 第 1 个要素的几何无法读取：缺少 coordinates。
Feature 1: the geometry cannot be read: 'coordinates' is missing.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import shapely.geometry

from gridmap.errors import InputFileError
from gridmap.layers import STORAGE_CRS

TEXT_PROPERTIES = ("code", "name", "community_code")
POLYGONAL = ("Polygon", "MultiPolygon")


def _feature_error(i: int, zh: str, en: str) -> InputFileError:
    return InputFileError(f"第 {i} 个要素{zh}。", f"Feature {i}: {en}.")


def _geometry(i: int, feature: dict[str, Any]):
    geometry = feature.get("geometry")
    if geometry is None:
        raise _feature_error(i, "没有几何", "it has no geometry")
    if not isinstance(geometry, dict):
        raise _feature_error(i, "的几何应为 GeoJSON 对象", "the geometry must be a GeoJSON object")
    try:
        geom = shapely.geometry.shape(geometry)
    except KeyError as exc:
        raise _feature_error(i, f"的几何无法读取：缺少 {exc.args[0]}", f"the geometry cannot be read: '{exc.args[0]}' is missing") from exc  # fmt: skip
    except Exception as exc:  # shapely raises ValueError, TypeError, GEOSException … on bad GeoJSON
        raise _feature_error(i, f"的几何无法读取：{exc}", f"the geometry cannot be read: {exc}") from exc  # fmt: skip
    if geom.is_empty:
        raise _feature_error(i, "的几何是空的", "the geometry is empty")
    if geom.geom_type not in POLYGONAL:
        raise _feature_error(i, f"不是面 (Polygon/MultiPolygon)，而是 {geom.geom_type}", f"a cell must be a Polygon or MultiPolygon, not a {geom.geom_type}")  # fmt: skip
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise _feature_error(i, "的坐标不是有限数值", "coordinates must be finite numbers")
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise _feature_error(
            i,
            "的坐标超出经纬度范围 (经度 −180…180，纬度 −90…90)：可能是投影坐标，请转换为 WGS84 经纬度",
            "coordinates are outside longitude/latitude ranges (a projected CRS?); send WGS84 "
            "longitude/latitude",
        )
    return shapely.force_2d(geom)


def _properties(i: int, feature: dict[str, Any]) -> dict[str, Any]:
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        raise _feature_error(i, "的 properties 应为对象", "properties must be an object")
    out = {k: v for k, v in properties.items() if k != "geometry"}
    for name in TEXT_PROPERTIES:
        value = out.get(name)
        if isinstance(value, dict | list):
            raise _feature_error(i, f"的 {name} 应为文字", f"{name} must be text")
        out[name] = None if value is None else str(value)
    return out


def check_extent(bounds, max_extent_km: float) -> None:
    """Refuse cells spread over a box wider than ``max_extent_km``: a mistake, not a city."""
    x0, y0, x1, y1 = (float(v) for v in bounds)
    width = (x1 - x0) * 111.32 * math.cos(math.radians((y0 + y1) / 2))
    height = (y1 - y0) * 110.57
    if max(width, height) > max_extent_km:
        raise InputFileError(
            f"这些网格分布在约 {width:,.0f} × {height:,.0f} 公里的范围内，超过上限 {max_extent_km:g} 公里："
            "坐标可能有误。如确需更大范围，请调整 GRIDMAP_MAX_PLAN_EXTENT_KM。",
            f"These cells spread over about {width:,.0f} × {height:,.0f} km, more than the "
            f"{max_extent_km:g} km allowed: the coordinates are probably wrong. Raise "
            "GRIDMAP_MAX_PLAN_EXTENT_KM for larger areas.",
        )


def cells_from_features(
    features: list[dict[str, Any]], *, max_features: int, max_extent_km: float
) -> gpd.GeoDataFrame:
    """Grid cells from GeoJSON features in WGS84, repaired with ``make_valid``.

    Columns ``code``, ``name``, ``community_code`` (text or None), the other properties, and the
    geometry in EPSG:4326. Raises :class:`InputFileError` naming the first unusable feature.
    """
    if len(features) > max_features:
        raise InputFileError(
            f"一次最多发送 {max_features} 个要素，收到 {len(features)} 个。",
            f"At most {max_features} features per request; received {len(features)}.",
        )
    if not features:
        return gpd.GeoDataFrame({c: [] for c in TEXT_PROPERTIES}, geometry=[], crs=STORAGE_CRS)
    geoms = [_geometry(i, f) for i, f in enumerate(features, 1)]
    rows = [_properties(i, f) for i, f in enumerate(features, 1)]
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE_CRS)
    check_extent(frame.total_bounds, max_extent_km)
    frame.geometry = shapely.make_valid(frame.geometry.values)
    return frame

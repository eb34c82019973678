"""Coordinate systems (坐标系): parse what users say, shift GCJ-02/BD-09, pick a metric CRS.

GCJ-02 (AMap, Tencent) and BD-09 (Baidu) have no EPSG code and no PROJ definition, so their
formulas are written here by hand: the GCJ-02 forward transform is the public one; its inverse has
no closed form and is solved by fixed-point iteration (converges to < 1e-9° in a few steps).

Examples
--------
>>> lon, lat = wgs84_to_gcj02(116.397, 39.909)
>>> round(float(lon - 116.397) * 1e5), round(float(lat - 39.909) * 1e5)
(624, 140)
>>> parse_crs("gcj02")
'gcj02'
>>> metric_crs(104.06, 30.66).to_epsg()
4544
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from gridmap.errors import CRSError
from gridmap.layers import STORAGE_CRS

SHIFTED_DATUMS = ("gcj02", "bd09")
_SPELLINGS = {
    "gcj02": "gcj02", "gcj-02": "gcj02", "gcj": "gcj02", "amap": "gcj02", "火星坐标": "gcj02",
    "bd09": "bd09", "bd-09": "bd09", "bd09ll": "bd09", "baidu": "bd09", "百度坐标": "bd09",
}  # fmt: skip

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as in the GCJ-02 formula
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0

# Rough box of mainland China; outside it GCJ-02 applies no shift, and imports treat
# coordinates outside it as a sign of a wrong CRS.
CHINA_BOUNDS = (73.0, 3.0, 136.0, 54.0)


def parse_crs(value: str | int | None) -> str | pyproj.CRS | None:
    """Read a ``--crs`` option: an EPSG code or CRS text, ``gcj02`` or ``bd09``.

    Returns ``None`` for no value, the string ``"gcj02"``/``"bd09"`` for a shifted datum, or a
    :class:`pyproj.CRS`. Raises :class:`CRSError` for anything PROJ does not know.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if text.lower() in _SPELLINGS:
        return _SPELLINGS[text.lower()]
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        return pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(
            f"无法识别的坐标系 “{value}”。请给出 EPSG 代码 (如 4326、4490、4544) 或 gcj02 / bd09。",
            f"Unknown CRS '{value}'. Give an EPSG code (e.g. 4326, 4490, 4544) or gcj02 / bd09.",
        ) from exc


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = _in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(lon, lat):
    """WGS84 → GCJ-02 (the public forward formula); scalars or arrays."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def _invert(forward, lon, lat, tol: float = 1e-10, max_iter: int = 30):
    """Solve ``forward(x) = target`` by fixed-point iteration (the shifts are small and smooth)."""
    target_lon, target_lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    x, y = target_lon.copy(), target_lat.copy()
    for _ in range(max_iter):
        fx, fy = forward(x, y)
        ex, ey = fx - target_lon, fy - target_lat
        x, y = x - ex, y - ey
        if np.nanmax(np.abs(ex), initial=0.0) < tol and np.nanmax(np.abs(ey), initial=0.0) < tol:
            break
    return x, y


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 → WGS84, iterative inverse (error < 1e-9°, about 0.1 mm)."""
    return _invert(wgs84_to_gcj02, lon, lat)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 → BD-09 (Baidu's public formula)."""
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat):
    """BD-09 → GCJ-02, iterative inverse of :func:`gcj02_to_bd09`."""
    return _invert(gcj02_to_bd09, lon, lat)


def bd09_to_wgs84(lon, lat):
    """BD-09 → WGS84 (through GCJ-02)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon, lat):
    """WGS84 → BD-09 (through GCJ-02)."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS84 = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def _shift_geometries(geoms: np.ndarray, func) -> np.ndarray:
    def on_coords(coords: np.ndarray) -> np.ndarray:
        lon, lat = func(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, on_coords)


def shifted_box(box, shift, pad: float = 0.0) -> tuple[float, float, float, float]:
    """The box holding the four corners of ``(minlon, minlat, maxlon, maxlat)`` moved by
    ``shift`` (``wgs84_to_gcj02``, ``gcj02_to_wgs84`` …), widened by ``pad`` degrees: the shift
    bends a little across a box (up to 3 m along a zoom-15 tile's edge between its corners), so
    a pad of 1e-4 (about 10 m) keeps what lies along the edges.

    >>> [round(v, 4) for v in shifted_box((104.0, 30.6, 104.1, 30.7), wgs84_to_gcj02)]
    [104.0023, 30.5974, 104.1025, 30.6976]
    """
    x0, y0, x1, y1 = box
    lon, lat = shift(np.array([x0, x0, x1, x1]), np.array([y0, y1, y0, y1]))
    return (float(lon.min()) - pad, float(lat.min()) - pad,
            float(lon.max()) + pad, float(lat.max()) + pad)  # fmt: skip


def geometries_from_wgs84(geoms, datum: str) -> np.ndarray:
    """WGS84 geometries (an array) shifted to ``gcj02`` or ``bd09`` for display; never stored."""
    return _shift_geometries(np.asarray(geoms, dtype=object), _FROM_WGS84[datum])


def shift_to_wgs84(gdf: gpd.GeoDataFrame, datum: str) -> gpd.GeoDataFrame:
    """Convert a GeoDataFrame whose coordinates are GCJ-02 or BD-09 degrees to WGS84."""
    out = gdf.copy()
    out.geometry = gpd.GeoSeries(
        _shift_geometries(gdf.geometry.values, _TO_WGS84[datum]), index=gdf.index, crs=STORAGE_CRS
    )
    return out.set_crs(STORAGE_CRS, allow_override=True)


def shift_from_wgs84(gdf: gpd.GeoDataFrame, datum: str) -> gpd.GeoDataFrame:
    """WGS84 → GCJ-02/BD-09 for display on shifted basemaps (AMap, Baidu) only; never stored."""
    out = gdf.to_crs(STORAGE_CRS)
    out.geometry = gpd.GeoSeries(
        _shift_geometries(out.geometry.values, _FROM_WGS84[datum]), index=out.index
    )
    return out


def metric_crs(lon: float, lat: float) -> pyproj.CRS:
    """A metric CRS for a place: the CGCS2000 3-degree Gauss–Krüger zone in China, else UTM.

    Areas and distances are measured in it, never in degrees.
    """
    lon_min, lat_min, lon_max, lat_max = CHINA_BOUNDS
    if lon_min <= lon <= lon_max and lat_min <= lat <= lat_max:
        central = round(float(lon) / 3.0) * 3  # CM 75°E … 135°E ↔ EPSG:4534 … 4554
        return pyproj.CRS.from_epsg(4534 + (central - 75) // 3)
    zone = int((lon + 180.0) // 6.0) + 1
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def metric_crs_for(*frames: gpd.GeoDataFrame) -> pyproj.CRS:
    """The metric CRS for the centre of one or more GeoDataFrames (in any geographic CRS)."""
    bounds = [f.to_crs(STORAGE_CRS).total_bounds for f in frames if len(f)]
    if not bounds:
        return metric_crs(105.0, 35.0)
    b = np.array(bounds)
    return metric_crs(
        float((b[:, 0].min() + b[:, 2].max()) / 2), float((b[:, 1].min() + b[:, 3].max()) / 2)
    )


# CGCS2000 Gauss–Krüger in EPSG: zones with the zone number before the easting, and the same by
# central meridian without it (3-degree: zones 25–45; 6-degree: zones 13–23)
_GK = ((4513, 4533, 3, 25, "3 度带", "3-degree"), (4491, 4501, 6, 13, "6 度带", "6-degree"))
_GK_CODES = range(4491, 4555)  # the four families, 4491–4554
_GK_REACH_M = 600_000  # how far from its false easting a zone's x can be, with margin


def gauss_kruger_hint(x: float) -> tuple[str, str]:
    """What an easting says of its CGCS2000 Gauss–Krüger zone, as (Chinese, English) advice.

    Surveying and CAD drawings often write eastings with the zone number before them
    (38 512 345 m: zone 38), which only the CRS of that zone reads.

    >>> gauss_kruger_hint(38_512_345)[0]
    '横坐标 38,512,345 带有带号 38（3 度带，中央经线 114°E），请用 --crs 4526'
    >>> gauss_kruger_hint(512_345)[1][:40]
    'eastings without a zone number: give --c'
    """
    if not np.isfinite(x):
        return ("", "")
    zone = int(x // 1_000_000)
    for first, last, width, first_zone, zh, en in _GK:
        if first_zone <= zone <= first_zone + last - first:
            code, cm = first + zone - first_zone, width * zone - (3 if width == 6 else 0)
            return (
                f"横坐标 {x:,.0f} 带有带号 {zone}（{zh}，中央经线 {cm}°E），请用 --crs {code}",
                f"eastings {x:,.0f} carry zone number {zone} ({en} zone, central meridian "
                f"{cm}E): give --crs {code}",
            )
    if 0 < x < 1_000_000:
        return (
            "横坐标不含带号，请按中央经线指定 --crs：3 度带为 4534 + (中央经线 − 75) ÷ 3，"
            "如 114°E 为 4547、105°E 为 4544",
            "eastings without a zone number: give --crs by the central meridian, for the "
            "3-degree zones 4534 + (meridian - 75) / 3, e.g. 4547 for 114E, 4544 for 105E",
        )
    return ("", "")


def gauss_kruger_mismatch(crs: pyproj.CRS, x: float) -> tuple[str, str] | None:
    """Advice when ``x`` cannot be an easting of the CGCS2000 Gauss–Krüger ``crs`` (a zone
    number where the CRS has none, or none where it has one); ``None`` otherwise.

    >>> gauss_kruger_mismatch(pyproj.CRS.from_epsg(4547), 38_512_345)[0][-13:]
    '请用 --crs 4526'
    >>> gauss_kruger_mismatch(pyproj.CRS.from_epsg(4526), 38_512_345) is None
    True
    """
    if crs.to_epsg() not in _GK_CODES or not np.isfinite(x):
        return None
    params = {p.name: p.value for p in crs.coordinate_operation.params}
    if abs(x - params.get("False easting", 500_000.0)) <= _GK_REACH_M:
        return None
    zh, en = gauss_kruger_hint(x)
    return (
        f"坐标系 {crs.name} 的横坐标应在 {params.get('False easting', 500_000):,.0f} 附近。{zh}",
        f"{crs.name} has eastings near {params.get('False easting', 500_000):,.0f}. {en}",
    )

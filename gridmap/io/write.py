"""Writers for other GIS tools: GeoJSON (RFC 7946), GeoPackage and CSV.

GeoJSON follows RFC 7946: WGS84 longitude/latitude, counter-clockwise exterior rings (clockwise
holes), at most 7 decimals, no ``crs`` member — GDAL's ``RFC7946`` option does all of it.
GeoPackages are written as version 1.2, which every GIS in use reads (GDAL ≥ 3.11 would write
1.4, which older GDAL, QGIS and ArcGIS warn about). CSV is UTF-8 with a BOM so that Excel shows
Chinese, in WGS84, with 经度/纬度 columns for points and a ``wkt`` column otherwise.

Examples
--------
>>> import geopandas as gpd, tempfile, pathlib
>>> from shapely import Point
>>> g = gpd.GeoDataFrame({"code": ["S1"]}, geometry=[Point(104.1, 30.6)], crs=4326)
>>> out = write_frame(g, pathlib.Path(tempfile.mkdtemp()) / "s.csv", "csv", "station")
>>> out.read_text(encoding="utf-8-sig").splitlines()[0]
'code,经度,纬度'
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from gridmap.errors import InputFileError
from gridmap.io.geometry import polygonal
from gridmap.layers import STORAGE_CRS

FORMATS = {"geojson": ".geojson", "gpkg": ".gpkg", "csv": ".csv"}
MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv; charset=utf-8",
}
DECIMALS = 7  # RFC 7946 §11.2: about 1 cm, finer than any survey of a building


def export_format(fmt: str | None, path: str | Path | None = None) -> str:
    """The format to write: ``fmt`` if given, else the one the file name ends with.

    >>> export_format(None, "留白.gpkg"), export_format("CSV")
    ('gpkg', 'csv')
    """
    if fmt is None:
        suffix = Path(path).suffix.lower() if path else ""
        fmt = next((f for f, ext in FORMATS.items() if ext == suffix), suffix.lstrip(".") or "")
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise InputFileError(
            f"不支持的导出格式 {fmt or '(无)'}，可用: {', '.join(FORMATS)}。",
            f"Unknown export format {fmt or '(none)'}; use one of {', '.join(FORMATS)}.",
        )
    return fmt


def _flatten(frame: pd.DataFrame) -> pd.DataFrame:
    """JSON columns (``properties``) as text, nullable dtypes as plain objects for GDAL."""
    out = frame.copy()
    geometry = out.geometry.name if isinstance(out, gpd.GeoDataFrame) else None
    for column in out.columns:
        if column == geometry:
            continue
        if out[column].map(lambda v: isinstance(v, dict | list)).any():
            out[column] = out[column].map(
                lambda v: json.dumps(v, ensure_ascii=False) if v not in (None, {}) else None
            )
        elif str(out[column].dtype) in ("boolean", "Int64", "string"):
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out


def _wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is None:
        raise ValueError("write_frame needs a frame with a CRS")
    return frame.to_crs(STORAGE_CRS)


def _on_decimals_grid(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Polygons rounded to ``DECIMALS`` here, as polygons, before GDAL rounds them its own way.

    GDAL's GeoJSON writer keeps whatever its rounding leaves: a part of a polygon narrower than
    the grid (~1 cm) comes out as a line, and the polygon as a GeometryCollection or a
    LineString. Rounded here (snap-rounding, valid output) the collapsed parts are dropped and
    GDAL's own rounding has nothing left to do. A polygon that is all hairline keeps its shape:
    there is nothing polygonal to write of it.
    """
    geoms = np.asarray(frame.geometry.values, dtype=object)
    polygons = np.isin(shapely.get_type_id(geoms), (3, 6))
    if not polygons.any():
        return frame
    rounded = polygonal(shapely.set_precision(geoms[polygons], 10.0**-DECIMALS))
    kept = pd.notna(rounded)
    # a polygon stays a polygon (polygonal makes every result a MultiPolygon)
    single = kept & (shapely.get_type_id(geoms[polygons]) == 3)
    single[single] = shapely.get_num_geometries(rounded[single].astype(object)) == 1
    rounded[single] = shapely.get_geometry(rounded[single].astype(object), 0)
    at = np.flatnonzero(polygons)[kept]
    geoms = geoms.copy()
    geoms[at] = rounded[kept]
    out = frame.copy()
    out[out.geometry.name] = gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs)
    return out


def write_frame(frame: pd.DataFrame, path: str | Path, fmt: str | None, layer_name: str) -> Path:
    """Write a layer frame as ``fmt`` (geojson, gpkg or csv; None: from the suffix) to ``path``."""
    fmt = export_format(fmt, path)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = _flatten(frame)
    spatial = isinstance(frame, gpd.GeoDataFrame)
    if spatial:
        frame = _wgs84(frame)
    if fmt == "csv":
        _write_csv(frame, path, spatial)
        return path
    if not spatial:
        frame = gpd.GeoDataFrame(
            frame, geometry=gpd.GeoSeries([None] * len(frame), index=frame.index), crs=STORAGE_CRS
        )
    if path.exists():
        path.unlink()
    if fmt == "geojson":
        pyogrio.write_dataframe(
            _on_decimals_grid(frame),
            path,
            layer=layer_name,
            driver="GeoJSON",
            layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": DECIMALS},
        )
    else:
        pyogrio.write_dataframe(
            frame, path, driver="GPKG", layer=layer_name, dataset_options={"VERSION": "1.2"}
        )
    return path


def _write_csv(frame: pd.DataFrame, path: Path, spatial: bool) -> None:
    if spatial:
        geoms = frame.geometry.values
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        kinds = shapely.get_type_id(geoms)
        if len(frame) and (kinds == 0).any() and ((kinds == 0) | (kinds == -1)).all():
            table["经度"] = shapely.get_x(geoms).round(DECIMALS)
            table["纬度"] = shapely.get_y(geoms).round(DECIMALS)
        else:
            table["wkt"] = shapely.to_wkt(geoms, rounding_precision=DECIMALS)
    else:
        table = pd.DataFrame(frame)
    table.to_csv(path, index=False, encoding="utf-8-sig")

"""Writers for other GIS tools: GeoJSON (RFC 7946), GeoPackage and CSV.

GeoJSON follows RFC 7946 (WGS84, counter-clockwise exteriors, at most 7 decimals — GDAL's
``RFC7946`` option does all three); CSV is UTF-8 with a BOM so that Excel shows Chinese, with
longitude/latitude columns for points and a WKT column otherwise.

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
import pandas as pd
import pyogrio
import shapely

from gridmap.errors import InputFileError
from gridmap.layers import STORAGE_CRS

FORMATS = {"geojson": ".geojson", "gpkg": ".gpkg", "csv": ".csv"}


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


def write_frame(frame: pd.DataFrame, path: str | Path, fmt: str, layer_name: str) -> Path:
    """Write a layer frame as ``fmt`` (geojson, gpkg or csv) to ``path``."""
    if fmt not in FORMATS:
        raise InputFileError(
            f"不支持的导出格式 {fmt}，可用: {', '.join(FORMATS)}。",
            f"Unknown export format {fmt}; use one of {', '.join(FORMATS)}.",
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = _flatten(frame)
    spatial = isinstance(frame, gpd.GeoDataFrame)
    if fmt == "csv":
        _write_csv(frame, path, spatial)
        return path
    if not spatial:
        frame = gpd.GeoDataFrame(
            frame, geometry=gpd.GeoSeries([None] * len(frame)), crs=STORAGE_CRS
        )
    frame = frame.to_crs(STORAGE_CRS)
    if path.exists():
        path.unlink()
    if fmt == "geojson":
        pyogrio.write_dataframe(
            frame,
            path,
            driver="GeoJSON",
            layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": 7},
        )
    else:
        pyogrio.write_dataframe(frame, path, driver="GPKG", layer=layer_name)
    return path


def _write_csv(frame: pd.DataFrame, path: Path, spatial: bool) -> None:
    if spatial:
        geoms = frame.geometry.values
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        if len(frame) and (shapely.get_type_id(geoms) == 0).all():
            table["经度"] = shapely.get_x(geoms).round(7)
            table["纬度"] = shapely.get_y(geoms).round(7)
        else:
            table["wkt"] = shapely.to_wkt(geoms, rounding_precision=7)
    else:
        table = pd.DataFrame(frame)
    table.to_csv(path, index=False, encoding="utf-8-sig")

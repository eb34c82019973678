"""Writers for other GIS tools and for Excel: GeoJSON (RFC 7946), GeoPackage, CSV and XLSX.

GeoJSON follows RFC 7946: WGS84 longitude/latitude, counter-clockwise exterior rings (clockwise
holes), at most 7 decimals, no ``crs`` member — GDAL's ``RFC7946`` option does all of it.
GeoJSON, CSV and XLSX write 7 decimals; their polygons are put on that grid first, valid there and
overlapping no neighbour they only touched (:func:`on_grid`). GeoPackages keep every digit.
GeoPackages are written as version 1.2, which every GIS in use reads (GDAL ≥ 3.11 would write
1.4, which older GDAL, QGIS and ArcGIS warn about). CSV is UTF-8 with a BOM so that Excel shows
Chinese, in WGS84, with 经度/纬度 columns for points and a ``wkt`` column otherwise; XLSX holds
the same table on one sheet, numbers as numbers.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
as a formula (``=HYPERLINK(…)`` in a compound's name, or in the account name of a failed login):
every CSV and XLSX the project writes passes its text cells through :func:`spreadsheet_safe`,
which puts a ``'`` in front as OWASP advises. Numbers stay numbers (``-3.5`` is no formula).

The XLSX writer is XlsxWriter: it writes only what it is told to (a string stays a string, while
openpyxl turns any text starting with ``=`` into a formula), streams rows in constant memory and
is actively maintained.

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
import xlsxwriter

from gridmap.errors import InputFileError
from gridmap.io.geojson_text import rounded_coverage
from gridmap.io.polygons import polygonal
from gridmap.layers import STORAGE_CRS

FORMATS = {"geojson": ".geojson", "gpkg": ".gpkg", "csv": ".csv", "xlsx": ".xlsx"}
MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DECIMALS = 7  # RFC 7946 §11.2: about 1 cm, finer than any survey of a building
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_CELL_LIMIT = 32_767  # characters Excel holds in one cell


def spreadsheet_safe(value):
    """Text that a spreadsheet would run as a formula, made inert with a leading ``'``.

    >>> print(spreadsheet_safe('=HYPERLINK("http://x"&A2,"点击")'))
    '=HYPERLINK("http://x"&A2,"点击")
    >>> spreadsheet_safe("-3"), spreadsheet_safe(-3), spreadsheet_safe("锦绣花园")
    ("'-3", -3, '锦绣花园')
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_safe_table(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`spreadsheet_safe` on every text cell and header; numeric columns untouched."""
    out = table.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_numeric_dtype(values.dtype):
            continue
        formula = values.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_STARTS))
        if formula.any():  # only those cells change: ints beside None stay ints
            out.loc[formula.to_numpy(dtype=bool), column] = (
                "'" + values[formula.to_numpy(dtype=bool)]
            )
    return out.rename(columns=lambda c: spreadsheet_safe(str(c)))


def write_csv_table(table: pd.DataFrame, path: str | Path) -> Path:
    """A plain table as CSV for Excel: UTF-8 with a BOM, formula starts neutralised, rows ended
    by CRLF as RFC 4180 says (so that a cell holding a carriage return is quoted, not cut)."""
    safe = spreadsheet_safe_table(table)
    safe.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return Path(path)


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


def _flatten(frame: pd.DataFrame, nullable: tuple[str, ...] = ("boolean", "Int64", "string")) -> pd.DataFrame:  # fmt: skip
    """JSON columns (``properties``) as text, the ``nullable`` dtypes as plain objects."""
    out = frame.copy()
    geometry = out.geometry.name if isinstance(out, gpd.GeoDataFrame) else None
    for column in out.columns:
        if column == geometry:
            continue
        if out[column].map(lambda v: isinstance(v, dict | list)).any():
            out[column] = out[column].map(
                lambda v: json.dumps(v, ensure_ascii=False) if v not in (None, {}) else None
            )
        elif str(out[column].dtype) in nullable:
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out


def _wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is None:
        raise ValueError("write_frame needs a frame with a CRS")
    return frame.to_crs(STORAGE_CRS)


def on_grid(geoms, decimals: int = DECIMALS) -> np.ndarray:
    """Geometries with their polygons' coordinates on the grid of ``decimals`` places, each
    valid there and overlapping no neighbour it only touched: what a file written at that
    precision reads back as. Other geometries (points, lines, collections) are left as they are.

    Rounding plainly keeps nearly all polygons valid, but a polygon with two edges within a grid
    step crosses itself. And a corner of one cell lying on its neighbour's border, where the
    neighbour has no vertex, is moved off that border, often into the neighbour: the two then
    overlap by a sliver (the demo's party grid: 12 pairs of cells, up to 0.2 m²). Snap-rounding
    each polygon alone mends the first, not the second. So the polygons plain rounding breaks,
    or makes overlap a polygon they only touched, are snap-rounded together with their neighbours
    (:func:`gridmap.io.geojson_text.rounded_coverage`, which makes such a corner a vertex of both);
    a polygon nothing of which is a grid step wide comes out empty.

    >>> from shapely import Polygon, box
    >>> spike = Polygon([(104, 30), (104.001, 30), (104.001, 30.001), (104.0005, 30.001),
    ...                  (104.0005, 30.00000004), (104.00049999, 30.001), (104, 30.001)])
    >>> shapely.transform(spike, lambda xy: xy.round(7)).is_valid
    False
    >>> cell, neighbour = on_grid([spike, box(104.001, 30, 104.002, 30.001)])
    >>> cell.is_valid, cell.wkt  # the spike gone, its tip a vertex of the edge it reached
    (True, 'POLYGON ((104 30, 104 30.001, 104.0005 30.001, 104.001 30.001, 104.001 30, 104.0005 30, 104 30))')
    >>> neighbour.equals(box(104.001, 30, 104.002, 30.001))
    True
    """
    geoms = np.asarray(geoms, dtype=object)
    polygons = np.flatnonzero(np.isin(shapely.get_type_id(geoms), (3, 6)))
    out = geoms.copy()
    if not len(polygons):
        return out
    stored = geoms[polygons]
    written = shapely.transform(stored, lambda xy: np.round(xy, decimals))
    neighbours = shapely.STRtree(stored)
    todo = _broken(stored, written)
    for _ in range(3):  # snapped together, a group's border with a polygon outside it may move
        if not todo.any():
            break
        near = neighbours.query(stored[todo], predicate="dwithin", distance=10.0**-decimals)[1]
        group = np.union1d(np.flatnonzero(todo), near)
        written[group] = _as_stored(rounded_coverage(stored[group], decimals), stored[group])
        todo = _broken(stored, written)
    out[polygons] = written
    return out


def _broken(stored: np.ndarray, written: np.ndarray) -> np.ndarray:
    """Which polygons are invalid as ``written``, or overlap there a polygon they only touched
    as ``stored``."""
    broken = ~shapely.is_valid(written)
    shapes = np.where(broken, None, written)
    a, b = shapely.STRtree(shapes).query(shapes, predicate="intersects")
    a, b = a[a < b], b[a < b]
    interiors = "T********"
    grown = shapely.relate_pattern(shapes[a], shapes[b], interiors) & ~shapely.relate_pattern(
        stored[a], stored[b], interiors
    )
    broken[a[grown]] = broken[b[grown]] = True
    return broken


def _as_stored(snapped: np.ndarray, stored: np.ndarray) -> np.ndarray:
    """Snapped polygons as the kind they were: a polygon one polygon, a multipolygon multi."""
    multi = polygonal(snapped)
    empty = pd.isna(multi)
    multi[empty] = shapely.MultiPolygon()
    single = (shapely.get_type_id(stored) == 3) & (shapely.get_num_geometries(multi) <= 1)
    multi[single] = np.where(
        empty[single], shapely.Polygon(), shapely.get_geometry(multi[single].astype(object), 0)
    )
    return multi


def _on_decimals_grid(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` with its polygons :func:`on_grid`, before GDAL rounds them its own way.

    GDAL's GeoJSON writer keeps whatever its rounding leaves: a part of a polygon narrower than
    the grid (~1 cm) comes out as a line, and the polygon as a GeometryCollection or a
    LineString, or the polygon crosses itself. Put on the grid here, GDAL's rounding has
    nothing left to do.
    """
    out = frame.copy()
    out[out.geometry.name] = gpd.GeoSeries(on_grid(frame.geometry.values), index=frame.index, crs=frame.crs)  # fmt: skip
    return out


def write_frame(frame: pd.DataFrame, path: str | Path, fmt: str | None, layer_name: str) -> Path:
    """Write a layer frame as ``fmt`` (geojson, gpkg, csv or xlsx; None: from the suffix)."""
    fmt = export_format(fmt, path)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # GDAL writes nullable whole numbers and booleans as such (as text once made objects)
    frame = _flatten(frame, ("string",) if fmt in ("geojson", "gpkg") else ("boolean", "Int64", "string"))  # fmt: skip
    spatial = isinstance(frame, gpd.GeoDataFrame)
    if spatial:
        frame = _wgs84(frame)
    if fmt == "csv":
        write_csv_table(_table(frame, spatial), path)
        return path
    if fmt == "xlsx":
        _write_xlsx(spreadsheet_safe_table(_table(frame, spatial)), path, layer_name)
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


def _table(frame: pd.DataFrame, spatial: bool) -> pd.DataFrame:
    """The layer as a plain table: 经度/纬度 for points, ``wkt`` for other geometry."""
    if spatial:
        geoms = frame.geometry.values
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        kinds = shapely.get_type_id(geoms)
        if len(frame) and (kinds == 0).any() and ((kinds == 0) | (kinds == -1)).all():
            table["经度"] = shapely.get_x(geoms).round(DECIMALS)
            table["纬度"] = shapely.get_y(geoms).round(DECIMALS)
        else:
            table["wkt"] = shapely.to_wkt(on_grid(geoms), rounding_precision=DECIMALS)
    else:
        table = pd.DataFrame(frame)
    return table


def _write_cell(sheet, r: int, c: int, value) -> None:
    """Numbers and booleans as such (also in object columns), anything else as text."""
    if isinstance(value, bool | np.bool_):
        sheet.write_boolean(r, c, bool(value))
    elif isinstance(value, int | float | np.integer | np.floating):
        sheet.write_number(r, c, value)
    else:
        sheet.write_string(r, c, value if isinstance(value, str) else str(value))


def _write_xlsx(table: pd.DataFrame, path: Path, sheet_name: str) -> None:
    """One sheet, a bold frozen header row; text longer than a cell holds is listed, not cut."""
    options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_numbers": False, "strings_to_urls": False}  # fmt: skip
    too_long: list[str] = []
    with xlsxwriter.Workbook(str(path), options) as book:
        sheet = book.add_worksheet(sheet_name[:31])
        header = book.add_format({"bold": True})
        for c, name in enumerate(table.columns):
            sheet.write_string(0, c, str(name), header)
        sheet.freeze_panes(1, 0)
        codes = table["code"].tolist() if "code" in table else None
        for r, row in enumerate(table.itertuples(index=False, name=None), start=1):
            for c, value in enumerate(row):
                if value is None or value is pd.NA or (isinstance(value, float) and not np.isfinite(value)):  # fmt: skip
                    continue
                if isinstance(value, str) and len(value) > XLSX_CELL_LIMIT:
                    too_long.append(f"{codes[r - 1] if codes else r + 1}: {table.columns[c]}")
                    continue
                _write_cell(sheet, r, c, value)
        if too_long:
            notes = book.add_worksheet("说明 notes")
            notes.write_string(0, 0, f"以下单元格超过 Excel 的 {XLSX_CELL_LIMIT} 字符上限，未写入；"
                               "请导出 GeoPackage 或 GeoJSON / cells over Excel's limit, left empty:")  # fmt: skip
            for i, item in enumerate(too_long, start=1):
                notes.write_string(i, 0, spreadsheet_safe(item))

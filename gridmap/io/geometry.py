"""Geometry on the way in: coordinates from CSV, the CRS, repair, and rows that cannot be used.

Repair uses shapely's ``make_valid`` (GEOS) and ``remove_repeated_points``; what was done is kept
per row as a note, so the topology report can say "invalid geometry, repaired: …".

Examples
--------
>>> import numpy as np, shapely
>>> bowtie = shapely.from_wkt("POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))")
>>> geoms, notes, problems = repair_geometries(np.array([bowtie]), "polygon", np.array([1]))
>>> geoms[0].geom_type, geoms[0].area, bool(notes[0]), problems
('MultiPolygon', 0.5, True, [])
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pyproj
import shapely

from gridmap.crs import (
    CHINA_BOUNDS,
    SHIFTED_DATUMS,
    bd09_to_wgs84,
    gauss_kruger_hint,
    gauss_kruger_mismatch,
    gcj02_to_wgs84,
)
from gridmap.errors import CRSError, RowProblem
from gridmap.io.polygons import leaf_parts, polygonal
from gridmap.layers import STORAGE_CRS

_FAMILY_TYPES = {
    "polygon": {"Polygon", "MultiPolygon"},
    "point": {"Point", "MultiPoint"},
}
_FAMILY_ZH = {"polygon": "面", "point": "点"}
_TYPE_ZH = {
    "Point": "点", "MultiPoint": "多点", "LineString": "线", "MultiLineString": "多线",
    "Polygon": "面", "MultiPolygon": "多面", "GeometryCollection": "几何集合",
}  # fmt: skip
_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}


def points_from_columns(
    lon: pd.Series, lat: pd.Series, rows: np.ndarray, lon_name: str, lat_name: str
) -> tuple[np.ndarray, list[RowProblem]]:
    """Points from longitude/latitude columns; blank or non-numeric cells are row problems."""
    x = pd.to_numeric(lon, errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(lat, errors="coerce").to_numpy(dtype=float)
    problems = [
        RowProblem(int(r), name, f"{label}为空或不是数字", f"{label_en} is blank or not a number")
        for bad, name, label, label_en in (
            (np.isnan(x), lon_name, "经度", "longitude"),
            (np.isnan(y), lat_name, "纬度", "latitude"),
        )
        for r in rows[bad]
    ]
    geoms = shapely.points(x, y)
    geoms[np.isnan(x) | np.isnan(y)] = None
    return geoms, problems


def geometries_from_wkt(
    values: pd.Series, rows: np.ndarray, column: str
) -> tuple[np.ndarray, list[RowProblem]]:
    """Geometries from a WKT column; unparseable text is a row problem."""
    text = values.astype(object).where(values.notna(), None).to_numpy()
    with np.errstate(invalid="ignore"):  # NaN coordinates are a row problem, not a warning
        geoms = shapely.from_wkt(text, on_invalid="fix")
    bad = pd.isna(geoms) & pd.notna(text) & (pd.Series(text).astype(str).str.strip() != "")
    problems = [
        RowProblem(int(r), column, "WKT 无法解析", "WKT cannot be parsed") for r in rows[bad]
    ]
    return geoms, problems


def resolve_crs(
    file_crs: pyproj.CRS | None, option: str | pyproj.CRS | None, sample: np.ndarray
) -> tuple[str | pyproj.CRS, list[str]]:
    """The CRS the coordinates are in: the user's ``--crs`` wins, then the file's own.

    Without either, coordinates within longitude/latitude ranges are taken as WGS84 (with a
    warning; rows outside China are then rejected one by one). Coordinates that cannot be
    degrees under a geographic CRS are a :class:`CRSError`.
    """
    warnings: list[str] = []
    present = sample[pd.notna(sample)] if len(sample) else sample
    row_bounds = shapely.bounds(present) if len(present) else np.zeros((0, 4))
    degrees = (
        (row_bounds[:, 0] >= -180)
        & (row_bounds[:, 2] <= 180)
        & (row_bounds[:, 1] >= -90)
        & (row_bounds[:, 3] <= 90)
    )
    # a few rows with swapped or mistyped coordinates must not decide the file's CRS
    looks_like_degrees = bool(len(degrees) == 0 or degrees.mean() >= 0.5)
    bounds = np.nanmedian(row_bounds, axis=0) if len(row_bounds) else np.full(4, np.nan)
    if option is not None:
        if option in SHIFTED_DATUMS and file_crs is not None and not file_crs.is_geographic:
            raise CRSError(
                f"文件自带投影坐标系 {file_crs.name}，不能按 {option} 经纬度读取。",
                f"The file is in the projected CRS {file_crs.name}; it cannot be {option} degrees.",
            )
        if file_crs is not None and not isinstance(option, str) and not file_crs.equals(option):
            warnings.append(
                f"按 --crs {option.to_string()} 读取，忽略文件自带的 {file_crs.name} / "
                f"--crs overrides the file's {file_crs.name}"
            )
        crs = option
    elif file_crs is not None:
        crs = file_crs
    elif looks_like_degrees:
        warnings.append(
            "文件未注明坐标系，按 WGS84 经纬度 (EPSG:4326) 读取；如为高德/腾讯或百度坐标请用 "
            "--crs gcj02 / bd09 / The file names no CRS; read as WGS84 degrees"
        )
        crs = pyproj.CRS.from_epsg(4326)
    else:
        zh, en = gauss_kruger_hint(bounds[0])
        raise CRSError(
            "无法判断坐标系：文件未注明坐标系，坐标也不是经纬度。请用 --crs 指定 "
            f"(如 --crs 4544 表示 CGCS2000 3 度带 105°E)。{zh}",
            "Unknown CRS: the file names none and its coordinates are not degrees. "
            f"Give --crs (e.g. --crs 4544 for CGCS2000 3-degree zone 105E). {en}",
        )
    geographic = isinstance(crs, str) or crs.is_geographic
    if geographic and not looks_like_degrees:
        zh, en = gauss_kruger_hint(bounds[0])
        raise CRSError(
            f"坐标值 ({bounds[0]:.0f}, {bounds[1]:.0f}) 不是经纬度，但坐标系为经纬度。"
            f"文件可能是投影坐标 (如 CGCS2000 高斯-克吕格)：请用 --crs 指定 (如 --crs 4544)。{zh}",
            f"Coordinates ({bounds[0]:.0f}, {bounds[1]:.0f}) are not degrees, yet the CRS is "
            f"geographic: give the projected CRS with --crs (e.g. --crs 4544). {en}",
        )
    # eastings with a zone number read in a CRS without one (or the reverse) land nowhere,
    # every row "outside China": say which zone once instead
    mismatch = None if geographic else gauss_kruger_mismatch(crs, bounds[0])
    if mismatch:
        raise CRSError(*mismatch)
    return crs, warnings


def _inside_china(bounds: np.ndarray) -> bool:
    x0, y0, x1, y1 = CHINA_BOUNDS
    return bool(bounds[0] >= x0 and bounds[2] <= x1 and bounds[1] >= y0 and bounds[3] <= y1)


def to_storage_crs(geoms: np.ndarray, crs: str | pyproj.CRS) -> np.ndarray:
    """Coordinates in ``crs`` (an EPSG CRS, ``gcj02`` or ``bd09``) → EPSG:4326."""
    if isinstance(crs, str):
        func = _TO_WGS84[crs]

        def shift(coords: np.ndarray) -> np.ndarray:
            return np.column_stack(func(coords[:, 0], coords[:, 1]))

        return shapely.transform(geoms, shift)
    if crs.equals(pyproj.CRS.from_user_input(STORAGE_CRS)):
        return geoms
    transformer = pyproj.Transformer.from_crs(crs, STORAGE_CRS, always_xy=True)

    def project(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer.transform(coords[:, 0], coords[:, 1]))

    return shapely.transform(geoms, project)


def outside_china(geoms: np.ndarray, rows: np.ndarray) -> list[RowProblem]:
    """Rows whose coordinates (in EPSG:4326) fall outside China: a wrong CRS or swapped axes."""
    present = pd.notna(geoms)
    bounds = np.full((len(geoms), 4), np.nan)
    bounds[present] = shapely.bounds(geoms[present])
    x0, y0, x1, y1 = CHINA_BOUNDS
    inside = (
        (bounds[:, 0] >= x0) & (bounds[:, 2] <= x1) & (bounds[:, 1] >= y0) & (bounds[:, 3] <= y1)
    )
    swapped = (
        (bounds[:, 1] >= x0) & (bounds[:, 3] <= x1) & (bounds[:, 0] >= y0) & (bounds[:, 2] <= y1)
    )
    problems = []
    for i in np.flatnonzero(present & ~inside):
        hint_zh = "，经纬度可能填反了" if swapped[i] else "，请检查坐标系 (--crs)"
        hint_en = "; longitude and latitude look swapped" if swapped[i] else "; check --crs"
        problems.append(
            RowProblem(
                int(rows[i]),
                "geometry",
                f"坐标 ({bounds[i, 0]:.4f}, {bounds[i, 1]:.4f}) 不在中国境内{hint_zh}",
                f"coordinates ({bounds[i, 0]:.4f}, {bounds[i, 1]:.4f}) are outside China{hint_en}",
            )
        )
    return problems


# shapely's type ids → GEOS's names (``geom_type``); -1 (no geometry) takes the last, ""
_TYPE_NAMES = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                        "MultiLineString", "MultiPolygon", "GeometryCollection", ""], dtype=object)  # fmt: skip


def repair_geometries(
    geoms: np.ndarray, family: str, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, list[RowProblem]]:
    """Check and repair geometries of a layer whose family is ``polygon`` or ``point``.

    Returns the repaired geometries (MultiPolygon or Point, 2-D), a repair note per row ("" when
    nothing was done), and the rows that cannot be used (no geometry, wrong type, nothing left
    after repair). Unusable rows keep ``None`` as geometry.

    Every check runs on the whole array at once; only the rows a check finds are visited one
    by one, to word their notes and problems.
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    notes = np.full(len(geoms), "", dtype=object)
    problems: list[RowProblem] = []
    missing = pd.isna(geoms) | shapely.is_empty(geoms)
    for r in rows[missing]:
        problems.append(
            RowProblem(
                int(r),
                "geometry",
                "没有几何图形，或几何无法读取 (如只有两个点的环)：请重画该要素或删除该行",
                "has no geometry, or one too broken to read (such as a ring of two points): "
                "draw it again or remove the row",
            )
        )
    present = ~missing
    # Z and M are dropped; copies are made only of the geometries that have them
    deeper = present & (shapely.has_z(geoms) | shapely.has_m(geoms))
    geoms[deeper] = shapely.force_2d(geoms[deeper])
    types = _TYPE_NAMES[shapely.get_type_id(geoms)]
    wrong = present & ~np.isin(types, list(_FAMILY_TYPES[family]))
    if family == "polygon":
        # make_valid may turn a bad polygon into a collection; other families are wrong types
        wrong &= types != "GeometryCollection"
    for r, t in zip(rows[wrong], types[wrong], strict=True):
        problems.append(
            RowProblem(
                int(r),
                "geometry",
                f"应为{_FAMILY_ZH[family]}，实际为{_TYPE_ZH.get(t, t)}",
                f"expected a {family}, got a {t}",
            )
        )
    usable = present & ~wrong
    finite, repeats = _coordinate_checks(geoms, usable)
    for r in rows[usable & ~finite]:
        problems.append(
            RowProblem(
                int(r),
                "geometry",
                "坐标含非数值 (NaN 或无穷大)：请在 GIS 中检查并重画该要素",
                "a coordinate is not a number (NaN or infinite): check and redraw the feature",
            )
        )
    usable &= finite
    geoms[~usable] = None
    if family == "point":
        return _single_points(geoms, usable, rows, notes, problems)
    # remove_repeated_points also drops empty rings and parts: whatever may hold one is passed
    # to it too (a polygon with holes, a multipolygon, a collection)
    type_ids = shapely.get_type_id(geoms)
    maybe = repeats | (type_ids != 3) | (shapely.get_num_interior_rings(geoms) > 0)
    return _repair_polygons(geoms, usable & maybe, usable, rows, notes, problems)


def _single_points(geoms, usable, rows, notes, problems):
    multi = usable & (shapely.get_type_id(geoms) == 4)
    n_parts = shapely.get_num_geometries(geoms)
    for r in rows[multi & (n_parts > 1)]:
        problems.append(
            RowProblem(int(r), "geometry", "多点要素应为单个点", "a multipoint must be one point")
        )
    geoms[multi & (n_parts > 1)] = None
    single = multi & (n_parts == 1)
    geoms[single] = shapely.get_geometry(geoms[single], 0)
    return geoms, notes, problems


def _coordinate_checks(geoms: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where every coordinate of a usable geometry is a finite number (no NaN, no inf), and
    where one coordinate follows an equal one (a repeated vertex may be there): one pass over
    the coordinates of every usable geometry."""
    finite = np.ones(len(geoms), dtype=bool)
    repeats = np.zeros(len(geoms), dtype=bool)
    if usable.any():
        at_usable = np.flatnonzero(usable)
        coords, at = shapely.get_coordinates(geoms[usable], return_index=True)
        bad = np.unique(at[~np.isfinite(coords).all(axis=1)])
        finite[at_usable[bad]] = False
        # consecutive equal coordinates of one geometry: a superset of the repeated vertices
        # (the end of one ring may equal the start of the next); remove_repeated_points decides
        same = (coords[1:] == coords[:-1]).all(axis=1) & (at[1:] == at[:-1])
        repeats[at_usable[np.unique(at[1:][same])]] = True
    return finite, repeats


def _without_repeated_points(geoms: np.ndarray) -> np.ndarray:
    """``remove_repeated_points`` of each geometry; one whose ring would keep fewer than three
    points (a ring of one point drawn four times) stays as it was: ``make_valid`` decides."""
    try:
        return shapely.remove_repeated_points(geoms, tolerance=0.0)
    except shapely.errors.GEOSException:
        out = geoms.copy()
        for i, geom in enumerate(geoms):
            with contextlib.suppress(shapely.errors.GEOSException):
                out[i] = shapely.remove_repeated_points(geom, tolerance=0.0)
        return out


def _collapsed(geom) -> tuple[str, str]:
    """What is left of a polygon without area, in words (Chinese, English)."""
    dimension = shapely.get_dimensions(geom) if geom is not None and not geom.is_empty else -1
    return {1: ("一条线", "a line"), 0: ("一个点", "a point")}.get(
        int(dimension), ("空几何", "an empty geometry")
    )


def _repair_polygons(geoms, repeats, usable, rows, notes, problems):
    """``repeats``: the usable geometries that may have repeated vertices or empty parts."""
    before = shapely.get_num_coordinates(geoms[repeats])
    geoms[repeats] = _without_repeated_points(geoms[repeats])
    at = np.flatnonzero(repeats)[shapely.get_num_coordinates(geoms[repeats]) < before]
    notes[at] = "重复顶点已删除 / repeated vertices removed"
    invalid = usable & ~shapely.is_valid(geoms)
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid])
        geoms[invalid] = shapely.make_valid(geoms[invalid])
        for i, reason, geom in zip(np.flatnonzero(invalid), reasons, geoms[invalid], strict=True):
            prefix = f"{notes[i]}; " if notes[i] else ""
            notes[i] = f"{prefix}{reason} → make_valid: {geom.geom_type}"
    # make_valid may leave collections, and single polygons must become MultiPolygons
    type_ids = shapely.get_type_id(geoms)
    needs_parts = usable & (type_ids != 6)
    whole = geoms.copy()
    geoms[needs_parts] = polygonal(geoms[needs_parts])
    # line or point parts can only be in what is neither a polygon nor a multipolygon
    mixed = usable & (type_ids != 6) & (type_ids != 3)
    parts, at = leaf_parts(whole[mixed])
    lower = (shapely.get_type_id(parts) != 3) & ~shapely.is_empty(parts)
    for i in np.flatnonzero(mixed)[np.unique(at[lower])]:
        prefix = f"{notes[i]}; " if notes[i] else ""
        notes[i] = f"{prefix}线/点部分已去除 / line or point parts dropped"
    emptied = usable & (pd.isna(geoms) | shapely.is_empty(geoms))
    for r, i in zip(rows[emptied], np.flatnonzero(emptied), strict=True):
        zh, en = _collapsed(whole[i])
        problems.append(
            RowProblem(
                int(r),
                "geometry",
                f"不是面：修复后只剩{zh}，没有面积 (退化的面)。请在 GIS 中重画该面，或删除该行",
                f"not a polygon: only {en} is left after repair, with no area (a collapsed "
                "polygon). Redraw it in a GIS, or remove the row",
            )
        )
        notes[i] = ""
    geoms[emptied] = None
    return geoms, notes, problems

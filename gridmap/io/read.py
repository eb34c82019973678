"""Read one file as one layer: the whole way from bytes to a checked, canonical GeoDataFrame.

Nothing here touches the database; :func:`read_layer_file` returns the canonical frame and a
report of what was repaired, rejected and assumed, so the caller can refuse the whole file before
writing anything.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "stations.csv"
>>> _ = p.write_text("站点编号,站点名称,经度,纬度\\nS1,锦绣站,104.07,30.66\\n", encoding="utf-8")
>>> result = read_layer_file(p, "station", ReadOptions(crs="gcj02"))
>>> result.frame[["code", "name"]].values.tolist(), result.report.rows_read
([['S1', '锦绣站']], 1)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.crs import parse_crs
from gridmap.errors import RowProblem, SchemaError
from gridmap.io import columns as cols
from gridmap.io.checked_geometry import CheckAhead, PendingGeometry, check_ahead, checked_arrays
from gridmap.io.geometry import (
    geometries_from_wkt,
    points_from_columns,
    resolve_crs,
)
from gridmap.io.sheet_table import known_headers
from gridmap.io.sources import Limits, RawTable, read_source
from gridmap.io.staff_rows import staff_row_problems
from gridmap.layers import LAYERS, STORAGE_CRS, LayerSpec


@dataclass
class ReadOptions:
    """What the user told ``gridmap load`` about the file."""

    crs: str | None = None
    encoding: str | None = None
    fields: dict[str, str] = field(default_factory=dict)  # target → source column
    source_layer: str | None = None
    limits: Limits = field(default_factory=Limits)
    sheet: str | None = None  # a workbook's sheet: its name, or its number from 1


@dataclass
class ReadReport:
    """What reading found: counts, repairs (row, code, note), rejected rows, assumptions."""

    source: str
    rows_read: int = 0
    encoding: str | None = None
    crs: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    repaired: list[tuple[int, str, str]] = field(default_factory=list)
    rejected: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class ReadResult:
    frame: pd.DataFrame  # GeoDataFrame for spatial layers; canonical columns + properties …
    rows: np.ndarray  # the user's row number of each row of ``frame``
    report: ReadReport
    pending: PendingGeometry | None = None  # geometries still to check (``defer_geometry``)


def read_layer_file(
    path: str | Path,
    layer: str,
    options: ReadOptions | None = None,
    *,
    defer_geometry: bool = False,
    chunk_rows: int = 5000,
) -> ReadResult:
    """Read ``path`` as ``layer`` (a key of :data:`gridmap.layers.LAYERS`).

    Raises :class:`~gridmap.errors.GridmapError` subclasses for files that cannot be read at
    all; rows that cannot be used are listed in ``report.rejected`` and left out of ``frame``.

    With ``defer_geometry``, a file whose other fields all passed comes back with its geometries
    unchecked in ``pending`` (and ``frame`` without geometry): :func:`check_chunk` checks them a
    chunk at a time. A file with any problem already found is checked whole, as without it, so
    that every problem is listed. The geometries of a vector file are checked ahead in a second
    thread, ``chunk_rows`` at a time, while the fields are read (GEOS releases the GIL), so
    that :func:`check_chunk` mostly finds its chunk done.
    """
    options = options or ReadOptions()
    spec = LAYERS[layer]
    crs_option = parse_crs(options.crs)
    raw = read_source(
        path,
        encoding=options.encoding,
        source_layer=options.source_layer,
        limits=options.limits,
        sheet=options.sheet,
        known_headers=known_headers(spec, options.fields.values()),
    )
    # a vector file's geometries are checked in a second thread while the fields are read
    ahead = check_ahead(raw, spec, crs_option, chunk_rows) if defer_geometry else None
    try:
        return _read_fields_and_geometry(raw, spec, options, crs_option, defer_geometry, ahead)
    except BaseException:
        if ahead is not None:
            ahead.close()
        raise


def _read_fields_and_geometry(
    raw: RawTable,
    spec: LayerSpec,
    options: ReadOptions,
    crs_option,
    defer_geometry: bool,
    ahead: CheckAhead | None,
) -> ReadResult:
    report = ReadReport(
        source=raw.source_name,
        rows_read=len(raw.frame) + len(raw.problems),
        encoding=raw.encoding,
        rejected=list(raw.problems),
        warnings=list(raw.warnings),
    )
    headers = [str(c) for c in raw.frame.columns]
    mapping = cols.match_columns(headers, spec, options.fields)
    report.columns = mapping
    rows = raw.row_numbers
    frame = pd.DataFrame(index=raw.frame.index)
    for name, source in mapping.items():
        values, problems = cols.parse_values(raw.frame[source], spec.field(name), source, rows)
        frame[name] = values
        report.rejected += problems
    # columns that almost match a field, and fields a check of the analysis needs but lacks
    report.warnings += [m.warning() for m in cols.near_misses(headers, spec, mapping)]
    given = {name for name in mapping if frame[name].notna().any()}
    report.warnings += cols.unfed_check_warnings(spec, mapping, given)
    if spec.name == "staff":  # posts that need a Party member, the same person twice
        report.rejected += staff_row_problems(frame, rows)
    _fill_codes(frame, raw, spec, report)
    frame["properties"] = _properties(raw.frame, set(mapping.values()))
    if spec.geometry == "none":
        return _finish(frame, None, rows, report)
    # rows without coordinates but with an address are placed by the loader (地址落位)
    addressed = _addressed(frame)
    geoms, excused = _geometries(raw, headers, spec, report, addressed)
    crs, warnings = ahead.resolved if ahead is not None else resolve_crs(raw.crs, crs_option, geoms)
    report.warnings += warnings if pd.notna(geoms).any() else []
    report.crs = crs if isinstance(crs, str) else (crs.to_string() or crs.name)
    excused = set(rows[excused & pd.isna(geoms)].tolist())
    if defer_geometry and not report.rejected:
        pending = PendingGeometry(geoms, crs, spec.geometry, excused, ahead)
        return ReadResult(frame, rows, report, pending)
    if ahead is not None:
        ahead.close()  # a file with problems is checked whole, as without the deferral
    return _check_geometries(
        frame, geoms, rows, report, PendingGeometry(None, crs, spec.geometry, excused)
    )


def _check_geometries(
    frame: pd.DataFrame,
    geoms: np.ndarray,
    rows: np.ndarray,
    report: ReadReport,
    pending: PendingGeometry,
    *,
    checked=None,
    geodataframe: bool = True,
) -> ReadResult:
    """Repair, reproject and bound-check ``geoms`` (or take ``checked``, the arrays
    :func:`gridmap.io.checked_geometry.checked_arrays` gave for them); problems and repairs go to ``report``."""
    if checked is None:
        checked = checked_arrays(geoms, rows, pending.crs, pending.family)
    geoms, notes, problems, outside = checked
    report.rejected += [p for p in problems if p.row not in pending.excused]
    report.rejected += outside
    frame["repair_note"] = np.where(notes == "", None, notes)
    for i in np.flatnonzero(notes != ""):
        report.repaired.append((int(rows[i]), str(frame["code"].iloc[i]), str(notes[i])))
    return _finish(frame, geoms, rows, report, geodataframe=geodataframe)


def check_chunk(
    result: ReadResult, start: int, stop: int, *, geodataframe: bool = True
) -> ReadResult:
    """Rows ``start:stop`` of a result read with ``defer_geometry``, their geometries checked.

    The chunk's repairs and problems are added to ``result.report`` (kept in row order); the
    returned frame holds the chunk's usable rows only: a GeoDataFrame, or with
    ``geodataframe=False`` a plain DataFrame whose ``geometry`` column holds the shapely
    geometries (what a COPY needs, without building a GeoDataFrame per chunk).
    """
    pending = result.pending
    chunk_report = ReadReport(source=result.report.source)
    frame = result.frame.iloc[start:stop].reset_index(drop=True)
    rows = result.rows[start:stop]
    checked = pending.ahead.take(start, stop, rows) if pending.ahead is not None else None
    geoms = None if checked is not None else pending.geoms[start:stop].copy()
    checked = _check_geometries(
        frame, geoms, rows, chunk_report, pending, checked=checked, geodataframe=geodataframe
    )
    result.report.repaired += chunk_report.repaired
    if chunk_report.rejected:
        result.report.rejected += chunk_report.rejected
        result.report.rejected.sort(
            key=lambda p: (p.row if p.row is not None else -1, p.field or "")
        )
    return checked


ADDRESS_FIELDS = ("address", "compound_name")  # a row with either can be placed by address


def _addressed(frame: pd.DataFrame) -> np.ndarray:
    present = [frame[f].notna().to_numpy() for f in ADDRESS_FIELDS if f in frame]
    return np.logical_or.reduce(present) if present else np.zeros(len(frame), dtype=bool)


def _geometries(
    raw: RawTable, headers: list[str], spec: LayerSpec, report: ReadReport, addressed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Geometries as given, and the rows whose missing geometry an address makes up for."""
    if raw.geometry is not None:
        return np.asarray(raw.geometry, dtype=object), addressed.copy()
    rows = raw.row_numbers
    lon, lat, wkt = cols.find_coordinate_columns(headers)
    if wkt is not None:
        geoms, problems = geometries_from_wkt(raw.frame[wkt], rows, wkt)
    elif lon is not None and lat is not None and spec.geometry == "point":
        geoms, problems = points_from_columns(raw.frame[lon], raw.frame[lat], rows, lon, lat)
    elif spec.geometry == "point" and addressed.any():
        geoms = np.full(len(raw.frame), None, dtype=object)
        problems = [
            RowProblem(int(r), "address", "住址为空 (表中没有经纬度，按住址落位)",
                       "the address is empty (the table has no coordinates; rows are placed by address)")
            for r in rows[~addressed]
        ]  # fmt: skip
        report.rejected += problems
        return geoms, np.ones(len(geoms), dtype=bool)
    else:
        need = "经度/纬度列或 WKT 列" if spec.geometry == "point" else "WKT 几何列"
        need_en = (
            "longitude/latitude columns or a WKT column"
            if spec.geometry == "point"
            else "a WKT column"
        )
        if "address" in spec.field_names:
            need += "，或住址列 (住址，或 小区 + 楼栋号)"
            need_en += ", or an address (住址, or 小区 + 楼栋号)"
        raise SchemaError(
            f"表格中没有位置信息：图层 {spec.label_zh} 需要{need}。文件中的列: {', '.join(headers)}。",
            f"The table has no location: layer {spec.name} needs {need_en}. "
            f"Columns: {', '.join(headers)}.",
        )
    missing = set(rows[addressed & pd.isna(geoms)].tolist())
    report.rejected += [p for p in problems if p.row not in missing]
    return geoms, addressed.copy()


def _fill_codes(frame: pd.DataFrame, raw: RawTable, spec: LayerSpec, report: ReadReport) -> None:
    """Codes are the upsert key: derive stable ones when a file has none; refuse duplicates."""
    if "code" not in frame:
        if spec.name == "org" and "name" in frame:
            frame["code"] = frame["name"]  # an organisation's name is its identity
        else:
            # cell by cell: a blank cell of a text column is NaN, not a str, under pandas 3
            content = raw.frame.astype(object).map(str).agg("|".join, axis=1)
            if raw.geometry is not None:
                content = content + pd.Series(
                    [g.wkb_hex if g is not None else "" for g in raw.geometry],
                    index=raw.frame.index,
                )
            frame["code"] = [
                f"{spec.name}-{hashlib.sha1(c.encode()).hexdigest()[:12]}" for c in content
            ]
            report.warnings.append(
                "文件没有编号列，已按内容生成稳定编号 / no code column: stable codes were derived"
            )
    rows = raw.row_numbers
    blank = frame["code"].isna().to_numpy()
    for r in rows[blank]:
        report.rejected.append(RowProblem(int(r), "code", "编号为空", "code is empty"))
    codes = frame["code"][~blank]
    repeats = codes.duplicated().to_numpy()
    if not repeats.any():
        return
    first_row = dict(zip(codes[~repeats], rows[~blank][~repeats].tolist(), strict=True))
    for r, code in zip(rows[~blank][repeats], codes[repeats], strict=True):
        report.rejected.append(
            RowProblem(
                int(r),
                "code",
                f"编号 {code} 与第 {first_row[code]} 行重复",
                f"code {code} repeats row {first_row[code]}",
            )
        )


def _properties(raw: pd.DataFrame, mapped: set[str]) -> list[dict]:
    """The columns nobody mapped, kept as given (JSON-safe values)."""
    extra = [c for c in raw.columns if c not in mapped]
    if not extra:
        return [{} for _ in range(len(raw))]
    values = raw[extra].astype(object)
    values = values.where(pd.notna(values), None)
    return [{str(k): _json_value(v) for k, v in r.items()} for r in values.to_dict("records")]


def _json_value(value):
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)  # dates, times, bytes: kept readable


def _finish(
    frame: pd.DataFrame, geoms, rows: np.ndarray, report: ReadReport, *, geodataframe: bool = True
) -> ReadResult:
    keep = ~np.isin(rows, [p.row for p in report.rejected if p.row is not None])
    report.rejected.sort(key=lambda p: (p.row if p.row is not None else -1, p.field or ""))
    if geoms is None:
        return ReadResult(frame[keep].reset_index(drop=True), rows[keep], report)
    if not geodataframe:
        kept = frame[keep].reset_index(drop=True) if not keep.all() else frame
        return ReadResult(kept.assign(geometry=geoms[keep]), rows[keep], report)
    gdf = gpd.GeoDataFrame(
        frame[keep].reset_index(drop=True),
        geometry=gpd.GeoSeries(geoms[keep], crs=STORAGE_CRS),
        crs=STORAGE_CRS,
    )
    return ReadResult(gdf, rows[keep], report)

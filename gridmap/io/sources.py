"""Open any file a subdistrict office has and hand back its rows as read, with row numbers.

Vector formats go through pyogrio (GDAL): GeoJSON, Shapefile (also zipped), GeoPackage, KML, GML
…; CSV tables are parsed here because their encodings, BOMs and ragged rows need care. Nothing is
interpreted yet: headers stay as given, geometry stays in the file's CRS.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
>>> _ = p.write_bytes("名称,经度,纬度\\n甲,104.1,30.6\\n".encode("gbk"))
>>> raw = read_source(p)
>>> raw.encoding, list(raw.frame.columns), raw.row_numbers.tolist()
('gb18030', ['名称', '经度', '纬度'], [2])
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from gridmap.errors import InputFileError, RowProblem
from gridmap.io.encoding import decode_text, gdal_encoding, has_cpg, sniff_dbf_encoding

VECTOR_SUFFIXES = {".geojson", ".json", ".shp", ".gpkg", ".kml", ".gml", ".fgb", ".sqlite", ".zip"}
TABLE_SUFFIXES = {".csv", ".txt", ".tsv"}


@dataclass
class RawTable:
    """A file's rows as read: original headers, geometry (if any) in the file's own CRS."""

    frame: pd.DataFrame
    geometry: np.ndarray | None  # shapely geometries, None where a row has none
    crs: pyproj.CRS | None
    row_numbers: np.ndarray  # what the user sees: CSV line numbers, or feature numbers from 1
    encoding: str | None
    source_name: str
    problems: list[RowProblem] = field(default_factory=list)  # rows the reader already refused


def _bad_file(path: Path, exc: Exception) -> InputFileError:
    return InputFileError(
        f"无法读取文件 {path.name}：格式错误或文件不完整 (可能被截断)。请确认文件完整后重试。",
        f"Cannot read {path.name}: malformed or incomplete (truncated?) file. ({exc})",
    )


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise InputFileError(f"找不到文件 {path}。", f"File not found: {path}.")
    if path.is_file() and path.stat().st_size == 0:
        raise InputFileError(f"文件 {path.name} 是空的。", f"The file {path.name} is empty.")


def read_source(
    path: str | Path, *, encoding: str | None = None, source_layer: str | None = None
) -> RawTable:
    """Read a vector file or a CSV table into a :class:`RawTable`.

    Raises :class:`InputFileError` for missing, empty, truncated or unreadable files.
    """
    path = Path(path)
    _check_exists(path)
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        raw = _read_csv(path, encoding)
    elif suffix in VECTOR_SUFFIXES or path.is_dir():
        raw = _read_vector(path, encoding, source_layer)
    else:
        raise InputFileError(
            f"不支持的文件类型 {suffix}。支持 GeoJSON、Shapefile (含 zip)、GeoPackage、KML、GML 和 CSV。",
            f"Unsupported file type {suffix}: use GeoJSON, Shapefile (or zip), GeoPackage, KML, "
            "GML or CSV.",
        )
    if len(raw.frame) == 0 and not raw.problems:
        raise InputFileError(
            f"文件 {path.name} 中没有任何数据行或要素。", f"{path.name} holds no rows or features."
        )
    return raw


# --- vector files ------------------------------------------------------------------------


def _zip_member(path: Path) -> tuple[str, zipfile.ZipInfo | None]:
    """The GDAL path of the dataset inside a zip, and the .dbf member of a shapefile."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            infos = {i.filename: i for i in zf.infolist()}
    except zipfile.BadZipFile as exc:
        raise _bad_file(path, exc) from exc
    shps = [n for n in names if n.lower().endswith(".shp") and not n.startswith("__MACOSX")]
    others = [n for n in names if Path(n).suffix.lower() in {".gpkg", ".geojson", ".json", ".kml"}]
    if len(shps) + len(others) != 1:
        raise InputFileError(
            f"压缩包 {path.name} 中应恰好有一个图层文件 (.shp/.gpkg/.geojson)，实际找到: "
            f"{', '.join(shps + others) or '无'}。",
            f"The zip must hold exactly one layer file (.shp/.gpkg/.geojson); found: "
            f"{', '.join(shps + others) or 'none'}.",
        )
    member = (shps or others)[0]
    dbf = next((n for n in names if n.lower() == member[:-4].lower() + ".dbf"), None)
    cpg = any(n.lower() == member[:-4].lower() + ".cpg" for n in names)
    return f"/vsizip/{path.resolve()}/{member}", (infos[dbf] if dbf and not cpg else None)


def _shapefile_encoding(path: Path, encoding: str | None) -> str | None:
    """The encoding to hand GDAL for a shapefile: the user's, the .cpg's (None), or sniffed."""
    if encoding:
        return gdal_encoding(encoding)
    if path.suffix.lower() == ".zip":
        _, dbf_info = _zip_member(path)
        if dbf_info is None:
            return None
        with zipfile.ZipFile(path) as zf:
            return sniff_dbf_encoding(zf.read(dbf_info))
    if path.suffix.lower() == ".shp" and not has_cpg(path):
        dbf = next(
            (path.with_suffix(s) for s in (".dbf", ".DBF") if path.with_suffix(s).exists()), None
        )
        if dbf is None:
            raise InputFileError(
                f"缺少属性文件 {path.with_suffix('.dbf').name}：Shapefile 需要 .shp、.shx、.dbf 一起提供。",
                f"Missing {path.with_suffix('.dbf').name}: a shapefile needs .shp, .shx and .dbf.",
            )
        return sniff_dbf_encoding(dbf.read_bytes())
    return None


def _read_vector(path: Path, encoding: str | None, source_layer: str | None) -> RawTable:
    gdal_path = _zip_member(path)[0] if path.suffix.lower() == ".zip" else str(path)
    enc = _shapefile_encoding(path, encoding)
    try:
        layers = pyogrio.list_layers(gdal_path)
        if source_layer is None and len(layers) > 1:
            names = ", ".join(str(n) for n in layers[:, 0])
            raise InputFileError(
                f"文件中有多个图层 ({names})，请用 --source-layer 指定要导入的图层。",
                f"The file has several layers ({names}); choose one with --source-layer.",
            )
        kwargs = {"encoding": enc} if enc else {}
        meta, _fids, wkb, fields = pyogrio.raw.read(gdal_path, layer=source_layer, **kwargs)
    except InputFileError:
        raise
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise _bad_file(path, exc) from exc
    frame = pd.DataFrame(
        {name: values for name, values in zip(meta["fields"], fields, strict=True)}
    )
    # Unclosed rings and similar defects must reach the repair step, not abort the read.
    geometry = shapely.from_wkb(wkb, on_invalid="fix") if wkb is not None else None
    crs = pyproj.CRS.from_user_input(meta["crs"]) if meta.get("crs") else None
    return RawTable(
        frame=frame,
        geometry=geometry,
        crs=crs,
        row_numbers=np.arange(1, len(frame) + 1),
        encoding=enc or meta.get("encoding"),
        source_name=path.name,
    )


# --- CSV tables ----------------------------------------------------------------------------


def _read_csv(path: Path, encoding: str | None) -> RawTable:
    text, used = decode_text(path.read_bytes(), encoding)
    text = text.removeprefix("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    if not rows:
        raise InputFileError(f"文件 {path.name} 是空的。", f"The file {path.name} is empty.")
    (_, header), body = rows[0], rows[1:]
    header = [h.strip() for h in header]
    problems: list[RowProblem] = []
    good: list[list[str]] = []
    numbers: list[int] = []
    for line, row in body:
        if len(row) < len(header):
            problems.append(
                RowProblem(
                    line,
                    None,
                    f"只有 {len(row)} 列，表头有 {len(header)} 列 (文件可能被截断)",
                    f"has {len(row)} columns, the header {len(header)} (truncated file?)",
                )
            )
            continue
        if len(row) > len(header) and any(c.strip() for c in row[len(header) :]):
            problems.append(
                RowProblem(
                    line,
                    None,
                    f"有 {len(row)} 列，多于表头的 {len(header)} 列 (检查分隔符或引号)",
                    f"has {len(row)} columns, more than the header's {len(header)}",
                )
            )
            continue
        good.append([c.strip() for c in row[: len(header)]])
        numbers.append(line)
    frame = pd.DataFrame(good, columns=header, dtype=object)
    return RawTable(
        frame=frame,
        geometry=None,
        crs=None,
        row_numbers=np.array(numbers, dtype=int),
        encoding=used,
        source_name=path.name,
        problems=problems,
    )

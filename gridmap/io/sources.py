"""Open any file a subdistrict office has and hand back its rows as read, with row numbers.

Vector formats go through pyogrio (GDAL): GeoJSON, Shapefile (also zipped), GeoPackage, KML
(also zipped as KMZ), GML …; CAD drawings (DXF) in :mod:`gridmap.io.cad`; CSV tables are parsed here because their encodings, BOMs and ragged rows need care; workbooks
(.xlsx, .xls, .ods) in :mod:`gridmap.io.spreadsheet`. Nothing is interpreted yet: headers stay as
given, geometry stays in the file's CRS.

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
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from gridmap.errors import InputFileError, RowProblem
from gridmap.io.archive import unzip_layer
from gridmap.io.arrow_read import read_columns
from gridmap.io.cut_names import bad_file, raw_read
from gridmap.io.encoding import decode_text, gdal_encoding, has_cpg, sniff_dbf_encoding

VECTOR_SUFFIXES = {".geojson", ".json", ".shp", ".gpkg", ".kml", ".gml", ".fgb", ".sqlite", ".zip"}
ZIP_SUFFIXES = {".zip", ".kmz"}  # KMZ (奥维互动地图, Google Earth): a zipped KML
CAD_SUFFIXES = {".dxf", ".dwg"}  # DWG only to say how to save it as DXF
KML_DRAWING = {"timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude", "visibility", "drawOrder", "icon"}  # fmt: skip
TABLE_SUFFIXES = {".csv", ".txt", ".tsv"}
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
MAX_UNZIPPED_MB = 500.0  # the default of GRIDMAP_MAX_UNZIPPED_MB


@dataclass(frozen=True)
class Limits:
    """How much one file may hold: features, and bytes once a zip is unpacked."""

    max_features: int | None = None
    max_unzipped_mb: float = MAX_UNZIPPED_MB


@dataclass
class RawTable:
    """A file's rows as read: original headers, geometry (if any) in the file's own CRS."""

    frame: pd.DataFrame
    geometry: np.ndarray | None  # shapely geometries, None where a row has none
    crs: pyproj.CRS | None
    row_numbers: np.ndarray  # what the user sees: CSV lines, Excel rows, or feature numbers
    encoding: str | None
    source_name: str
    problems: list[RowProblem] = field(default_factory=list)  # rows the reader already refused
    warnings: list[str] = field(default_factory=list)  # what the reader assumed or skipped


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise InputFileError(f"找不到文件 {path}。", f"File not found: {path}.")
    if path.is_file() and path.stat().st_size == 0:
        raise InputFileError(f"文件 {path.name} 是空的。", f"The file {path.name} is empty.")


def read_source(
    path: str | Path,
    *,
    encoding: str | None = None,
    source_layer: str | None = None,
    limits: Limits | None = None,
    sheet: str | None = None,
    known_headers: frozenset[str] = frozenset(),
) -> RawTable:
    """Read a vector file, a CSV table or a workbook's sheet into a :class:`RawTable`.

    Raises :class:`InputFileError` for missing, empty, truncated or unreadable files, files
    whose content is not what their suffix says, unsafe zips and files over ``limits``.
    ``sheet`` and ``known_headers`` (normalised headers of the layer) are for workbooks.
    """
    path = Path(path)
    limits = limits or Limits()
    _check_exists(path)
    suffix = path.suffix.lower()
    known = TABLE_SUFFIXES | VECTOR_SUFFIXES | SPREADSHEET_SUFFIXES | ZIP_SUFFIXES | CAD_SUFFIXES
    if suffix not in known and not path.is_dir():
        raise InputFileError(
            f"不支持的文件类型 {suffix}。支持 GeoJSON、Shapefile (含 zip)、GeoPackage、KML/KMZ、GML、"
            "CAD 图纸 (.dxf)、CSV 和 Excel/ODS 工作簿 (.xlsx、.xls、.ods)。",
            f"Unsupported file type {suffix}: use GeoJSON, Shapefile (or zip), GeoPackage, KML/KMZ, "
            "GML, a CAD drawing (.dxf), CSV or a workbook (.xlsx, .xls, .ods).",
        )
    if suffix in CAD_SUFFIXES and path.is_file():
        from gridmap.io.cad import read_cad  # the DXF rules only when a drawing comes

        return _checked(read_cad(path, encoding=encoding, source_layer=source_layer), path, limits)
    if suffix in SPREADSHEET_SUFFIXES and path.is_file():
        raw = _read_workbook(path, encoding, sheet or source_layer, known_headers, limits)
        return _checked(raw, path, limits)
    if path.is_file():
        check_content(path)
    if suffix in ZIP_SUFFIXES:
        with tempfile.TemporaryDirectory(prefix="gridmap-unzip-") as folder:
            max_bytes = int(limits.max_unzipped_mb * 2**20)
            member = unzip_layer(path, Path(folder), max_bytes=max_bytes, kmz=suffix == ".kmz")
            raw = read_source(member, encoding=encoding, source_layer=source_layer, limits=limits)
        raw.source_name = path.name
        return raw
    if suffix in TABLE_SUFFIXES:
        raw = _read_csv(path, encoding)
    else:
        raw = _read_vector(path, encoding, source_layer, limits.max_features)
    return _checked(raw, path, limits)


def _checked(raw: RawTable, path: Path, limits: Limits) -> RawTable:
    if len(raw.frame) == 0 and not raw.problems:
        raise InputFileError(
            f"文件 {path.name} 中没有任何数据行或要素。", f"{path.name} holds no rows or features."
        )
    if limits.max_features is not None and len(raw.frame) > limits.max_features:
        raise _too_many(path, len(raw.frame), limits.max_features)
    raw.problems += _nul_problems(raw)
    return raw


def _too_many(path: Path, count: int, limit: int) -> InputFileError:
    return InputFileError(
        f"文件 {path.name} 有 {count} 个要素，超过上限 {limit}。请分批导入或调整 GRIDMAP_MAX_UPLOAD_FEATURES。",
        f"{path.name} holds {count} features, more than the limit of {limit}. Split it, or raise "
        "GRIDMAP_MAX_UPLOAD_FEATURES.",
    )


TEXTUAL = ("string", "mixed", "mixed-integer")


def _nul_problems(raw: RawTable) -> list[RowProblem]:
    """Rows with a NUL character in a text cell: no database stores it, and no office means it."""
    if any("\x00" in str(c) for c in raw.frame.columns):
        raise InputFileError(
            f"文件 {raw.source_name} 的列名中有 NUL 控制字符。",
            f"A column name of {raw.source_name} holds a NUL character.",
        )
    problems = []
    for column in raw.frame.columns:
        values = raw.frame[column]
        if pd.api.types.infer_dtype(values, skipna=True) not in TEXTUAL:
            continue
        cells = values.to_numpy(dtype=object)
        try:  # the column at once: almost every file has no NUL at all
            joined = "".join(cells)
        except TypeError:  # blank cells, numbers among the text
            joined = "".join(v for v in cells if isinstance(v, str))
        if "\x00" not in joined:
            continue
        has_nul = np.array([isinstance(v, str) and "\x00" in v for v in cells], dtype=bool)
        for row in raw.row_numbers[has_nul]:
            problems.append(RowProblem(int(row), str(column), "含有 NUL 控制字符", "holds a NUL character"))  # fmt: skip
    return problems


# --- what a file really is -------------------------------------------------------------------

MAGIC = {
    b"PK\x03\x04": "zip",
    b"PK\x05\x06": "zip",
    b"SQLite format 3\x00": "sqlite",
    b"\x00\x00\x27\x0a": "shp",
    b"fgb\x03": "fgb",
    b"%PDF": "pdf",
    b"\x89PNG": "png",
    b"\xff\xd8\xff": "jpeg",
    b"\xd0\xcf\x11\xe0": "ole",  # old Excel (.xls) and Word files
}
EXPECTED = {
    ".zip": "zip", ".kmz": "zip", ".gpkg": "sqlite", ".sqlite": "sqlite", ".shp": "shp", ".fgb": "fgb",
    ".geojson": "json", ".json": "json", ".kml": "xml", ".gml": "xml",
    ".csv": "text", ".txt": "text", ".tsv": "text",
}  # fmt: skip
KIND_NAMES = {
    "zip": ("ZIP 压缩包", "a ZIP archive"), "sqlite": ("SQLite/GeoPackage 数据库", "a SQLite/GeoPackage database"),
    "shp": ("Shapefile (.shp)", "a shapefile (.shp)"), "fgb": ("FlatGeobuf", "FlatGeobuf"),
    "pdf": ("PDF 文档", "a PDF document"), "png": ("PNG 图片", "a PNG image"), "jpeg": ("JPEG 图片", "a JPEG image"),
    "ole": ("Excel (.xls) 或 Word 文档", "an Excel (.xls) or Word document"),
    "json": ("JSON 文本", "JSON text"), "xml": ("XML 文本", "XML text"), "text": ("文本表格", "a text table"),
    "binary": ("二进制数据", "binary data"),
}  # fmt: skip


def sniff_kind(head: bytes) -> str:
    """What the first bytes of a file say it is: a key of :data:`KIND_NAMES`.

    >>> sniff_kind(b"PK\\x03\\x04..."), sniff_kind(b'\\xef\\xbb\\xbf  {"type": 1}'), sniff_kind(b"a,b\\n")
    ('zip', 'json', 'text')
    """
    for magic, kind in MAGIC.items():
        if head.startswith(magic):
            return kind
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text[:1] in (b"{", b"["):
        return "json"
    if text[:1] == b"<":
        return "xml"
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "binary"
    return "text"


def check_content(path: Path) -> None:
    """Refuse a file whose content is not what its suffix says (a .geojson that is a zip …)."""
    with path.open("rb") as f:
        head = f.read(4096)
    kind, expected = sniff_kind(head), EXPECTED.get(path.suffix.lower())
    if expected is None or kind == expected:
        return
    if expected == "text" and kind in ("json", "xml"):
        return  # a table may well start with a brace or a bracket; only binary content is wrong
    zh, en = KIND_NAMES[kind]
    want_zh, want_en = KIND_NAMES[expected]
    raise InputFileError(
        f"文件 {path.name} 的内容是{zh}，而扩展名 {path.suffix} 表示{want_zh}。"
        "请确认文件或改正扩展名。",
        f"{path.name} holds {en}, but its suffix {path.suffix} says {want_en}. "
        "Check the file or correct its suffix.",
    )


# --- workbooks ------------------------------------------------------------------------------


def _read_workbook(
    path: Path, encoding: str | None, sheet: str | None, known: frozenset[str], limits: Limits
) -> RawTable:
    """A workbook's sheet; a text table saved under a workbook's name is read as the CSV it is."""
    with path.open("rb") as f:
        kind = sniff_kind(f.read(4096))
    if kind == "text":
        raw = _read_csv(path, encoding)
        raw.warnings.append(
            f"{path.name} 实际是文本表格 (CSV)，不是 Excel 工作簿，已按 CSV 读取 (编码 {raw.encoding})"
            f"。建议把扩展名改为 .csv / {path.name} is a text (CSV) table, not a workbook: read as CSV"
        )
        return raw
    if kind == "xml":
        raise InputFileError(
            f"文件 {path.name} 是网页 (HTML) 或 XML 格式的表格，不是 Excel 工作簿。"
            "请在 Excel/WPS 中打开，另存为 .xlsx 后再导入。",
            f"{path.name} is an HTML or XML table, not an Excel workbook. Open it in Excel or WPS, "
            "save it as .xlsx and load that.",
        )
    if kind not in ("zip", "ole"):
        zh, en = KIND_NAMES[kind]
        raise InputFileError(
            f"文件 {path.name} 的内容是{zh}，而扩展名 {path.suffix} 表示 Excel/ODS 工作簿。"
            "请确认文件或改正扩展名。",
            f"{path.name} holds {en}, but its suffix {path.suffix} says a workbook. Check the "
            "file or correct its suffix.",
        )
    from gridmap.io.spreadsheet import read_spreadsheet  # calamine only when a workbook comes

    return read_spreadsheet(
        path, sheet=sheet, known=known, max_unzipped_bytes=int(limits.max_unzipped_mb * 2**20)
    )


# --- vector files ------------------------------------------------------------------------


def _shapefile_encoding(path: Path, encoding: str | None) -> str | None:
    """The encoding to hand GDAL for a shapefile: the user's, the .cpg's (None), or sniffed."""
    if encoding:
        return gdal_encoding(encoding)
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


def _read_vector(
    path: Path, encoding: str | None, source_layer: str | None, max_features: int | None
) -> RawTable:
    gdal_path = str(path)
    enc = _shapefile_encoding(path, encoding)
    warnings: list[str] = []
    try:
        layers = pyogrio.list_layers(gdal_path)
        if source_layer is None and len(layers) > 1:
            names = ", ".join(str(n) for n in layers[:, 0])
            raise InputFileError(
                f"文件中有多个图层 ({names})，请用 --source-layer 指定要导入的图层。",
                f"The file has several layers ({names}); choose one with --source-layer.",
            )
        kwargs = {"encoding": enc} if enc else {}
        if max_features is not None:  # counted before reading: a huge file is refused cheaply
            info = pyogrio.read_info(gdal_path, layer=source_layer, **kwargs)
            count = info["features"]  # -1 when the driver cannot tell without reading
            if count > max_features:
                raise _too_many(path, count, max_features)
        columns = read_columns(gdal_path, source_layer, kwargs)
        if columns is None:  # a field of a type the Arrow stream is not read for (dates …)
            columns = raw_read(path, source_layer, kwargs, warnings)
        meta, wkb, fields = columns
    except InputFileError:
        raise
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise bad_file(path, exc) from exc
    frame = pd.DataFrame(
        {name: values for name, values in zip(meta["fields"], fields, strict=True)}
    )
    if path.suffix.lower() == ".kml":  # LIBKML's drawing fields, and the id no Placemark has
        drop = [c for c in frame if c in KML_DRAWING or (c == "id" and frame[c].isna().all())]
        frame = frame.drop(columns=drop)
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
        warnings=warnings,
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

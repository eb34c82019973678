"""A vector file read feature by feature (``pyogrio.raw.read``), shapefiles with cut names too.

A .dbf keeps 10 bytes of a field's name. A UTF-8 shapefile's Chinese name longer than three
characters ends in the middle of one ('楼栋名称' → '楼栋名' and a stray byte), and neither GDAL's
readers nor pyogrio decode it: the read ends in a ``UnicodeDecodeError``. QGIS shows such names
with a broken last character; gridmap reads the file byte for byte and drops the stray bytes.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pyogrio

from gridmap.errors import InputFileError


def bad_file(path: Path, exc: Exception) -> InputFileError:
    return InputFileError(
        f"无法读取文件 {path.name}：格式错误或文件不完整 (可能被截断)。请确认文件完整后重试。",
        f"Cannot read {path.name}: malformed or incomplete (truncated?) file. ({exc})",
    )


def raw_read(path: Path, source_layer: str | None, kwargs: dict, warnings: list[str]):
    """``(meta, wkb, fields)`` through ``pyogrio.raw.read``. A .dbf keeps 10 bytes of a field's
    name, so a UTF-8 shapefile's Chinese name longer than three characters ends in the middle
    of one ('楼栋名称' → '楼栋名' and a stray byte), which no reader decodes: such a file is read
    byte for byte (Latin-1 keeps every byte) and decoded here, the names without their stray
    bytes, with a warning naming them."""
    try:
        meta, _fids, wkb, fields = pyogrio.raw.read(str(path), layer=source_layer, **kwargs)
        return meta, wkb, fields
    except UnicodeDecodeError as error:
        if path.suffix.lower() != ".shp":
            raise bad_file(path, error) from error
    real = kwargs.get("encoding") or _cpg_encoding(path)
    meta, _fids, wkb, fields = pyogrio.raw.read(str(path), layer=source_layer, encoding="latin1")
    names = [name.encode("latin1").decode(real, errors="ignore") for name in meta["fields"]]
    cut = [n for n, raw in zip(names, meta["fields"], strict=True) if n.encode(real) != raw.encode("latin1")]  # fmt: skip
    if len(set(names)) < len(names):
        raise InputFileError(
            f"{path.name} 中有字段名被截断后重名 ({', '.join(cut)})：请在 QGIS 中另存为 GeoPackage 后再导入。",
            f"{path.name} has field names cut to the same name ({', '.join(cut)}): save it as a GeoPackage in QGIS and load that.",
        )  # fmt: skip
    warnings.append(
        f"字段名被 Shapefile 截断，已去掉残缺的字：{', '.join(cut)} / field names cut short by the shapefile format, their broken last character dropped: {', '.join(cut)}"
    )  # fmt: skip
    fields = [_transcoded(values, real) for values in fields]
    return {**meta, "fields": np.array(names, dtype=object), "encoding": real}, wkb, fields


def _transcoded(values: np.ndarray, encoding: str) -> np.ndarray:
    if values.dtype != object:
        return values
    out = np.empty(len(values), dtype=object)
    out[:] = [v.encode("latin1").decode(encoding, errors="replace") if isinstance(v, str) else v for v in values]  # fmt: skip
    return out


def _cpg_encoding(path: Path) -> str:
    """The encoding a shapefile's .cpg names (UTF-8 when it names none Python knows)."""
    for suffix in (".cpg", ".CPG"):
        cpg = path.with_suffix(suffix)
        if cpg.exists():
            name = cpg.read_text("ascii", errors="ignore").strip()
            try:
                return codecs.lookup(name).name
            except LookupError:
                break
    return "utf-8"

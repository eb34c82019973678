"""Text encodings of the files offices really have: UTF-8 (with or without BOM) and GBK/GB18030.

A shapefile written by Chinese desktop GIS often has GBK attributes and no ``.cpg`` file, and its
DBF language-driver byte is 0; GDAL then guesses ISO-8859-1 and the Chinese comes out garbled. So
the DBF bytes are sniffed here: what decodes as UTF-8 is UTF-8, else GB18030 (a superset of GBK).

Examples
--------
>>> detect_text_encoding("社区".encode("gbk"))
'gb18030'
>>> detect_text_encoding("\\ufeff社区".encode("utf-8"))
'utf-8-sig'
"""

from __future__ import annotations

import struct
from pathlib import Path

from gridmap.errors import InputFileError

_ALIASES = {
    "utf8": "utf-8", "utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gbk": "gb18030",
    "gb2312": "gb18030", "gb18030": "gb18030", "cp936": "gb18030", "936": "gb18030",
}  # fmt: skip


def normalise_encoding(name: str) -> str:
    """A user's ``--encoding`` as a Python codec name (GBK and GB2312 read as GB18030)."""
    key = name.strip().lower().replace("_", "-")
    if key in _ALIASES:
        return _ALIASES[key]
    try:
        import codecs

        return codecs.lookup(key).name
    except LookupError as exc:
        raise InputFileError(
            f"未知的编码 “{name}”，可用 utf-8 或 gbk。",
            f"Unknown encoding '{name}'; use utf-8 or gbk.",
        ) from exc


def _truncated_utf8(data: bytes, error: UnicodeDecodeError) -> bool:
    # An incomplete multi-byte character in the last 3 bytes means the file was cut off.
    return error.reason == "unexpected end of data" and error.start >= len(data) - 3


def detect_text_encoding(data: bytes) -> str:
    """``utf-8-sig``, ``utf-8`` or ``gb18030`` for the bytes of a text file.

    Raises :class:`InputFileError` when the file ends inside a UTF-8 character (truncated) or
    decodes as neither.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        if _truncated_utf8(data, error):
            raise InputFileError(
                "文件末尾不完整，可能在复制或下载时被截断。请重新导出文件。",
                "The file ends in the middle of a character: it looks truncated. Export it again.",
            ) from error
    try:
        data.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError as error:
        raise InputFileError(
            "无法识别文件编码 (既不是 UTF-8 也不是 GBK)。请用 --encoding 指定。",
            "Cannot tell the text encoding (neither UTF-8 nor GBK); give --encoding.",
        ) from error


def decode_text(data: bytes, encoding: str | None) -> tuple[str, str]:
    """Decode a text file strictly; returns ``(text, encoding_used)``.

    A wrong ``--encoding`` is reported with the line where decoding failed.
    """
    used = normalise_encoding(encoding) if encoding else detect_text_encoding(data)
    try:
        return data.decode(used), used
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputFileError(
            f"按 {used} 无法解码第 {line} 行。请检查 --encoding (常见为 utf-8 或 gbk)。",
            f"Line {line} cannot be decoded as {used}; check --encoding (utf-8 or gbk).",
        ) from error


def dbf_text_bytes(dbf: bytes) -> bytes:
    """The record bytes of a DBF file (everything after its header), for sniffing."""
    if len(dbf) < 32:
        raise InputFileError(
            "DBF 属性文件不完整或已损坏。", "The .dbf attribute file is truncated or damaged."
        )
    header_len = struct.unpack("<H", dbf[8:10])[0]
    return dbf[header_len:].rstrip(b"\x1a")


def dbf_field_name_bytes(dbf: bytes) -> bytes:
    """The field names of a DBF header (they may be Chinese too)."""
    header_len = struct.unpack("<H", dbf[8:10])[0]
    return dbf[32:header_len]


def sniff_dbf_encoding(dbf: bytes) -> str:
    """GDAL's name of the encoding of a DBF's text: ``UTF-8`` or ``GB18030``."""
    sample = dbf_field_name_bytes(dbf) + dbf_text_bytes(dbf)
    try:
        sample.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("gb18030")
        return "GB18030"
    except UnicodeDecodeError as error:
        raise InputFileError(
            "无法识别 Shapefile 属性表的编码。请用 --encoding 指定 (如 gbk)。",
            "Cannot tell the encoding of the shapefile's attributes; give --encoding (e.g. gbk).",
        ) from error


def gdal_encoding(name: str) -> str:
    """A Python codec name as GDAL/iconv spells it."""
    codec = normalise_encoding(name)
    return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "gb18030": "GB18030"}.get(codec, codec.upper())


def has_cpg(shp: Path) -> bool:
    return any(shp.with_suffix(s).exists() for s in (".cpg", ".CPG"))

"""Uploaded files onto disk: under a safe name, never more than ``max_upload_mb``.

The file keeps the name the user gave it (so messages name *their* file), reduced to its last
path component; names that cannot be a file name here fall back to ``upload`` + the suffix.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from fastapi import UploadFile

from gridmap.api.routes.params import too_large

CHUNK = 1 << 20


def upload_name(filename: str | None, default_suffix: str = ".geojson") -> str:
    """The user's file name without any folders, or ``upload.<suffix>`` if it is unusable.

    >>> upload_name("../../网格方案.GeoJSON"), upload_name("C:\\\\tmp\\\\a.zip"), upload_name("x\\x00.zip")
    ('网格方案.GeoJSON', 'a.zip', 'upload.zip')
    """
    name = PurePosixPath(PureWindowsPath(filename or "").name).name.strip()
    suffix = PurePosixPath(name).suffix.lower() if name else ""
    if "\x00" in suffix or len(suffix) > 10:
        suffix = ""
    unusable = (
        not name
        or name.startswith(".")
        or any(ord(c) < 32 for c in name)
        or len(name.encode("utf-8", "replace")) > 200
    )
    return f"upload{suffix or default_suffix}" if unusable else name


def save_upload(file: UploadFile, folder: Path, max_bytes: int) -> Path:
    """Copy ``file`` into ``folder``; a 413 as soon as it is larger than ``max_bytes``."""
    if file.size is not None and file.size > max_bytes:
        raise too_large(max_bytes)
    path = folder / upload_name(file.filename)
    written = 0
    with path.open("wb") as out:
        while chunk := file.file.read(CHUNK):
            written += len(chunk)
            if written > max_bytes:
                raise too_large(max_bytes)
            out.write(chunk)
    return path

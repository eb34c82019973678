"""Unpack the one layer a zip holds, refusing archives that are unsafe to unpack.

Offices send shapefiles zipped; a KMZ (奥维互动地图, Google Earth) is a zipped KML, whose main
file is ``doc.kml`` or else the first KML of the archive. A zip from outside may also be a zip bomb (a few kilobytes that
unpack to gigabytes) or carry members named ``../../x.shp`` that would land outside the folder
they are unpacked into. Both are refused before anything is written: every member's name is
checked, and the declared sizes are added up; while unpacking, the bytes actually written are
counted too, so a zip that lies about its sizes is stopped at the same limit. Members are
written under names chosen here, never under the names the archive gives.

Examples
--------
>>> import tempfile, zipfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> with zipfile.ZipFile(folder / "grid.zip", "w") as zf:
...     zf.writestr("网格/grid.geojson", '{"type": "FeatureCollection", "features": []}')
>>> unzip_layer(folder / "grid.zip", folder / "out", max_bytes=1_000_000).name
'grid.geojson'
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath

from gridmap.errors import InputFileError

LAYER_SUFFIXES = {".shp", ".gpkg", ".geojson", ".json", ".kml"}
MAX_MEMBERS = 1000  # a zipped shapefile has fewer than ten; thousands of entries are no layer
CHUNK = 1 << 20


def _unsafe(name: str) -> bool:
    """A member name that is absolute or climbs out of the folder (``..``), in either notation."""
    for pure in (PurePosixPath(name), PureWindowsPath(name)):
        if pure.is_absolute() or pure.drive or ".." in pure.parts:
            return True
    return "\x00" in name


def _bad_zip(path: Path, exc: Exception) -> InputFileError:
    return InputFileError(
        f"无法读取压缩包 {path.name}：文件损坏、被截断或已加密。",
        f"Cannot read the zip {path.name}: damaged, truncated or encrypted. ({exc})",
    )


def _kml_member(path: Path, files: list[zipfile.ZipInfo]) -> tuple[str, list[zipfile.ZipInfo]]:
    """A KMZ's main KML: ``doc.kml`` at its root, else the first KML it lists (images stay)."""
    kmls = [i for i in files if PurePosixPath(i.filename).suffix.lower() == ".kml"]
    if not kmls:
        raise InputFileError(
            f"KMZ 文件 {path.name} 中没有 KML 文件，可能已损坏。请在奥维或 Google Earth 中重新导出。",
            f"The KMZ {path.name} holds no KML file (damaged?). Export it again from the map app.",
        )
    main = next((i for i in kmls if i.filename.lower() == "doc.kml"), kmls[0])
    return PurePosixPath(main.filename).name, [main]


def _layer_members(
    path: Path, infos: list[zipfile.ZipInfo], kmz: bool = False
) -> tuple[str, list[zipfile.ZipInfo]]:
    """The one layer file in the archive and the members that belong to it (its sidecars)."""
    files = [i for i in infos if not i.is_dir() and not i.filename.startswith("__MACOSX")]
    if kmz:
        return _kml_member(path, files)
    layers = [i for i in files if PurePosixPath(i.filename).suffix.lower() in LAYER_SUFFIXES]
    if len(layers) != 1:
        found = ", ".join(i.filename for i in layers) or "无 none"
        raise InputFileError(
            f"压缩包 {path.name} 中应恰好有一个图层文件 (.shp/.gpkg/.geojson)，实际找到: {found}。",
            f"The zip {path.name} must hold exactly one layer file (.shp/.gpkg/.geojson); "
            f"found: {found}.",
        )
    layer = PurePosixPath(layers[0].filename)
    if layer.suffix.lower() != ".shp":
        return layer.name, layers
    # a shapefile is the .shp and every file beside it with the same name: .shx, .dbf, .prj, .cpg
    stem = str(layer.with_suffix("")).lower()
    sidecars = [i for i in files if str(PurePosixPath(i.filename).with_suffix("")).lower() == stem]
    return layer.name, sidecars


def unzip_layer(path: Path, folder: Path, *, max_bytes: int, kmz: bool = False) -> Path:
    """Unpack the layer file of zip ``path`` (with its sidecars) into ``folder``; return it.

    With ``kmz``, the archive is a KMZ and its main KML is the layer file.

    Raises :class:`InputFileError` for damaged zips, members with unsafe paths, archives whose
    contents exceed ``max_bytes`` once unpacked, and zips without exactly one layer file.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise InputFileError(
                    f"压缩包 {path.name} 中有 {len(infos)} 个文件，太多了 (最多 {MAX_MEMBERS})。",
                    f"The zip {path.name} holds {len(infos)} files; at most {MAX_MEMBERS} are accepted.",
                )
            unsafe = [i.filename for i in infos if _unsafe(i.filename)]
            if unsafe:
                raise InputFileError(
                    f"压缩包 {path.name} 中的文件路径不安全 (绝对路径或含 ..): {', '.join(unsafe[:5])}。"
                    "未解压任何文件。",
                    f"The zip {path.name} has members with unsafe paths (absolute or with ..): "
                    f"{', '.join(unsafe[:5])}. Nothing was unpacked.",
                )
            declared = sum(i.file_size for i in infos)
            if declared > max_bytes:
                raise _too_big(path, max_bytes)
            name, members = _layer_members(path, infos, kmz)
            folder.mkdir(parents=True, exist_ok=True)
            written = 0
            stem = Path(name).stem
            for info in members:
                target = folder / (stem + PurePosixPath(info.filename).suffix.lower())
                with zf.open(info) as source, target.open("wb") as out:
                    while chunk := source.read(CHUNK):
                        written += len(chunk)
                        if written > max_bytes:
                            raise _too_big(path, max_bytes)
                        out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, EOFError) as exc:
        raise _bad_zip(path, exc) from exc
    return folder / (stem + Path(name).suffix.lower())


def _too_big(path: Path, max_bytes: int) -> InputFileError:
    limit = f"{max_bytes / 2**20:g} MB"
    return InputFileError(
        f"压缩包 {path.name} 解压后超过 {limit}，已拒绝 (可能是压缩炸弹)。"
        "如确需导入更大的文件，请调整 GRIDMAP_MAX_UNZIPPED_MB。",
        f"The zip {path.name} unpacks to more than {limit} and was refused (a zip bomb?). "
        "Raise GRIDMAP_MAX_UNZIPPED_MB for larger files.",
    )

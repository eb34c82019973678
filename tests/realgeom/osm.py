"""The OpenStreetMap footprints and streets of geodata/osm/, moved to a Chinese city.

The files keep the geometries byte for byte as mapped, nine of them rings GEOS cannot even read;
moving them is done on the WKB itself so those stay exactly as broken as they were.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from pyogrio.raw import read, write

OSM = Path(__file__).resolve().parents[2] / "geodata" / "osm"
BUILDINGS = OSM / "buildings.gpkg"
STREETS = OSM / "streets.gpkg"
# each extract's centre → a place in Chengdu, the two about 5 km apart; degrees of longitude are
# about 1.7 times longer there than in Finland, so x is squeezed to keep the shapes' proportions
CENTRES = {
    "Helsinki.osm.pbf": ((24.9443, 60.1716), (104.0665, 30.6570)),
    "test.osm.pbf": ((26.9500, 60.5300), (104.1200, 30.6700)),
}


def move_xy(x, y, extract: str = "Helsinki.osm.pbf"):
    """Finnish degrees → Chengdu degrees (shape and size kept within ~1 %)."""
    (x0, y0), (x1, y1) = CENTRES[extract]
    scale = np.cos(np.radians(y0)) / np.cos(np.radians(y1))
    return x1 + (np.asarray(x) - x0) * scale, y1 + (np.asarray(y) - y0)


def _move_wkb(blob: bytes, offset: int, out: bytearray, extract: str) -> int:
    """Copy one WKB geometry at ``offset`` into ``out`` with its points moved; returns the end."""
    order = "<" if blob[offset] == 1 else ">"
    (kind,) = struct.unpack_from(order + "I", blob, offset + 1)
    out += blob[offset : offset + 5]
    offset += 5
    dims = 3 if (kind // 1000) in (1, 2) else 4 if kind // 1000 == 3 else 2
    base = kind % 1000

    def points(n: int) -> None:
        nonlocal offset
        for _ in range(n):
            values = list(struct.unpack_from(order + "d" * dims, blob, offset))
            x, y = move_xy(values[0], values[1], extract)
            values[0], values[1] = float(x), float(y)
            out.extend(struct.pack(order + "d" * dims, *values))
            offset += 8 * dims

    def count() -> int:
        nonlocal offset
        (n,) = struct.unpack_from(order + "I", blob, offset)
        out.extend(blob[offset : offset + 4])
        offset += 4
        return n

    if base == 1:
        points(1)
    elif base == 2:
        points(count())
    elif base == 3:
        for _ in range(count()):
            points(count())
    elif base in (4, 5, 6, 7):
        for _ in range(count()):
            offset = _move_wkb(blob, offset, out, extract)
    else:
        raise ValueError(f"WKB type {kind}")
    return offset


def move_wkb(blob: bytes, extract: str) -> bytes:
    out = bytearray()
    _move_wkb(bytes(blob), 0, out, extract)
    return bytes(out)


def read_raw(path: Path):
    """(wkb array, {column: values}) of one of the files, as stored."""
    meta, _, wkb, fields = read(path)
    return wkb, dict(zip(meta["fields"], fields, strict=True))


def write_buildings(path: Path, which: np.ndarray | None = None, households=None) -> Path:
    """The footprints (all, or rows ``which``), moved to Chengdu, as a building layer file:
    code = osm_id, households from ``households`` (default: 1 + row number % 40)."""
    wkb, cols = read_raw(BUILDINGS)
    rows = np.arange(len(wkb)) if which is None else np.asarray(which)
    moved = np.array([move_wkb(wkb[i], cols["extract"][i]) for i in rows], dtype=object)
    if households is None:
        households = 1 + rows % 40
    data = [
        np.asarray(cols["osm_id"][rows], dtype=object),
        np.asarray(cols["name"][rows], dtype=object),
        np.asarray(households, dtype=np.int64),
        np.asarray(cols["building"][rows], dtype=object),
    ]
    write(path, moved, data, ["code", "name", "households", "building"], layer="buildings",
          driver="GPKG", geometry_type="MultiPolygon", crs="EPSG:4326")  # fmt: skip
    return path


def footprints(extract: str | None = None):
    """The footprints moved to Chengdu as a GeoDataFrame (EPSG:4326), unrepaired; the nine GEOS
    cannot read are None. Columns: code (osm_id), building, extract, households, row (in the
    file)."""
    import geopandas as gpd
    import shapely

    wkb, cols = read_raw(BUILDINGS)
    rows = np.arange(len(wkb))
    if extract is not None:
        rows = rows[cols["extract"] == extract]
    moved = [move_wkb(wkb[i], cols["extract"][i]) for i in rows]
    geoms = shapely.from_wkb(moved, on_invalid="ignore")
    return gpd.GeoDataFrame(
        {
            "code": cols["osm_id"][rows].astype(str),
            "building": cols["building"][rows],
            "extract": cols["extract"][rows],
            "households": 1 + rows % 40,
            "row": rows,
        },
        geometry=list(geoms),
        crs=4326,
    )


def streets(extract: str = "Helsinki.osm.pbf"):
    """The street lines of one extract moved to Chengdu (EPSG:4326)."""
    import geopandas as gpd
    import shapely

    wkb, cols = read_raw(STREETS)
    rows = np.flatnonzero(cols["extract"] == extract)

    def move(coords):
        x, y = move_xy(coords[:, 0], coords[:, 1], extract)
        return np.column_stack([x, y])

    geoms = shapely.transform(shapely.from_wkb(wkb[rows]), move)
    return gpd.GeoDataFrame(
        {"code": cols["osm_id"][rows].astype(str), "highway": cols["highway"][rows]},
        geometry=list(geoms),
        crs=4326,
    )

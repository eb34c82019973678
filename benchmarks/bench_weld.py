"""Welding benchmark: ``weld_all`` on a plan painted from irregular units, as the editor asks for it
(``POST /api/plans/{id}/topology/weld``) each time it opens a plan.

The plan: a seeded Voronoi tessellation of ``--units`` points in a square of 14 km, its borders
digitised with a vertex every ``--step`` metres (the same vertices on both sides), each tile cut
in two by a chord between the middles of two of its edges — so that a unit's corner lies on its
neighbour's edge without being its vertex, as units left by the fabric's overlays do — and the
halves dissolved about ``--per-cell`` at a time (those nearest the same seeded site) into cells
with :func:`shapely.union_all`, moved to near 104°E 30.6°N (EPSG:4326, as plans are stored) as
one-part MultiPolygons. Cells then meet in T-junctions, which ``weld_all`` resolves. At the
defaults: about 3,000 cells and 320,000 vertices.

    .venv/bin/python benchmarks/bench_weld.py [--units 30000] [--per-cell 10] [--step 10] [--repeat 5]
        [--seed 20261207] [--old PATH]

``--old PATH``: a checkout (or ``git archive``) of gridmap to time against; the two are run
interleaved on the same plan and their answers compared (same codes, each geometry
``equals_exact`` with tolerance 0, so the same vertices in the same order).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gridmap.core.coverage_edit import weld_all  # noqa: E402

WELD_DEGREES = 2e-8  # as gridmap/api/routes/plans/topology.py welds
X0, Y0 = 104.0, 30.6  # the south-west corner, degrees
SIZE_M = 14_000.0
GRID_M = 1 / 64
METRES_PER_DEGREE = 111_000.0


def halves(tiles: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each tile cut in two by a chord between the middles of two of its edges, half its ring
    apart (seeded); a tile whose halves would not both be sound polygons is left whole."""
    out = []
    for tile in tiles:
        ring = shapely.get_coordinates(tile.exterior)[:-1]
        n = len(ring)
        a = int(rng.integers(n // 2))
        b = a + n // 2
        mid_a, mid_b = (ring[a] + ring[(a + 1) % n]) / 2, (ring[b] + ring[(b + 1) % n]) / 2
        cut = [shapely.Polygon([mid_a, *ring[a + 1 : b + 1], mid_b]),
               shapely.Polygon([mid_b, *ring[b + 1 :], *ring[: a + 1], mid_a])]  # fmt: skip
        sound = all(p.is_valid and p.area > 0.01 * tile.area for p in cut)
        out.extend(cut if sound else [tile])
    return np.array(out, dtype=object)


def painted_plan(n_units: int, per_cell: int, step_m: float, seed: int) -> gpd.GeoDataFrame:
    """The cells of a plan painted from irregular units (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    square = shapely.box(0, 0, SIZE_M, SIZE_M)
    points = rng.uniform(0, SIZE_M, (n_units // 2, 2))
    tiles = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=square))  # fmt: skip
    edges = shapely.segmentize(shapely.union_all(shapely.boundary(shapely.intersection(tiles, square))), step_m)  # fmt: skip
    # on a grid of 1/64 m the middle of an edge lies on it exactly, so that units are noded
    # exactly and their dissolves keep no pin holes
    edges = shapely.set_precision(edges, GRID_M)
    units = halves(shapely.normalize(shapely.get_parts(shapely.polygonize(shapely.get_parts(edges)))), rng)  # fmt: skip
    n_cells = max(2, len(units) // per_cell)
    sites = shapely.points(rng.uniform(0, SIZE_M, (n_cells, 2)))
    unit, site = shapely.STRtree(sites).query_nearest(shapely.centroid(units), all_matches=False)
    cell_of = np.empty(len(units), dtype=int)
    cell_of[unit] = site
    order = np.argsort(cell_of, kind="stable")
    kept, starts = np.unique(cell_of[order], return_index=True)
    groups = np.split(order, starts[1:])
    cells = shapely.transform(np.array([shapely.union_all(units[g]) for g in groups], dtype=object), to_degrees)  # fmt: skip
    cells = [shapely.MultiPolygon(shapely.get_parts(c)) for c in cells]
    codes = [f"G{k:05d}" for k in kept]
    return gpd.GeoDataFrame({"code": codes}, geometry=cells, crs=4326)


def to_degrees(xy: np.ndarray) -> np.ndarray:
    return np.array([X0, Y0]) + xy / np.array([METRES_PER_DEGREE * np.cos(np.radians(Y0)), METRES_PER_DEGREE])  # fmt: skip


def old_weld_all(path: Path):
    """``weld_all`` of the gridmap at ``path``, imported under another name."""
    name = "gridmap_old"
    spec = importlib.util.spec_from_file_location(name, path / "gridmap" / "__init__.py", submodule_search_locations=[str(path / "gridmap")])  # fmt: skip
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return importlib.import_module(f"{name}.core.coverage_edit").weld_all


def timed(fn, cells: gpd.GeoDataFrame) -> tuple[float, dict]:
    started = time.perf_counter()
    answer = fn(cells, WELD_DEGREES)
    return time.perf_counter() - started, answer


def differences(a: dict, b: dict) -> int:
    """How many cells the two answers differ on (a code in one only, or another geometry)."""
    return len(a.keys() ^ b.keys()) + sum(not shapely.equals_exact(a[c], b[c], 0.0) for c in a.keys() & b.keys())  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=30_000)
    parser.add_argument("--per-cell", type=int, default=10)
    parser.add_argument("--step", type=float, default=10.0, help="metres between border vertices")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--old", type=Path, help="a gridmap checkout to compare with")
    args = parser.parse_args()
    started = time.perf_counter()
    cells = painted_plan(args.units, args.per_cell, args.step, args.seed)
    n_vertices = len(shapely.get_coordinates(cells.geometry.values))
    print(f"plan: {len(cells):,} cells, {n_vertices:,} vertices, made in {time.perf_counter() - started:.1f} s")  # fmt: skip
    runs = {"new": weld_all} | ({"old": old_weld_all(args.old)} if args.old else {})
    times: dict[str, list[float]] = {name: [] for name in runs}
    answers: dict[str, dict] = {}
    for i in range(args.repeat):
        for name in list(runs)[:: 1 if i % 2 == 0 else -1]:  # interleaved against drift
            elapsed, answers[name] = timed(runs[name], cells)
            times[name].append(elapsed)
    for name, spent in times.items():
        print(f"{name}: weld_all median {statistics.median(spent):.3f} s over {len(spent)} runs (min {min(spent):.3f}), {len(answers[name]):,} cells welded")  # fmt: skip
    print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    if args.old:
        print(f"cells whose answer differs between old and new: {differences(answers['old'], answers['new'])}")  # fmt: skip


if __name__ == "__main__":
    main()

"""多网合一 benchmark: the whole ``integrate`` vs the bare geopandas operations it cannot avoid.

Seeded synthetic city (100 communities, 2,000 Party grids, 3,000 departmental cells, 20,000
compounds, 200,000 buildings). Measured in one run (``integrate`` builds the unified grid in a
second process and puts its large GEOS calls on a second thread when the machine has two cores;
``--one-core`` keeps it all in one thread), each step timed with ``time.perf_counter``, peak memory
with ``resource`` (this process and its largest child), and the load average of the machine before
and after (the figures mean little on a machine busy with other work):

- peer: ``geopandas.overlay`` of the two grid layers + ``geopandas.sjoin`` of buildings to grids
  (in the same metric CRS);
- gridmap: ``gridmap.core.integrate.integrate`` (topology checks of every layer, hierarchy, unified
  grid, figures, crosswalk, disagreements).

    .venv/bin/python -m benchmarks.bench_integrate [--rounds 3] [--scale 1.0] [--one-core]
        [--irregular]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import geopandas as gpd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.synthcity import city_at
from gridmap.config import Settings
from gridmap.core import parallel
from gridmap.core.integrate import Layers, integrate
from gridmap.crs import metric_crs_for


def bare(city: dict) -> float:
    """The unavoidable geopandas work: overlay of the two grid layers, sjoin buildings → grids."""
    start = time.perf_counter()
    crs = metric_crs_for(city["community"])
    party, dept = city["grid_party"].to_crs(crs), city["grid_dept"].to_crs(crs)
    buildings = city["building"].to_crs(crs)
    gpd.overlay(party[["code", "geometry"]], dept[["code", "geometry"]], how="intersection")
    gpd.sjoin(buildings[["geometry"]], party[["geometry"]], predicate="intersects")
    return time.perf_counter() - start


def ours(city: dict, settings: Settings) -> tuple[float, dict]:
    layers = Layers(city["community"], city["compound"], city["building"],
                    {"party": city["grid_party"], "dept": city["grid_dept"]})  # fmt: skip
    start = time.perf_counter()
    result = integrate(layers, settings)
    return time.perf_counter() - start, result.summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument(
        "--irregular",
        action="store_true",
        help="real-like shapes: warped streets, turned buildings, cells digitised independently",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full city")
    parser.add_argument(
        "--one-core", action="store_true", help="keep integrate in one process and one thread"
    )
    args = parser.parse_args()
    if args.one_core:
        parallel.MIN_GEOMETRIES = sys.maxsize  # no input is large enough to be split
        parallel.MIN_FORK_GEOMETRIES = sys.maxsize
    city = city_at(args.scale, args.seed, members=0, irregular=args.irregular)
    sizes = ", ".join(f"{k} {len(v):,}" for k, v in city.items())
    peers, mine = [], []
    summary = {}
    load_before = os.getloadavg()
    for _ in range(args.rounds):
        peers.append(bare(city))
        took, summary = ours(city, Settings())
        mine.append(took)
    load_after = os.getloadavg()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    ratios = [m / p for m, p in zip(mine, peers, strict=True)]
    cores = "one core" if args.one_core else f"{os.cpu_count()} cores (two processes)"
    shapes = "irregular shapes" if args.irregular else "rectangles"
    print(f"synthetic city ({shapes}): {sizes}; {args.rounds} rounds; integrate on {cores}")
    print("load average (1, 5, 15 min) before: {:.2f} {:.2f} {:.2f}".format(*load_before))
    print("load average (1, 5, 15 min) after:  {:.2f} {:.2f} {:.2f}".format(*load_after))
    rounds = ", ".join(f"{p:.2f}/{m:.2f} s" for p, m in zip(peers, mine, strict=True))
    print(f"rounds (bare/integrate): {rounds}\n")
    print("| step | median | min–max |")
    print("|---|---|---|")
    print(
        f"| bare geopandas (overlay 2 grid layers + sjoin buildings) | {statistics.median(peers):.1f} s | {min(peers):.1f}–{max(peers):.1f} s |"
    )
    print(
        f"| gridmap integrate (whole) | {statistics.median(mine):.1f} s | {min(mine):.1f}–{max(mine):.1f} s |"
    )
    print(f"| ratio | {statistics.median(ratios):.2f}× | {min(ratios):.2f}–{max(ratios):.2f}× |")
    print(
        f"\npeak memory of the process: {peak:,.0f} MiB (largest child {child_peak:,.0f} MiB); unified cells {summary.get('unified_cells')}, "
        f"findings {sum(summary.get('findings', {}).values())}"
    )


if __name__ == "__main__":
    main()

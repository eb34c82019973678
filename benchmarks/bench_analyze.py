"""Analysis benchmark: member assignment vs bare geopandas joins, and the whole ``analyze``.

Seeded synthetic city (the integrate benchmark's) plus 1,000,000 member points, 3 % outside
buildings. In one run:

1. member assignment (``gridmap.core.assign.assign_points``) vs bare ``geopandas.sjoin``
   (within) + ``sjoin_nearest`` (max 10 m) on the remainder, same data, same metric CRS;
2. the whole ``gridmap analyze`` from database to stored results (a SpatiaLite file loaded with
   the city first, not timed), wall time and the peak memory of that process.

    .venv/bin/python benchmarks/bench_analyze.py [--members 1000000] [--scale 1.0] [--irregular]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.synthcity import city_at  # noqa: E402
from gridmap.config import Settings  # noqa: E402
from gridmap.core.assign import assign_points  # noqa: E402
from gridmap.crs import metric_crs_for  # noqa: E402


def bare(points: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> float:
    start = time.perf_counter()
    inside = gpd.sjoin(points, buildings, predicate="within")
    rest = points[~points.index.isin(inside.index)]
    gpd.sjoin_nearest(rest, buildings, max_distance=10.0)
    return time.perf_counter() - start


def ours(points: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> float:
    start = time.perf_counter()
    assign_points(points, buildings, Settings())
    return time.perf_counter() - start


def load_city(city: dict, db: Path) -> None:
    """Write the city as files and load it with gridmap load (the users' path; not timed)."""
    folder = db.parent
    files = {
        "community": ("community", None), "compound": ("compound", None), "building": ("building", None),
        "grid_party": ("grid", "party"), "grid_dept": ("grid", "dept"), "member": ("member", None),
    }  # fmt: skip
    env = {**os.environ, "GRIDMAP_DATABASE_URL": f"sqlite:///{db}"}
    for key, (layer, grid) in files.items():
        frame = city[key]
        if key == "member":
            frame = frame.assign(name="演示", phone="10000000000")
        path = folder / f"{key}.gpkg"
        frame.to_file(path)
        cmd = [sys.executable, "-m", "gridmap.cli", "load", layer, str(path)] + (
            ["--grid-layer", grid] if grid else []
        )
        subprocess.run(cmd, env=env, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument(
        "--irregular",
        action="store_true",
        help="real-like shapes: warped streets, turned buildings, cells digitised independently",
    )
    args = parser.parse_args()
    city = city_at(args.scale, args.seed, members=args.members, irregular=args.irregular)
    crs = metric_crs_for(city["community"])
    points = city["member"].to_crs(crs)[["code", "geometry"]]
    buildings = city["building"].to_crs(crs)[["code", "geometry"]]
    peer = [bare(points, buildings) for _ in range(3)]
    mine = [ours(points, buildings) for _ in range(3)]
    peer.sort(), mine.sort()
    print(f"{len(points):,} members, {len(buildings):,} buildings\n")
    print("| step | median |\n|---|---|")
    print(f"| bare sjoin(within) + sjoin_nearest(10 m) | {peer[1]:.2f} s |")
    print(f"| gridmap assign_points | {mine[1]:.2f} s |")
    print(f"| ratio | {mine[1] / peer[1]:.2f}× |")
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "city.db"
        load_city(city, db)
        env = {**os.environ, "GRIDMAP_DATABASE_URL": f"sqlite:///{db}"}
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "gridmap.cli", "analyze"],
            env=env,
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - start
        peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024
    print(
        f"| whole `gridmap analyze` (database → stored results) | {wall:.1f} s, peak {peak:,.0f} MiB |"
    )


if __name__ == "__main__":
    main()

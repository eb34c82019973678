"""Partitioned analysis benchmark: a synthetic province of subdistricts on a local Dask cluster.

The province is the benchmarks' city (``benchmarks/synthcity.py``) at any size, its communities
grouped into subdistricts of ``--block`` × ``--block`` communities of the lattice. It is written
into a fresh PostGIS database (not timed), then ``gridmap analyze --partition subdistrict`` runs on
a local cluster of ``--workers`` processes (one thread each). Printed: the whole run's wall time,
and per partition its size (buildings and members owned and read with the halo), its task's
seconds (wall and CPU) and the peak resident memory of the worker process during that task
(Linux ``VmHWM``, reset at the start of each task).

    .venv/bin/python -m benchmarks.bench_province --communities 40 --block 2 --workers 2
        [--members-per-building 5] [--postgres postgresql://postgres@127.0.0.1:PORT/postgres]

Without ``--postgres`` a throwaway cluster is started (as the tests do).
"""

from __future__ import annotations

import argparse
import json
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
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks.bench_import import fresh_pg  # noqa: E402
from benchmarks.synthcity import _split, make_city, stations_of  # noqa: E402
from gridmap.config import Settings  # noqa: E402
from gridmap.partitioned.run import run_partitioned  # noqa: E402
from gridmap.store.db import make_engine, transaction  # noqa: E402
from gridmap.store.features import upsert_features  # noqa: E402
from gridmap.store.partitions import partition_summaries  # noqa: E402
from gridmap.store.schema import upgrade  # noqa: E402


def province(communities: int, block: int, members_per_building: int, seed: int) -> dict:
    """The city at ``communities`` communities (2,000 buildings each), in subdistricts."""
    scale = communities / 100
    n_buildings = int(200_000 * scale)
    city = make_city(
        seed, n_communities=communities, n_grids=int(2000 * scale), n_dept=int(3000 * scale),
        n_compounds=int(20_000 * scale), n_buildings=n_buildings,
        n_members=n_buildings * members_per_building,
    )  # fmt: skip
    _cols, rows = _split(communities)
    column, row = np.divmod(np.arange(communities), rows)  # the lattice make_city lays out
    per_row = -(-rows // block)
    city["community"]["subdistrict_code"] = [
        f"S{c // block * per_row + r // block:04d}" for c, r in zip(column, row, strict=True)
    ]
    city["station"] = stations_of(city["community"])
    return city


def _multi(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    multi = [shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in frame.geometry]
    return frame.set_geometry(gpd.GeoSeries(multi, crs=frame.crs, index=frame.index))


def store(city: dict, engine) -> None:
    with transaction(engine) as conn:
        for layer in ("community", "compound", "building"):
            upsert_features(conn, layer, _multi(city[layer]))
        upsert_features(conn, "grid", _multi(city["grid_party"]), grid_layer="party")
        upsert_features(conn, "grid", _multi(city["grid_dept"]), grid_layer="dept")
        upsert_features(conn, "member", city["member"])
        upsert_features(conn, "station", city["station"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communities", type=int, default=40)
    parser.add_argument(
        "--block", type=int, default=2, help="communities per side of a subdistrict"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--members-per-building", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--postgres", help="admin URL of a running PostGIS server")
    args = parser.parse_args()
    cluster = None
    admin = args.postgres
    if admin is None:
        from conftest import PostgisCluster

        cluster = PostgisCluster()
        cluster.start()
        admin = cluster.url("postgres").replace("+psycopg", "")
    try:
        url = fresh_pg(admin, "bench_province").replace("postgresql://", "postgresql+psycopg://")
        settings = Settings(database_url=url)
        engine = make_engine(settings)
        upgrade(engine)
        city = province(args.communities, args.block, args.members_per_building, args.seed)
        store(city, engine)
        load = os.getloadavg()[0]
        start = time.perf_counter()
        run = run_partitioned(engine, settings, by="subdistrict", workers=args.workers)
        wall = time.perf_counter() - start
        with engine.connect() as conn:
            shares = partition_summaries(conn, run.run_id)
        engine.dispose()
    finally:
        if cluster:
            cluster.stop()
    sizes = {k: len(v) for k, v in city.items()}
    print(f"province: {json.dumps(sizes)}; {len(shares)} subdistricts; {args.workers} workers; "
          f"load average before {load:.1f}, after {os.getloadavg()[0]:.1f}\n")  # fmt: skip
    print(f"whole partitioned analyze: {wall:.1f} s\n")
    print(
        "| subdistrict | buildings owned | buildings read | members read | task s | task CPU s "
        "| worker peak RSS |"
    )
    print("|---|---|---|---|---|---|---|")
    for key, s in sorted(shares.items()):
        print(f"| {key} | {s['counts']['buildings']:,} | {s['read']['buildings']:,} | "
              f"{s['read']['members']:,} | {s['seconds']:.1f} | {s.get('cpu_seconds', float('nan')):.1f} "
              f"| {s['peak_rss_mib']:,.0f} MiB |")  # fmt: skip
    seconds = [s["seconds"] for s in shares.values()]
    peaks = [s["peak_rss_mib"] for s in shares.values()]
    print(
        f"\nmedian task {statistics.median(seconds):.1f} s, max worker peak {max(peaks):,.0f} MiB"
    )


if __name__ == "__main__":
    main()

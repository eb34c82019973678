"""Import benchmark: ``gridmap load`` vs ``ogr2ogr`` loading the same GeoPackage, same run.

A seeded synthetic city of 200,000 building footprints (with Chinese headers, as offices have
them) is written to a GeoPackage; each tool loads it into a fresh SpatiaLite file and into a fresh
PostGIS database, alternating, several rounds; medians and the ratio are printed, with gridmap's
peak memory. Run on demand:

    .venv/bin/python benchmarks/bench_import.py [--buildings 200000] [--rounds 3] [--irregular]
        [--postgres postgresql://postgres@127.0.0.1:55432/postgres] [--databases postgis]

Without ``--postgres`` a throwaway cluster is started (as the tests do). Public tools only:
``time.perf_counter`` and ``/usr/bin/time``-style ``resource`` accounting of child processes.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import shapely

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def make_buildings(n: int, seed: int) -> gpd.GeoDataFrame:
    """``n`` rotated rectangular footprints over about 30 × 30 km, seeded."""
    rng = np.random.default_rng(seed)
    x = 104.0 + rng.random(n) * 0.3
    y = 30.5 + rng.random(n) * 0.3
    w, h = 0.00008 + rng.random(n) * 0.0002, 0.00005 + rng.random(n) * 0.0001
    boxes = shapely.box(x, y, x + w, y + h)
    angle = rng.uniform(0, 90, n)
    geoms = [shapely.affinity.rotate(b, a) for b, a in zip(boxes, angle, strict=True)]
    return gpd.GeoDataFrame(
        {
            "楼栋编号": [f"B{i:07d}" for i in range(n)],
            "楼栋名称": [f"演示楼{i % 50 + 1}栋" for i in range(n)],
            "所属小区": [f"C{i // 10:06d}" for i in range(n)],
            "户数": rng.integers(6, 120, n),
            "层数": rng.integers(2, 33, n),
        },
        geometry=geoms,
        crs=4326,
    )


def make_osm_buildings(n: int, seed: int) -> gpd.GeoDataFrame:
    """``n`` real footprints: the OpenStreetMap ones of ``geodata/osm`` (those a GIS can read
    and that keep an area; 19 of them self-intersecting as mapped), each placed and turned at
    random over the same 30 × 30 km, with the same columns as :func:`make_buildings`."""
    from pyogrio.raw import read

    rng = np.random.default_rng(seed)
    _, _, wkb, _ = read(HERE.parent / "geodata" / "osm" / "buildings.gpkg")
    shapes = shapely.from_wkb(wkb, on_invalid="ignore")
    shapes = shapes[pd.notna(shapes)]
    keeps_area = shapely.area(shapely.make_valid(shapes)) > 0
    shapes = shapes[keeps_area]
    pick = shapes[rng.integers(0, len(shapes), n)]
    xy, owner = shapely.get_coordinates(pick, return_index=True)
    x0, y0, x1, y1 = shapely.bounds(pick).T
    centre = np.column_stack([(x0 + x1) / 2, (y0 + y1) / 2])[owner]
    d = (xy - centre) * [np.cos(np.radians(60.2)) / np.cos(np.radians(30.65)), 1.0]
    a = np.radians(rng.uniform(0, 360, n))[owner]
    turned = np.column_stack(
        [d[:, 0] * np.cos(a) - d[:, 1] * np.sin(a), d[:, 0] * np.sin(a) + d[:, 1] * np.cos(a)]
    )
    spot = np.column_stack([104.0 + rng.random(n) * 0.3, 30.5 + rng.random(n) * 0.3])[owner]
    geoms = shapely.set_coordinates(pick.copy(), turned + spot)
    return gpd.GeoDataFrame(
        {
            "楼栋编号": [f"B{i:07d}" for i in range(n)],
            "楼栋名称": [f"演示楼{i % 50 + 1}栋" for i in range(n)],
            "所属小区": [f"C{i // 10:06d}" for i in range(n)],
            "户数": rng.integers(6, 120, n),
            "层数": rng.integers(2, 33, n),
        },
        geometry=geoms,
        crs=4326,
    )


CPU: dict[str, list[float]] = {}  # tool → CPU seconds (user + system) of each of its runs


def timed(cmd: list[str], env: dict | None = None, tool: str = "") -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process; its CPU seconds go to ``CPU``.

    CPU seconds are the client's own work (the database server's is not in them): on a shared
    machine they move much less than the wall time does."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    CPU.setdefault(tool, []).append(cpu)
    return wall, max(after.ru_maxrss, before.ru_maxrss) / 1024


def fresh_pg(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        c.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("CREATE EXTENSION postgis")
    return url


def gridmap_cmd(url: str, gpkg: Path) -> tuple[list[str], dict]:
    env = {**os.environ, "GRIDMAP_DATABASE_URL": url}
    return [sys.executable, "-m", "gridmap.cli", "load", "building", str(gpkg)], env


def round_sqlite(tmp: Path, gpkg: Path) -> tuple[float, float, float]:
    for p in tmp.glob("*.db*"):
        p.unlink()
    cmd, env = gridmap_cmd(f"sqlite:///{tmp / 'g.db'}", gpkg)
    subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "init"], env=env, check=True, capture_output=True
    )
    ours, peak = timed(cmd, env, "gridmap SpatiaLite")
    peer, _ = timed(
        ["ogr2ogr", "-f", "SQLite", "-dsco", "SPATIALITE=YES", str(tmp / "o.db"), str(gpkg),
         "-nln", "building", "-nlt", "MULTIPOLYGON", "-gt", "65536"], tool="ogr2ogr SpatiaLite",
    )  # fmt: skip
    return ours, peer, peak


def round_postgis(admin: str, gpkg: Path) -> tuple[float, float, float]:
    url = fresh_pg(admin, "bench_gridmap")
    cmd, env = gridmap_cmd(url.replace("postgresql://", "postgresql+psycopg://"), gpkg)
    subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "init"], env=env, check=True, capture_output=True
    )
    ours, peak = timed(cmd, env, "gridmap PostGIS")
    peer_url = fresh_pg(admin, "bench_ogr")
    host = psycopg.conninfo.conninfo_to_dict(peer_url)
    pg = f"PG:host={host['host']} port={host['port']} user={host['user']} dbname=bench_ogr"
    peer, _ = timed(
        ["ogr2ogr", "-f", "PostgreSQL", pg, str(gpkg), "-nln", "building", "-nlt", "MULTIPOLYGON"],
        tool="ogr2ogr PostGIS",
    )
    return ours, peer, peak


def report(name: str, rounds: list[tuple[float, float, float]]) -> str:
    ours = statistics.median(r[0] for r in rounds)
    peer = statistics.median(r[1] for r in rounds)
    ratios = [r[0] / r[1] for r in rounds]
    peak = max(r[2] for r in rounds)
    return (
        f"| {name} | {ours:.2f} s | {peer:.2f} s | {statistics.median(ratios):.2f}× "
        f"({min(ratios):.2f}–{max(ratios):.2f}) | {peak:.0f} MB |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--postgres", help="admin URL of a running PostGIS server")
    parser.add_argument(
        "--irregular",
        action="store_true",
        help="real OpenStreetMap footprints (geodata/osm), some invalid as mapped",
    )
    parser.add_argument(
        "--databases",
        nargs="+",
        choices=["spatialite", "postgis"],
        default=["spatialite", "postgis"],
        help="the databases to load into (both unless told)",
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="gridmap-bench-"))
    gpkg = tmp / "buildings.gpkg"
    make = make_osm_buildings if args.irregular else make_buildings
    make(args.buildings, args.seed).to_file(gpkg, layer="楼栋")
    cluster = None
    admin = args.postgres
    if admin is None:
        from conftest import PostgisCluster

        cluster = PostgisCluster()
        cluster.start()
        admin = cluster.url("postgres").replace("+psycopg", "")
    load_before = os.getloadavg()[0]
    try:
        lite, pg = "spatialite" in args.databases, "postgis" in args.databases
        sqlite = [round_sqlite(tmp, gpkg) for _ in range(args.rounds if lite else 0)]
        postgis = [round_postgis(admin, gpkg) for _ in range(args.rounds if pg else 0)]
    finally:
        if cluster:
            cluster.stop()
    shapes = "OpenStreetMap footprints" if args.irregular else "rotated rectangles"
    print(f"{args.buildings:,} buildings ({shapes}), {args.rounds} rounds, medians (min–max); "
          f"load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n")  # fmt: skip
    print("| database | gridmap load | ogr2ogr | ratio | gridmap peak memory |")
    print("|---|---|---|---|---|")
    for name, rounds in (("SpatiaLite", sqlite), ("PostGIS", postgis)):
        if rounds:
            print(report(name, rounds))
    print("\nCPU seconds of the client process (user + system), median:")
    for tool, seconds in CPU.items():
        print(f"- {tool}: {statistics.median(seconds):.2f} s")


if __name__ == "__main__":
    main()

"""Serving benchmark on SpatiaLite: gridmap's OGC items endpoint vs the same query run directly.

The laptop's database: the seeded synthetic city (``benchmarks/synthcity.py``: 200,000 buildings
at scale 1) is loaded into a fresh SpatiaLite file with ``gridmap load`` (the users' path),
``gridmap serve`` runs as a real uvicorn process on 127.0.0.1 with an account whose API token
every request carries (``benchmarks/serving.py``), and seeded random viewports inside the city
(zoom 14 ≈ 2.4 × 1.5 km, zoom 17 ≈ 300 × 190 m, as ``bench_serve.py``) are asked for as
``/ogc/collections/building/items?bbox=…&limit=…`` over HTTP (httpx, keep-alive), against the
statement that produces the same FeatureCollection (``sql/serve_items_lite.sql``: the R*Tree
through ``SpatialIndex``, ``ST_Intersects``, ``AsGeoJSON`` and SQLite's JSON functions) run on a
SpatiaLite connection of the benchmark's own, and against the HTTP floor (the constant
``/ogc/conformance``, with the same login).

Targets take turns per viewport in an order that rotates; answers are compared first (same
count, same features in the same order). The target is gridmap ≤ 1.5× the direct query.

    .venv/bin/python benchmarks/bench_serve_lite.py [--scale 1.0] [--requests 200] [--limit 1000]
        [--clients 4] [--rounds 3] [--db PATH [--reuse]]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_serve import (  # noqa: E402
    ITEMS_PATH,
    TARGET,
    VIEWPORTS,
    Box,
    HttpTarget,
    bbox_text,
    cell,
    disagreements,
    items_answer,
    latency,
    ratios,
    sql_params,
    throughput,
    verdict,
    viewports,
)
from benchmarks.serving import load_city, start_gridmap  # noqa: E402
from benchmarks.synthcity import city_at  # noqa: E402
from gridmap.config import Settings  # noqa: E402
from gridmap.store.db import make_engine  # noqa: E402

ITEMS_SQL = (Path(__file__).parent / "sql" / "serve_items_lite.sql").read_text()


class LiteTarget:
    """The direct statement on a SpatiaLite connection opened as gridmap opens them."""

    name = "direct"

    def __init__(self, db: Path, limit: int) -> None:
        self.engine = make_engine(Settings(database_url=f"sqlite:///{db}"))
        self.limit = limit

    def _run(self, conn, box: Box) -> str:
        return conn.execute(ITEMS_SQL, sql_params(box, limit=self.limit)).fetchone()[0]

    def open(self):
        conn = self.engine.raw_connection()  # in the thread that uses it, as SQLite wants

        def call(box: Box) -> int:
            return len(self._run(conn, box).encode())

        return call, conn.close

    def body(self, box: Box) -> dict:
        conn = self.engine.raw_connection()
        try:
            return json.loads(self._run(conn, box))
        finally:
            conn.close()


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="gridmap-bench-lite-") as folder:
        tmp = Path(folder)
        db = Path(args.db) if args.db else tmp / "city.db"
        city = city_at(args.scale, args.seed, members=0)
        url = f"sqlite:///{db}"
        loaded = "(reused)"
        if not args.reuse:
            db.unlink(missing_ok=True)
            loaded = f"with gridmap load in {load_city(city, url, tmp):.0f} s"
        direct = LiteTarget(db, args.limit)
        with direct.engine.connect() as conn:
            versions = conn.exec_driver_sql("SELECT sqlite_version(), spatialite_version()").one()
        print(f"{len(city['building']):,} buildings loaded {loaded}; SQLite {versions[0]}, "
              f"SpatiaLite {versions[1]}")  # fmt: skip
        server = start_gridmap(url, tmp)
        try:
            zoom14 = latency_table(args, server, direct, city["building"].total_bounds)
            throughput_table(args, server, direct, zoom14)
        finally:
            server.stop()
            direct.engine.dispose()


def targets(server, direct: LiteTarget, limit: int) -> list:
    def params(box: Box) -> dict:
        return {"bbox": bbox_text(box), "limit": limit}

    login = server.headers
    return [
        HttpTarget("gridmap", server.base, ITEMS_PATH, params, login=login),
        direct,
        HttpTarget("http floor", server.base, "/ogc/conformance", lambda box: {}, login=login),
    ]


def latency_table(args, server, direct: LiteTarget, bounds) -> list[Box]:
    """Print the latency table; return the timed zoom-14 viewports (for the throughput)."""
    n, warm = args.requests, args.warmup
    print(f"{n} viewports per zoom after {warm} warm-up ones, seed {args.seed}; items limit "
          f"{args.limit}; p50 / p95; ratios of p50 (of p95)\n")  # fmt: skip
    print(f"| zoom | features | gridmap | direct SpatiaLite | gridmap / direct | ≤ {TARGET}× "
          "| HTTP floor | gridmap − floor |\n" + "|---" * 8 + "|")  # fmt: skip
    zoom14: list[Box] = []
    for zoom, (w, h) in VIEWPORTS.items():
        boxes = viewports(bounds, w, h, n + warm, args.seed + zoom)
        zoom14 = zoom14 or boxes[warm:]
        chosen = targets(server, direct, args.limit)
        problems = disagreements(chosen[:2], boxes[:5], items_answer)
        size = statistics.median(len(direct.body(b)["features"]) for b in boxes[:20])
        t = latency(chosen, boxes, warm)
        g, d, floor = t["gridmap"], t["direct"], t["http floor"]
        above = statistics.median(g[0]) - statistics.median(floor[0])
        print(f"| {zoom} | {size:.0f} | {cell(g)} | {cell(d)} | {ratios(g, d)} | {verdict(g, d)} "
              f"| {cell(floor)} | {above * 1000:.1f} ms |")  # fmt: skip
        for problem in problems:
            print(f"  ! {problem}")
    return zoom14


def throughput_table(args, server, direct: LiteTarget, boxes: list[Box]) -> None:
    items = sum(direct.body(b)["numberReturned"] for b in boxes)
    chosen = targets(server, direct, args.limit)[:2]
    rates = throughput(chosen, boxes, items, args.clients, args.rounds)
    print(f"\nItems throughput: {len(boxes)} zoom-14 viewports of up to {args.limit} items, "
          f"{args.clients} concurrent clients, median of {args.rounds} rounds\n")  # fmt: skip
    print("| target | items/s (min–max) |\n|---|---|")
    for name, values in rates.items():
        print(f"| {name} | {statistics.median(values):,.0f} ({min(values):,.0f}–{max(values):,.0f}) |")  # fmt: skip
    r = statistics.median(rates["direct"]) / statistics.median(rates["gridmap"])
    print(f"\ngridmap / direct, throughput: **{r:.2f}×** (≤ {TARGET}×: "
          f"{'met' if r <= TARGET else 'not met'})")  # fmt: skip


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full city")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--requests", type=int, default=200, help="timed viewports per zoom")
    parser.add_argument("--warmup", type=int, default=10, help="untimed viewports first")
    parser.add_argument("--limit", type=int, default=1000, help="items per page")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds")
    parser.add_argument("--db", help="SpatiaLite file to load the city into (else a temporary one)")
    parser.add_argument("--reuse", action="store_true", help="with --db: it holds this city")
    return parser.parse_args()


if __name__ == "__main__":
    main()

"""Serving benchmark: gridmap's map and OGC items endpoints vs the same query run in PostGIS.

The seeded synthetic city (``benchmarks/synthcity.py``: 200,000 buildings at scale 1) is loaded
into a fresh PostGIS database with ``gridmap load`` (the users' path), ``gridmap serve`` runs as a
real uvicorn process on 127.0.0.1 with an account whose API token every request to gridmap carries
(``benchmarks/serving.py``; the peers need none), and seeded random viewports inside the city
(zoom 14 ≈ 2.4 × 1.5 km, zoom 17 ≈ 300 × 190 m) are requested over HTTP (httpx, keep-alive):

1. the map endpoint ``/api/layers/building/features?bbox=…&zoom=…`` (GeoJSON simplified to half a
   pixel below zoom 17, coordinates rounded to 6 decimals): p50 / p95 per zoom, against the SQL
   that produces the same GeoJSON run directly through psycopg (``json_agg`` of ``ST_AsGeoJSON``,
   ``&&`` + ``ST_Intersects``, ``ST_SimplifyPreserveTopology`` with the same tolerance);
2. the OGC items endpoint ``/ogc/collections/building/items?bbox=…&limit=…``: p50 / p95 per zoom
   and items/s with a few concurrent clients, against the equivalent SQL (count and page), and
   against tipg serving the same table when ``--tipg-python`` names an interpreter that has tipg
   and uvicorn (``python3 -m venv /tmp/tipgvenv && /tmp/tipgvenv/bin/pip install tipg uvicorn``).

Both endpoints are also compared with an **HTTP peer** (``bench_serve_peer.py``): the same
statement behind the smallest ASGI app, run by uvicorn with ``gridmap serve``'s options on the same
machine and asked by the same client. gridmap ÷ direct is what a user waits for above the
database; gridmap ÷ HTTP peer is what gridmap adds over HTTP itself (the peer's own constant
document, ``/floor``, is printed beside gridmap's HTTP floor).

Every target gets the same viewports in the same run, one after another per viewport in an order
that rotates, so that drift on a shared machine falls on all alike. Bodies are asked for
uncompressed (the direct query returns plain text); the map endpoint is also timed with gzip, as
browsers ask for it. Before timing, a few viewports are compared: same features, same geometry.
The overhead target is gridmap ≤ 1.5× the direct query (the HTTP peer's ratio is reported beside
it, not instead of it).

    .venv/bin/python benchmarks/bench_serve.py [--scale 1.0] [--requests 200] [--limit 1000]
        [--clients 4] [--rounds 3] [--tipg-python /tmp/tipgvenv/bin/python]
        [--dsn postgresql://postgres@127.0.0.1:5432/postgres [--reuse]]

Without ``--dsn`` a throwaway cluster is started (as the tests do); with it, the database
``gridmap_bench_serve`` is (re)created on that server, or with ``--reuse`` taken as it is.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx
import numpy as np
import psycopg
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_serve_peer import ITEMS_SQL, MAP_SQL, half_pixel  # noqa: E402
from benchmarks.serving import (  # noqa: E402
    Gridmap,
    database,
    free_port,
    load_city,
    pg_url,
    postgis,
    start_gridmap,
    start_server,
    stop,
    vacuum,
)
from benchmarks.synthcity import city_at  # noqa: E402

Box = tuple[float, float, float, float]
VIEWPORTS = {14: (2400.0, 1500.0), 17: (300.0, 190.0)}  # zoom → window width, height in metres
TARGET = 1.5
DB_NAME = "gridmap_bench_serve"
MAP_PATH = "/api/layers/building/features"
ITEMS_PATH = "/ogc/collections/building/items"
ITEM_PROPERTIES = ["code", "name", "updated_at", "compound_code", "households", "floors"]

ENVELOPE = "ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)"
HITS = f"FROM building WHERE geom && {ENVELOPE} AND ST_Intersects(geom, {ENVELOPE})"
PEER = "http peer"


def bbox_text(box: Box) -> str:
    return ",".join(f"{v:.6f}" for v in box)


def sql_params(box: Box, **extra) -> dict:
    return dict(zip(("x0", "y0", "x1", "y1"), box, strict=True)) | extra


# --- targets: each opens a caller per client (a keep-alive HTTP session or a connection) -------

Caller = Callable[[Box], int]


class HttpTarget:
    """``path`` on the server at ``base``; ``login`` holds a bearer header where one is needed."""

    def __init__(
        self, name: str, base: str, path: str, params: Callable, gzip=False, login=None
    ) -> None:
        self.name, self.base, self.path, self.params = name, base, path, params
        self.headers = {"Accept-Encoding": "gzip" if gzip else "identity", **(login or {})}

    def open(self) -> tuple[Caller, Callable[[], None]]:
        client = httpx.Client(base_url=self.base, headers=self.headers, timeout=120)

        def call(box: Box) -> int:
            response = client.get(self.path, params=self.params(box))
            response.raise_for_status()
            return len(response.content)

        return call, client.close

    def body(self, box: Box) -> dict:
        url = self.base + self.path
        return httpx.get(url, params=self.params(box), headers=self.headers, timeout=120).json()


class SqlTarget:
    def __init__(self, name: str, dsn: str, sql: str, params: Callable[[Box], dict]) -> None:
        self.name, self.dsn, self.sql, self.params = name, dsn, sql, params

    def open(self) -> tuple[Caller, Callable[[], None]]:
        conn = psycopg.connect(self.dsn, autocommit=True)

        def call(box: Box) -> int:
            return len(conn.execute(self.sql, self.params(box)).fetchone()[0].encode())

        return call, conn.close

    def body(self, box: Box) -> dict:
        with psycopg.connect(self.dsn) as conn:
            return json.loads(conn.execute(self.sql, self.params(box)).fetchone()[0])


def map_targets(zoom: int, gridmap: Gridmap, dsn: str, peer: str) -> list:
    tolerance = half_pixel(zoom)
    geom = "ST_SimplifyPreserveTopology(geom, %(tolerance)s)" if tolerance else "geom"

    def params(box: Box) -> dict:
        return {"bbox": bbox_text(box), "zoom": zoom}

    def direct(box: Box) -> dict:
        return sql_params(box, tolerance=tolerance)

    base, login = gridmap.base, gridmap.headers
    return [
        HttpTarget("gridmap", base, MAP_PATH, params, login=login),
        SqlTarget("direct", dsn, MAP_SQL.format(geom=geom), direct),
        HttpTarget("gridmap gzip", base, MAP_PATH, params, gzip=True, login=login),
        HttpTarget("http floor", base, "/ogc/conformance", lambda box: {}, login=login),
        HttpTarget(PEER, peer, "/map", params),
        HttpTarget("peer floor", peer, "/floor", lambda box: {}),
    ]


def items_targets(gridmap: Gridmap, tipg: str | None, dsn: str, limit: int, peer: str) -> list:
    def params(box: Box) -> dict:
        return {"bbox": bbox_text(box), "limit": limit}

    targets = [
        HttpTarget("gridmap", gridmap.base, ITEMS_PATH, params, login=gridmap.headers),
        SqlTarget("direct", dsn, ITEMS_SQL, lambda box: sql_params(box, limit=limit)),
        HttpTarget(PEER, peer, "/items", params),
    ]
    if tipg:
        path = "/collections/public.building/items"
        targets.append(HttpTarget("tipg", tipg, path, lambda box: params(box) | {"sortby": "code"}))
    return targets


def map_answer(doc: dict) -> dict:
    """code → normalised geometry: ring start and orientation may differ, the shape may not."""
    geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in doc["features"]])
    wkt = shapely.to_wkt(shapely.normalize(geoms), rounding_precision=6)
    return dict(zip((f["properties"]["code"] for f in doc["features"]), wkt, strict=True))


def items_answer(doc: dict) -> list:
    return [doc["numberMatched"], [f["properties"]["code"] for f in doc["features"]]]


def disagreements(targets: list, boxes: list[Box], answer: Callable[[dict], object]) -> list[str]:
    """Targets whose answer for one of ``boxes`` differs from the first target's."""
    out = []
    for box in boxes:
        first, *others = [answer(t.body(box)) for t in targets]
        out += [
            f"{t.name} differs at {bbox_text(box)}"
            for t, a in zip(targets[1:], others, strict=True)
            if a != first
        ]
    return out


# --- the peer server and the viewports -----------------------------------------------------


def start_tipg(python: str, dsn: str, folder: Path) -> tuple[subprocess.Popen, str]:
    """tipg on the building table, with the properties gridmap's items carry."""
    port = free_port()
    conf = "TIPG_TABLE_CONFIG__public_building__"
    env = {**os.environ, "DATABASE_URL": dsn, "TIPG_DB_TABLES": '["public.building"]',
           "TIPG_CATALOG_TTL": "86400", f"{conf}pk": "id", f"{conf}geomcol": "geom",
           f"{conf}datetimecol": "updated_at",
           f"{conf}properties": json.dumps(ITEM_PROPERTIES)}  # fmt: skip
    cmd = [python, "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning", "--no-access-log"]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    return start_server(cmd, env, f"{base}/collections/public.building", folder / "tipg.log"), base


def start_peer(dsn: str, folder: Path) -> tuple[subprocess.Popen, str]:
    """The HTTP peer (``bench_serve_peer.py``) under uvicorn with ``gridmap serve``'s options."""
    from gridmap.cli.server import KEEP_ALIVE_S

    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "benchmarks.bench_serve_peer:app", "--host",
           "127.0.0.1", "--port", str(port), "--log-level", "warning", "--timeout-keep-alive",
           str(KEEP_ALIVE_S), "--http", "httptools"]  # fmt: skip
    env = {**os.environ, "PEER_DSN": dsn, "PYTHONPATH": str(ROOT)}
    base = f"http://127.0.0.1:{port}"
    return start_server(cmd, env, f"{base}/floor", folder / "peer.log"), base


def tipg_version(python: str | None) -> str | None:
    """tipg's version in ``python``'s environment, or None (with the reason printed)."""
    if not python:
        print("tipg: not measured (pass --tipg-python PATH of a venv with tipg and uvicorn)")
        return None
    found = subprocess.run([python, "-c", "import tipg, uvicorn; print(tipg.__version__)"],
                           capture_output=True, text=True)  # fmt: skip
    if found.returncode != 0:
        print(f"tipg: cannot be imported with {python}, skipped (python3 -m venv /tmp/tipgvenv "
              "&& /tmp/tipgvenv/bin/pip install tipg uvicorn)")  # fmt: skip
        return None
    return found.stdout.strip()


def viewports(bounds, width_m: float, height_m: float, n: int, seed: int) -> list[Box]:
    """``n`` seeded windows of about ``width_m`` × ``height_m`` inside ``bounds`` (lon/lat)."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bounds
    w = width_m / (111_320 * math.cos(math.radians((y0 + y1) / 2)))
    h = height_m / 110_574
    xs = x0 + rng.random(n) * max(x1 - x0 - w, 0.0)
    ys = y0 + rng.random(n) * max(y1 - y0 - h, 0.0)
    return [
        tuple(round(float(v), 6) for v in (x, y, x + w, y + h)) for x, y in zip(xs, ys, strict=True)
    ]


# --- measuring ------------------------------------------------------------------------------


def latency(targets: list, boxes: list[Box], warmup: int) -> dict[str, tuple[list, list]]:
    """Sequential requests, targets in rotating order per viewport; name → (seconds, bytes)."""
    callers = [t.open() for t in targets]
    for box in boxes[:warmup]:
        for call, _ in callers:
            call(box)
    out: dict[str, tuple[list, list]] = {t.name: ([], []) for t in targets}
    for i, box in enumerate(boxes[warmup:]):
        for j in range(len(targets)):
            k = (i + j) % len(targets)
            start = time.perf_counter()
            size = callers[k][0](box)
            out[targets[k].name][0].append(time.perf_counter() - start)
            out[targets[k].name][1].append(size)
    for _, close in callers:
        close()
    return out


def concurrent(target, boxes: list[Box], clients: int) -> float:
    """Wall seconds for ``clients`` callers sharing ``boxes`` (connections opened beforehand)."""
    ready = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def worker(chunk: list[Box]) -> None:
        call, close = target.open()
        ready.wait()
        try:
            for box in chunk:
                call(box)
        except BaseException as exc:
            errors.append(exc)
        finally:
            close()

    threads = [threading.Thread(target=worker, args=(boxes[k::clients],)) for k in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - start


def throughput(targets: list, boxes: list[Box], items: int, clients: int, rounds: int) -> dict:
    """name → items/s of each round (the order of targets rotates per round)."""
    for target in targets:  # fill every server's connection pool first
        concurrent(target, boxes[: clients * 2], clients)
    out: dict[str, list[float]] = {t.name: [] for t in targets}
    for r in range(rounds):
        for k in range(len(targets)):
            target = targets[(k + r) % len(targets)]
            out[target.name].append(items / concurrent(target, boxes, clients))
    return out


def ms(times: tuple[list, list], q: float) -> float:
    return float(np.percentile(times[0], q)) * 1000


def cell(times: tuple[list, list]) -> str:
    return f"{ms(times, 50):.1f} / {ms(times, 95):.1f} ms"


def ratios(a: tuple[list, list], b: tuple[list, list]) -> str:
    p50, p95 = ms(a, 50) / ms(b, 50), ms(a, 95) / ms(b, 95)
    return f"**{p50:.2f}×** ({p95:.2f}×)"


def verdict(a: tuple[list, list], b: tuple[list, list]) -> str:
    return "met" if ms(a, 50) / ms(b, 50) <= TARGET else "**not met**"


# --- the run --------------------------------------------------------------------------------


def latency_table(
    args, dsn: str, bounds, tipg: str | None, gridmap: Gridmap, peer: str
) -> list[Box]:
    """Print the latency table; return the timed zoom-14 viewports (for the throughput)."""
    n, warm = args.requests, args.warmup
    print(f"{n} viewports per zoom after {warm} warm-up ones, seed {args.seed}; items limit "
          f"{args.limit}; p50 / p95; ratios of p50 (of p95)\n")  # fmt: skip
    print(f"| endpoint | zoom | features | gridmap | direct PostGIS | gridmap / direct | ≤ {TARGET}× "
          "| tipg | gridmap / tipg | gridmap, gzip | HTTP peer | gridmap / HTTP peer |\n"
          + "|---" * 12 + "|")  # fmt: skip
    floor, peer_floor, zoom14 = "", "", []
    for zoom, (w, h) in VIEWPORTS.items():
        boxes = viewports(bounds, w, h, n + warm, args.seed + zoom)
        zoom14 = zoom14 or boxes[warm:]
        for name, targets, answer in (
            ("map", map_targets(zoom, gridmap, dsn, peer), map_answer),
            ("items", items_targets(gridmap, tipg, dsn, args.limit, peer), items_answer),
        ):
            compared = [t for t in targets if t.name in ("gridmap", "direct", "tipg", PEER)]
            problems = disagreements(compared, boxes[:5], answer)
            size = statistics.median(len(targets[1].body(b)["features"]) for b in boxes[:20])
            t = latency(targets, boxes, warm)
            g, d = t["gridmap"], t["direct"]
            tipg_cells = f"{cell(t['tipg'])} | {ratios(g, t['tipg'])}" if "tipg" in t else "— | —"
            gzip = cell(t["gridmap gzip"]) if "gridmap gzip" in t else "—"
            print(f"| {name} | {zoom} | {size:.0f} | {cell(g)} | {cell(d)} | {ratios(g, d)} "
                  f"| {verdict(g, d)} | {tipg_cells} | {gzip} | {cell(t[PEER])} "
                  f"| {ratios(g, t[PEER])} |")  # fmt: skip
            floor = cell(t["http floor"]) if "http floor" in t else floor
            peer_floor = cell(t["peer floor"]) if "peer floor" in t else peer_floor
            for problem in problems:
                print(f"  ! {problem}")
    print(f"\nHTTP floor (gridmap's /ogc/conformance, a constant document): {floor}; "
          f"the HTTP peer's (/floor, a constant document): {peer_floor}\n")  # fmt: skip
    return zoom14


def throughput_table(
    args, dsn: str, boxes: list[Box], tipg: str | None, gridmap: Gridmap, peer: str
) -> None:
    with psycopg.connect(dsn) as conn:
        counts = [
            conn.execute(f"SELECT count(*) {HITS}", sql_params(b)).fetchone()[0] for b in boxes
        ]
    items = sum(min(args.limit, c) for c in counts)
    targets = items_targets(gridmap, tipg, dsn, args.limit, peer)
    rates = throughput(targets, boxes, items, args.clients, args.rounds)
    print(f"Items throughput: {len(boxes)} zoom-14 viewports of up to {args.limit} items, "
          f"{args.clients} concurrent clients, median of {args.rounds} rounds\n")  # fmt: skip
    print("| target | items/s (min–max) | gridmap's time per item ÷ this one's |\n|---|---|---|")
    ours = statistics.median(rates["gridmap"])
    for name, values in rates.items():
        mid, low, high = statistics.median(values), min(values), max(values)
        print(f"| {name} | {mid:,.0f} ({low:,.0f}–{high:,.0f}) | {mid / ours:.2f}× |")
    r = statistics.median(rates["direct"]) / ours
    print(f"\ngridmap / direct, throughput: **{r:.2f}×** (≤ {TARGET}×: "
          f"{'met' if r <= TARGET else 'not met'})")  # fmt: skip


def main() -> None:
    args = parse_args()
    city = city_at(args.scale, args.seed, members=0)
    tipg = tipg_version(args.tipg_python)
    with (
        tempfile.TemporaryDirectory(prefix="gridmap-bench-serve-") as folder,
        postgis(args.dsn) as admin,
        ExitStack() as running,  # servers stop first, then the database, then the folder goes
    ):
        tmp = Path(folder)
        dsn = database(admin, DB_NAME, args.reuse)
        loaded = "(reused)"
        if not args.reuse:
            loaded = f"with gridmap load in {load_city(city, pg_url(dsn), tmp):.0f} s"
        pg, postgis_version = vacuum(dsn)
        print(f"{len(city['building']):,} buildings loaded {loaded}; PostgreSQL {pg}, "
              f"PostGIS {postgis_version}, tipg {tipg or '—'}")  # fmt: skip
        gridmap = start_gridmap(pg_url(dsn), tmp)
        running.callback(gridmap.stop)
        tipg_base = None
        if tipg:
            proc, tipg_base = start_tipg(args.tipg_python, dsn, tmp)
            running.callback(stop, proc)
        proc, peer = start_peer(dsn, tmp)
        running.callback(stop, proc)
        zoom14 = latency_table(args, dsn, city["building"].total_bounds, tipg_base, gridmap, peer)
        throughput_table(args, dsn, zoom14, tipg_base, gridmap, peer)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full city")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--requests", type=int, default=200, help="timed viewports per zoom")
    parser.add_argument("--warmup", type=int, default=10, help="untimed viewports first")
    parser.add_argument("--limit", type=int, default=1000, help="items per page")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds")
    parser.add_argument(
        "--dsn", help="admin URL of a running PostGIS server (else a throwaway one)"
    )
    parser.add_argument("--reuse", action="store_true",
                        help=f"with --dsn: {DB_NAME} already holds this city")  # fmt: skip
    parser.add_argument("--tipg-python", help="python of a venv with tipg and uvicorn")
    return parser.parse_args()


if __name__ == "__main__":
    main()

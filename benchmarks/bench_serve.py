"""Serving benchmark: gridmap's map and OGC items endpoints vs the same query run in PostGIS.

The seeded synthetic city (``benchmarks/synthcity.py``: 200,000 buildings at scale 1) is loaded
into a fresh PostGIS database with ``gridmap load`` (the users' path), ``gridmap serve`` runs as a
real uvicorn process on 127.0.0.1, and a seeded list of random viewports inside the city (zoom 14
≈ 2.4 × 1.5 km, zoom 17 ≈ 300 × 190 m) is requested over HTTP (httpx, keep-alive):

1. the map endpoint ``/api/layers/building/features?bbox=…&zoom=…`` (GeoJSON, simplified to half
   a pixel below zoom 17), p50 / p95 per zoom, against the SQL that produces the same GeoJSON run
   directly through psycopg (``json_agg`` of ``ST_AsGeoJSON``, ``&&`` + ``ST_Intersects``, the
   same simplification and rounding);
2. the OGC items endpoint ``/ogc/collections/building/items?bbox=…&limit=…``, p50 / p95 per zoom
   and items/s with a few concurrent clients, against the equivalent SQL, and against tipg
   serving the same table when ``--tipg-python`` names an interpreter that has tipg and uvicorn
   (``python3 -m venv /tmp/tipgvenv && /tmp/tipgvenv/bin/pip install tipg uvicorn``).

Every target gets the same viewports in the same run, requests interleaved (the order rotates per
viewport) so that drift on a shared machine falls on all of them alike. Responses are requested
uncompressed (the direct query returns plain text); the map endpoint is also timed with gzip, as a
browser asks for it. The overhead target is gridmap ≤ 1.5× the direct query.

    .venv/bin/python benchmarks/bench_serve.py [--scale 1.0] [--requests 200] [--clients 4]
        [--limit 1000] [--rounds 3] [--dsn postgresql://postgres@127.0.0.1:5432/postgres]
        [--tipg-python /tmp/tipgvenv/bin/python]

Without ``--dsn`` a throwaway cluster is started (as the tests do); with it, a database
``gridmap_bench_serve`` is (re)created on that server. Public tools only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks.bench_import import fresh_pg  # noqa: E402
from benchmarks.synthcity import make_city  # noqa: E402

Box = tuple[float, float, float, float]
VIEWPORTS = {14: (2400.0, 1500.0), 17: (300.0, 190.0)}  # zoom → window width, height in metres
TARGET = 1.5
DB_NAME = "gridmap_bench_serve"

ENVELOPE = "ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)"
MAP_SQL = f"""
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
    json_build_object(
        'type', 'Feature',
        'properties', json_build_object(
            'id', id, 'code', code, 'name', name, 'repair_note', repair_note,
            'compound_code', compound_code, 'households', households, 'floors', floors),
        'geometry', ST_AsGeoJSON({{geom}}, 6)::json)
    ORDER BY code), '[]'::json))::text
FROM building
WHERE geom && {ENVELOPE} AND ST_Intersects(geom, {ENVELOPE})
"""
ITEMS_SQL = f"""
WITH hits AS (
    SELECT id, code, name, updated_at, compound_code, households, floors, geom FROM building
    WHERE geom && {ENVELOPE} AND ST_Intersects(geom, {ENVELOPE})
), page AS (SELECT * FROM hits ORDER BY code, id LIMIT %(limit)s)
SELECT json_build_object(
    'type', 'FeatureCollection',
    'numberMatched', (SELECT count(*) FROM hits),
    'numberReturned', count(*),
    'features', coalesce(json_agg(json_build_object(
        'type', 'Feature', 'id', code,
        'geometry', ST_AsGeoJSON(geom, 7)::json,
        'properties', json_build_object(
            'code', code, 'name', name,
            'updated_at', to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
            'compound_code', compound_code, 'households', households, 'floors', floors))
    ORDER BY code, id), '[]'::json))::text
FROM page
"""
COUNT_SQL = (
    f"SELECT count(*) FROM building WHERE geom && {ENVELOPE} AND ST_Intersects(geom, {ENVELOPE})"
)
ITEM_PROPERTIES = ["code", "name", "updated_at", "compound_code", "households", "floors"]


def half_pixel(zoom: int) -> float:
    """gridmap's simplification tolerance at ``zoom`` (degrees), 0 from zoom 17 on."""
    return 360.0 / (256 * 2**zoom) / 2 if zoom < 17 else 0.0


def bbox_text(box: Box) -> str:
    return ",".join(f"{v:.6f}" for v in box)


def sql_params(box: Box, **extra) -> dict:
    return dict(zip(("x0", "y0", "x1", "y1"), box, strict=True)) | extra


# --- targets: one opens a "caller" per client (HTTP session or database connection) ----------

Caller = Callable[[Box], int]


class HttpTarget:
    """One endpoint of one server; a caller is a keep-alive httpx session returning body bytes."""

    def __init__(self, name: str, base: str, path: str, params: Callable[[Box], dict],
                 gzip: bool = False) -> None:  # fmt: skip
        self.name, self.base, self.path, self.params = name, base, path, params
        self.headers = {"Accept-Encoding": "gzip" if gzip else "identity"}

    def open(self) -> tuple[Caller, Callable[[], None]]:
        client = httpx.Client(base_url=self.base, headers=self.headers, timeout=120)

        def call(box: Box) -> int:
            response = client.get(self.path, params=self.params(box))
            response.raise_for_status()
            return len(response.content)

        return call, client.close

    def body(self, box: Box) -> dict:
        return httpx.get(self.base + self.path, params=self.params(box), timeout=120).json()


class SqlTarget:
    """The same query run directly in PostGIS; a caller is one psycopg connection."""

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


# --- the city, the database and the servers ------------------------------------------------


def load_city(city: dict, url: str, folder: Path) -> float:
    """``gridmap init`` and ``gridmap load`` of every layer (as users do); seconds taken."""
    env = {**os.environ, "GRIDMAP_DATABASE_URL": url}
    gridmap = [sys.executable, "-m", "gridmap.cli"]
    start = time.perf_counter()
    subprocess.run([*gridmap, "init"], env=env, check=True, capture_output=True)
    layers = {"community": ("community", None), "grid_party": ("grid", "party"),
              "grid_dept": ("grid", "dept"), "compound": ("compound", None),
              "building": ("building", None)}  # fmt: skip
    for key, (layer, grid) in layers.items():
        path = folder / f"{key}.gpkg"
        city[key].to_file(path)
        extra = ["--grid-layer", grid] if grid else []
        subprocess.run([*gridmap, "load", layer, str(path), *extra], env=env, check=True,
                       capture_output=True)  # fmt: skip
    return time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(cmd: list[str], env: dict, probe: str, log: Path, cwd: Path) -> subprocess.Popen:
    """Start a server process and wait until ``probe`` answers 200."""
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{' '.join(cmd)} exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(probe, timeout=5).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"{probe} did not answer within 120 s; see {log}")


def tipg_version(python: str | None) -> str | None:
    """tipg's version in ``python``'s environment, or None (with the reason printed)."""
    if not python:
        print("tipg: not measured (pass --tipg-python PATH of a venv with tipg and uvicorn)")
        return None
    found = subprocess.run([python, "-c", "import tipg, uvicorn; print(tipg.__version__)"],
                           capture_output=True, text=True)  # fmt: skip
    if found.returncode != 0:
        print(f"tipg: not importable with {python}; skipped "
              "(python3 -m venv /tmp/tipgvenv && /tmp/tipgvenv/bin/pip install tipg uvicorn)")  # fmt: skip
        return None
    return found.stdout.strip()


def tipg_env(dsn: str) -> dict:
    conf = "TIPG_TABLE_CONFIG__public_building__"
    return {
        **os.environ, "DATABASE_URL": dsn, "TIPG_DB_TABLES": '["public.building"]',
        "TIPG_CATALOG_TTL": "86400", f"{conf}pk": "id", f"{conf}geomcol": "geom",
        f"{conf}datetimecol": "updated_at", f"{conf}properties": json.dumps(ITEM_PROPERTIES),
    }  # fmt: skip


def viewports(bounds, width_m: float, height_m: float, n: int, rng) -> list[Box]:
    """``n`` windows of about ``width_m`` × ``height_m`` inside ``bounds`` (lon/lat)."""
    x0, y0, x1, y1 = bounds
    w = width_m / (111_320 * math.cos(math.radians((y0 + y1) / 2)))
    h = height_m / 110_574
    xs = x0 + rng.random(n) * max(x1 - x0 - w, 0.0)
    ys = y0 + rng.random(n) * max(y1 - y0 - h, 0.0)
    return [
        tuple(round(float(v), 6) for v in (x, y, x + w, y + h)) for x, y in zip(xs, ys, strict=True)
    ]


# --- measuring ---------------------------------------------------------------------------


def latency(targets: list, boxes: list[Box], warmup: int) -> dict[str, tuple[list, list]]:
    """Sequential requests, interleaved per viewport; name → (seconds, body bytes)."""
    callers = {t.name: t.open() for t in targets}
    for box in boxes[:warmup]:
        for call, _ in callers.values():
            call(box)
    out: dict[str, tuple[list, list]] = {t.name: ([], []) for t in targets}
    names = list(callers)
    for i, box in enumerate(boxes[warmup:]):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            start = time.perf_counter()
            size = callers[name][0](box)
            out[name][0].append(time.perf_counter() - start)
            out[name][1].append(size)
    for _, close in callers.values():
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
    """name → items/s per round (rounds alternate between targets)."""
    for target in targets:  # warm every server's connection pool up to ``clients``
        concurrent(target, boxes[: clients * 2], clients)
    out: dict[str, list[float]] = {t.name: [] for t in targets}
    for r in range(rounds):
        for target in targets[r % len(targets) :] + targets[: r % len(targets)]:
            out[target.name].append(items / concurrent(target, boxes, clients))
    return out


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def same_features(targets: list, boxes: list[Box], key: Callable[[dict], list]) -> list[str]:
    """Differences between the targets' answers for ``boxes`` (empty when they agree)."""
    problems = []
    for box in boxes:
        answers = {t.name: key(t.body(box)) for t in targets}
        first = next(iter(answers.values()))
        problems += [
            f"{name} differs at {bbox_text(box)}" for name, a in answers.items() if a != first
        ]
    return problems


# --- the run -------------------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    s = args.scale
    city = make_city(args.seed, n_communities=max(1, int(100 * s)), n_grids=max(1, int(2000 * s)),
                     n_dept=max(1, int(3000 * s)), n_compounds=max(1, int(20000 * s)),
                     n_buildings=max(1, int(200000 * s)))  # fmt: skip
    bounds = city["building"].total_bounds
    tipg = tipg_version(args.tipg_python)
    cluster, admin = None, args.dsn
    if admin is None:
        from conftest import PostgisCluster

        cluster = PostgisCluster()
        cluster.start()
        admin = cluster.url("postgres").replace("+psycopg", "")
    tmp = Path(tempfile.mkdtemp(prefix="gridmap-bench-serve-"))
    procs: list[subprocess.Popen] = []
    try:
        dsn = fresh_pg(admin, DB_NAME)
        loaded = load_city(city, dsn.replace("postgresql://", "postgresql+psycopg://"), tmp)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            versions = conn.execute(
                "SELECT current_setting('server_version'), postgis_lib_version()"
            ).fetchone()
        print(f"{len(city['building']):,} buildings loaded with gridmap load in {loaded:.0f} s; "
              f"PostgreSQL {versions[0]}, PostGIS {versions[1]}, tipg {tipg or '—'}")  # fmt: skip
        run(args, dsn, bounds, tipg is not None, tmp, procs)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
        if cluster:
            cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, dsn: str, bounds, with_tipg: bool, tmp: Path, procs: list) -> None:
    port = free_port()
    env = {
        **os.environ,
        "GRIDMAP_DATABASE_URL": dsn.replace("postgresql://", "postgresql+psycopg://"),
    }
    gridmap = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "gridmap.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    procs.append(
        start_server(cmd, env, f"{gridmap}/ogc/collections/building", tmp / "gridmap.log", tmp)
    )
    tipg = None
    if with_tipg:
        tport = free_port()
        tipg = f"http://127.0.0.1:{tport}"
        cmd = [args.tipg_python, "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1",
               "--port", str(tport), "--log-level", "warning", "--no-access-log"]  # fmt: skip
        procs.append(start_server(cmd, tipg_env(dsn), f"{tipg}/collections/public.building",
                                  tmp / "tipg.log", tmp))  # fmt: skip
    limit = args.limit
    print(f"{args.requests} viewports per zoom after {args.warmup} warm-up, seed {args.seed}; "
          f"items limit {limit}; {args.clients} concurrent clients × {args.rounds} rounds\n")  # fmt: skip
    rows_map, rows_items = [], []
    per_zoom_boxes = {}
    for zoom, (w, h) in VIEWPORTS.items():
        rng = np.random.default_rng(args.seed + zoom)
        boxes = viewports(bounds, w, h, args.requests + args.warmup, rng)
        per_zoom_boxes[zoom] = boxes
        rows_map.append(measure_map(zoom, boxes, gridmap, dsn, args.warmup))
        rows_items.append(measure_items(zoom, boxes, gridmap, tipg, dsn, limit, args.warmup))
    print_map(rows_map)
    print_items(rows_items, tipg is not None)
    boxes = per_zoom_boxes[14][args.warmup :]
    print_throughput(boxes, gridmap, tipg, dsn, args)


def items_targets(gridmap: str, tipg: str | None, dsn: str, limit: int) -> list:
    def params(box: Box) -> dict:
        return {"bbox": bbox_text(box), "limit": limit}

    targets = [
        HttpTarget("gridmap", gridmap, "/ogc/collections/building/items", params),
        SqlTarget("direct", dsn, ITEMS_SQL, lambda box: sql_params(box, limit=limit)),
    ]
    if tipg:
        targets.append(HttpTarget("tipg", tipg, "/collections/public.building/items",
                                  lambda box: params(box) | {"sortby": "code"}))  # fmt: skip
    return targets


def measure_map(zoom: int, boxes: list[Box], gridmap: str, dsn: str, warmup: int) -> dict:
    tolerance = half_pixel(zoom)
    geom = "ST_SimplifyPreserveTopology(geom, %(tolerance)s)" if tolerance else "geom"

    def params(box: Box) -> dict:
        return {"bbox": bbox_text(box), "zoom": zoom}

    path = "/api/layers/building/features"
    targets = [
        HttpTarget("gridmap", gridmap, path, params),
        SqlTarget(
            "direct", dsn, MAP_SQL.format(geom=geom), lambda b: sql_params(b, tolerance=tolerance)
        ),
        HttpTarget("gridmap gzip", gridmap, path, params, gzip=True),
    ]

    def codes(doc: dict) -> list:
        return sorted((f["properties"]["code"], json.dumps(f["geometry"])) for f in doc["features"])

    problems = same_features(targets[:2], boxes[:5], codes)
    counts = [len(targets[1].body(b)["features"]) for b in boxes[warmup : warmup + 20]]
    return {"zoom": zoom, "features": statistics.median(counts), "problems": problems,
            "times": latency(targets, boxes, warmup)}  # fmt: skip


def measure_items(zoom, boxes, gridmap, tipg, dsn, limit, warmup) -> dict:
    targets = items_targets(gridmap, tipg, dsn, limit)

    def codes(doc: dict) -> list:
        return [doc["numberMatched"], [f["properties"]["code"] for f in doc["features"]]]

    problems = same_features(targets, boxes[:5], codes)
    counts = [targets[1].body(b)["numberReturned"] for b in boxes[warmup : warmup + 20]]
    return {"zoom": zoom, "features": statistics.median(counts), "problems": problems,
            "times": latency(targets, boxes, warmup)}  # fmt: skip


def cell(times: tuple[list, list]) -> str:
    return f"{pct(times[0], 50):.1f} / {pct(times[0], 95):.1f} ms"


def ratio(a: tuple[list, list], b: tuple[list, list]) -> tuple[float, float]:
    return pct(a[0], 50) / pct(b[0], 50), pct(a[0], 95) / pct(b[0], 95)


def verdict(r: float) -> str:
    return "met" if r <= TARGET else "**not met**"


def print_map(rows: list[dict]) -> None:
    print("Map endpoint /api/layers/building/features?bbox&zoom, sequential, p50 / p95\n")
    print("| zoom | features | gridmap | direct PostGIS | gridmap / direct (p50, p95) | "
          f"≤ {TARGET}× | gridmap with gzip | body gridmap / direct |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        t = row["times"]
        r50, r95 = ratio(t["gridmap"], t["direct"])
        size = statistics.median(t["gridmap"][1]) / statistics.median(t["direct"][1])
        print(f"| {row['zoom']} | {row['features']:.0f} | {cell(t['gridmap'])} | {cell(t['direct'])} "
              f"| **{r50:.2f}×**, {r95:.2f}× | {verdict(r50)} | {cell(t['gridmap gzip'])} "
              f"| {statistics.median(t['gridmap'][1]) / 1024:.0f} KiB / {size:.2f} |")  # fmt: skip
        for problem in row["problems"]:
            print(f"  ! {problem}")
    print()


def print_items(rows: list[dict], with_tipg: bool) -> None:
    print("Items endpoint /ogc/collections/building/items?bbox&limit, sequential, p50 / p95\n")
    head = "| zoom | items | gridmap | direct PostGIS | gridmap / direct (p50, p95) | ≤ 1.5× |"
    print(head + (" tipg | gridmap / tipg (p50, p95) |" if with_tipg else ""))
    print("|---|---|---|---|---|---|" + ("---|---|" if with_tipg else ""))
    for row in rows:
        t = row["times"]
        r50, r95 = ratio(t["gridmap"], t["direct"])
        line = (f"| {row['zoom']} | {row['features']:.0f} | {cell(t['gridmap'])} | "
                f"{cell(t['direct'])} | **{r50:.2f}×**, {r95:.2f}× | {verdict(r50)} |")  # fmt: skip
        if with_tipg:
            q50, q95 = ratio(t["gridmap"], t["tipg"])
            line += f" {cell(t['tipg'])} | {q50:.2f}×, {q95:.2f}× |"
        print(line)
        for problem in row["problems"]:
            print(f"  ! {problem}")
    print()


def print_throughput(boxes: list[Box], gridmap: str, tipg: str | None, dsn: str, args) -> None:
    with psycopg.connect(dsn) as conn:
        items = sum(
            min(args.limit, conn.execute(COUNT_SQL, sql_params(b)).fetchone()[0]) for b in boxes
        )
    targets = items_targets(gridmap, tipg, dsn, args.limit)
    rates = throughput(targets, boxes, items, args.clients, args.rounds)
    print(f"Items throughput, zoom-14 viewports, {len(boxes)} requests of up to {args.limit} items, "
          f"{args.clients} concurrent clients, median of {args.rounds} rounds\n")  # fmt: skip
    print("| target | items/s (min–max) | time per item vs gridmap |")
    print("|---|---|---|")
    ours = statistics.median(rates["gridmap"])
    for name, values in rates.items():
        mid = statistics.median(values)
        print(f"| {name} | {mid:,.0f} ({min(values):,.0f}–{max(values):,.0f}) | "
              f"gridmap is {mid / ours:.2f}× |")  # fmt: skip
    r = statistics.median(rates["direct"]) / ours
    print(f"\ngridmap / direct (throughput): **{r:.2f}×** — ≤ {TARGET}× {verdict(r)}")


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
    parser.add_argument("--tipg-python", help="python of a venv with tipg and uvicorn")
    return parser.parse_args()


if __name__ == "__main__":
    main()

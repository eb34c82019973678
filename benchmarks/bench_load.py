"""Load test: coordinators using the map at once, against ``gridmap serve`` on PostGIS.

The seeded synthetic city (``benchmarks/synthcity.py``: 200,000 buildings, 20,000 compounds, 2,000
Party grid cells at scale 1, plus members and one Party service station per community) is loaded
into a fresh PostGIS database with ``gridmap load`` and analysed with ``gridmap analyze``. An
account and an API token are made with ``gridmap user add`` / ``gridmap user token``, and
``gridmap serve`` runs as a real uvicorn process on 127.0.0.1 (``--workers`` processes, one unless
asked; ``benchmarks/serving.py``). Users come once every process has drawn its kept answers, as
on a server started before the working day; with ``--cold`` they come as it starts.

Then ``--users`` virtual coordinators (one ``httpx.AsyncClient`` each, at most 6 connections as a
browser, the token as a bearer header on every request) loop over sessions for ``--duration``
seconds, each keeping answers as a browser's cache does (asked again with ``If-None-Match``; a
304 gives back its copy), with a think time between actions (``--think``: 0–1 s by default, far
busier than a person reading the panel; ``--think 3,8`` is closer to one). A session asks what the map in
``web/static/gridmap/map.js`` asks, from the ``/map`` page's own configuration:

- open ``/map``; ``/api/layers`` and ``/api/summary`` (the overview); the whole-layer loads of
  the layers drawn at every zoom (``?zoom=…``) for the view that fits the city; the figures of
  every subdistrict, community and grid, then the gaps of the kinds shown at start in that view
  (one ``/api/gaps?kind=a,b,…&bbox=…&zoom=…``) and the gap list (``/api/gaps/list?kind=…``);
- then 5–20 views at random places and zooms 14–17 (a 1000 × 680 px map beside the panel):
  compounds and, from zoom 16, buildings for the view padded by 20 % (``?bbox=…&zoom=…``), the
  whole-layer loads again when the zoom changed, and the gaps of the padded view; the Party grid
  is switched on as well;
- after most views a click on a compound, unified grid cell or community in view
  (``/api/figures/{level}/{code}``), and after a quarter of them an OGC items page of the view
  (``/ogc/collections/{id}/items?bbox=…&limit=1000``), as QGIS asks.

Prints per endpoint and overall: requests, requests/s, p50 / p95 / p99 latency, bytes sent, 304s,
errors (any answer other than 2xx or an expected 304, or a transport error, listed by status and
path), then latency by when requests were sent; exits 1 if there was any error.

    .venv/bin/python benchmarks/bench_load.py [--users 50] [--duration 120] [--scale 1.0]
        [--members N] [--seed 20261125] [--workers N] [--think LOW,HIGH] [--cold]
        [--dsn postgresql://postgres@127.0.0.1:5432/postgres [--reuse]]

Without ``--dsn`` a throwaway cluster is started (as the tests do); with it, the database
``gridmap_bench_load`` is (re)created on that server, or with ``--reuse`` taken as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import math
import os
import random
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.load_report import Record, report  # noqa: E402
from benchmarks.serving import (  # noqa: E402
    Gridmap,
    cpu_seconds,
    database,
    gridmap,
    load_city,
    pg_url,
    postgis,
    start_gridmap,
    vacuum,
)
from benchmarks.synthcity import city_at  # noqa: E402

DB_NAME = "gridmap_bench_load"
SCREEN = (1000, 680)  # the map beside the 22rem panel on a 1366 × 768 laptop, in pixels
TARGET_P95_MS = 500.0
ITEMS = ("building", "compound", "grid_party")
CLICKS = (("compound", 0.5), ("grid", 0.35), ("community", 0.15))
CONFIG = re.compile(r"data-config='([^']*)'")


# --- what the map asks for a view -----------------------------------------------------------


def mercator(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def latitude(y: float) -> float:
    return math.degrees(2 * math.atan(math.exp(y)) - math.pi / 2)


def fit_zoom(bounds) -> int:
    """The zoom Leaflet's ``fitBounds`` picks for ``bounds`` on the map (integer zooms)."""
    x0, y0, x1, y1 = bounds
    zx = math.log2(SCREEN[0] * 360 / (256 * (x1 - x0)))
    zy = math.log2(SCREEN[1] * 2 * math.pi / (256 * (mercator(y1) - mercator(y0))))
    return max(0, math.floor(min(zx, zy)))


def view_box(lon: float, lat: float, zoom: int, pad: float = 0.0) -> tuple[float, ...]:
    """The map's bounds around a centre at ``zoom``; ``pad`` as Leaflet's ``getBounds().pad``."""
    world = 256 * 2**zoom
    dx, dy = SCREEN[0] / 2 * 360 / world, SCREEN[1] / 2 * 2 * math.pi / world
    y = mercator(lat)
    x0, x1, s, n = lon - dx, lon + dx, latitude(y - dy), latitude(y + dy)
    bx, by = (x1 - x0) * pad, (n - s) * pad
    return x0 - bx, s - by, x1 + bx, n + by


class City:
    """Codes a coordinator can click on in a view: compounds from the seeded frames, grids from
    the figures the map loaded."""

    def __init__(self, city: dict) -> None:
        self.bounds = tuple(float(v) for v in city["community"].total_bounds)
        compounds = city["compound"]
        self.tree = shapely.STRtree(compounds.geometry.values)
        self.compound = compounds["code"].to_numpy()
        self.community = compounds["community_code"].to_numpy()
        self.grids: dict[str, list[str]] | None = None

    def learn_grids(self, rows: list[dict]) -> None:
        grids = defaultdict(list)
        for row in rows:
            grids[row.get("community_code")].append(row["code"])
        self.grids = dict(grids)

    def click(self, box, rng: random.Random) -> tuple[str, str] | None:
        hits = self.tree.query(shapely.box(*box))
        if not len(hits):
            return None
        k = int(hits[rng.randrange(len(hits))])
        level = rng.choices([c for c, _ in CLICKS], [w for _, w in CLICKS])[0]
        community = str(self.community[k])
        if level == "grid" and self.grids and self.grids.get(community):
            return "grid", rng.choice(self.grids[community])
        if level == "community":
            return "community", community
        return "compound", str(self.compound[k])


# --- the users ------------------------------------------------------------------------------


class Coordinator:
    """One virtual user: a browser's connections, a seeded random walk over the city."""

    def __init__(self, n: int, base: str, token: str, city: City, record: Record, seed: int,
                 think_s: tuple[float, float] = (0.0, 1.0)):  # fmt: skip
        self.rng = random.Random(seed * 1000 + n)
        self.think_s = think_s
        self.city, self.record = city, record
        self.client = httpx.AsyncClient(
            base_url=base,
            headers={"Authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=6),
            timeout=60,
        )
        self.loaded: dict[str, str] = {}
        self.held: dict[str, httpx.Response] = {}  # the browser's HTTP cache: URL → answer
        self.kinds = ""  # the gap kinds shown at start, comma-separated
        self.deadline = 0.0

    async def get(self, label: str, url: str, headers: dict | None = None) -> httpx.Response | None:
        """GET ``url`` as a browser's ``fetch`` does: what it holds from an earlier answer (with
        an ETag) it asks about with ``If-None-Match``, and a 304 gives it back the body it has."""
        if time.monotonic() >= self.deadline:
            return None
        self.record.count[label] += 1
        held = self.held.get(url)
        headers = {**(headers or {}), **({"If-None-Match": held.headers["etag"]} if held else {})}
        start = time.perf_counter()
        try:
            response = await self.client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            self.record.error(label, type(exc).__name__)
            return None
        self.record.times[label].append(time.perf_counter() - start)
        self.record.timeline.append((start, time.perf_counter() - start))
        self.record.sizes[label].append(int(response.headers.get("content-length", 0)))
        if response.status_code == 304 and held is not None:
            self.record.revalidated[label] += 1
            return held
        if not response.is_success:
            self.record.error(label, str(response.status_code))
            return None
        if "etag" in response.headers:
            self.held[url] = response
        return response

    async def think(self) -> None:
        await asyncio.sleep(self.rng.uniform(*self.think_s))

    async def run(self, deadline: float, ramp: float) -> None:
        self.deadline = deadline
        await asyncio.sleep(self.rng.uniform(0.0, ramp))
        try:
            while time.monotonic() < deadline:
                await self.session()
        finally:
            await self.client.aclose()

    async def session(self) -> None:
        page = await self.get("/map", "/map")
        if page is None:
            return await self.think()
        config = json.loads(html.unescape(CONFIG.search(page.text).group(1)))
        first_grid = next(s["layer"] for s in config["layers"] if s["layer"].startswith("grid:"))
        shown = {"grid:party", first_grid}  # the Party grid switched on beside the default one
        layers = [s for s in config["layers"] if (s["visible"] or s["layer"] in shown) and not s.get("url")]  # fmt: skip
        self.loaded.clear()
        self.kinds = ",".join(g["kind"] for g in config["gaps"] if g["count"] and g["visible"])
        await asyncio.gather(self.get("/api/layers", "/api/layers"), self.get("/api/summary", "/api/summary"))  # fmt: skip
        x0, y0, x1, y1 = self.city.bounds
        start = ((x0 + x1) / 2, (y0 + y1) / 2, fit_zoom(self.city.bounds))
        await asyncio.gather(self.view(layers, *start, gaps=False), self.start_panel(config, start))  # fmt: skip
        await self.think()
        for _ in range(self.rng.randint(5, 20)):
            if time.monotonic() >= self.deadline:
                return
            lon, lat = self.rng.uniform(x0, x1), self.rng.uniform(y0, y1)
            zoom = self.rng.randint(14, 17)
            await self.view(layers, lon, lat, zoom)
            await self.think()
            box = view_box(lon, lat, zoom)
            if self.rng.random() < 0.7 and (unit := self.city.click(box, self.rng)):
                level, code = unit
                await self.get(f"/api/figures/{level}/{{code}}", f"/api/figures/{level}/{code}")
                await self.think()
            if self.rng.random() < 0.25:
                cid = self.rng.choice(ITEMS)
                bbox = ",".join(f"{v:.6f}" for v in box)
                url = f"/ogc/collections/{cid}/items?bbox={bbox}&limit=1000"
                await self.get(f"/ogc/collections/{cid}/items", url, {"Accept": "application/geo+json"})  # fmt: skip
                await self.think()

    async def start_panel(self, config: dict, start: tuple[float, float, int]) -> None:
        """map.js at start: figures of every level, then the gaps of the view and the gap list."""
        if config["analysed"]:
            levels = ("subdistrict", "community", "grid")
            answers = await asyncio.gather(
                *(self.get(f"/api/figures?level={lv}", f"/api/figures?level={lv}") for lv in levels)
            )
            if self.city.grids is None and answers[2] is not None:
                self.city.learn_grids(answers[2].json())
        if self.kinds:
            url = f"/api/gaps/list?kind={self.kinds}&limit=300"
            await asyncio.gather(self.gaps(*start), self.get("/api/gaps/list?kind=…", url))

    async def gaps(self, lon: float, lat: float, zoom: int) -> None:
        """map.js's ``loadGapView``: the shown kinds' gaps in the padded view, in one request."""
        if self.kinds:
            zoom = min(zoom, 17)
            box = ",".join(f"{v:.4f}" for v in view_box(lon, lat, zoom, pad=0.2))
            url = f"/api/gaps?kind={self.kinds}&bbox={box}&zoom={zoom}"
            await self.get(f"/api/gaps?kind=…&bbox=…&zoom={zoom}", url)

    async def view(self, layers: list[dict], lon: float, lat: float, zoom: int, gaps=True) -> None:
        """map.js on ``moveend``: every shown layer whose URL changed, and the view's gaps, all
        at once."""
        calls = [self.gaps(lon, lat, zoom)] if gaps else []
        for spec in layers:
            if zoom < spec["min_zoom"]:
                self.loaded.pop(spec["key"], None)
                continue
            path = f"/api/layers/{spec['layer']}/features"
            if spec["min_zoom"] > 0:
                box = ",".join(f"{v:.4f}" for v in view_box(lon, lat, zoom, pad=0.2))
                url, label = f"{path}?bbox={box}&zoom={zoom}", f"{path}?bbox=…&zoom={zoom}"
            else:
                url, label = f"{path}?zoom={min(zoom, 17)}", f"{path}?zoom=…"
            if self.loaded.get(spec["key"]) != url:
                self.loaded[spec["key"]] = url
                calls.append(self.get(label, url))
        await asyncio.gather(*calls)


# --- the city, the database and the server --------------------------------------------------


def prepare(city: dict, url: str, folder: Path) -> float:
    """Load the city with its members and stations, and analyse it, as users do; seconds."""
    start = time.perf_counter()
    load_city(city, url, folder)
    gridmap(["analyze", "--out", str(folder / "report")], url, folder)
    return time.perf_counter() - start


# --- the run and the report -----------------------------------------------------------------


async def load(base: str, token: str, city: City, args) -> tuple[Record, float]:
    record = Record()
    users = [Coordinator(n, base, token, city, record, args.seed, args.think) for n in range(args.users)]  # fmt: skip
    start = time.monotonic()
    deadline = start + args.duration
    await asyncio.gather(*(u.run(deadline, ramp=min(5.0, args.duration / 4)) for u in users))
    return record, time.monotonic() - start


def main() -> int:
    args = parse_args()
    city = city_at(args.scale, args.seed, args.members)
    with (
        tempfile.TemporaryDirectory(prefix="gridmap-bench-load-") as folder,
        postgis(args.dsn) as admin,
    ):
        tmp = Path(folder)
        dsn = database(admin, DB_NAME, args.reuse)
        loaded = "(reused)"
        if not args.reuse:
            loaded = f"loaded and analysed in {prepare(city, pg_url(dsn), tmp):.0f} s"
        pg, postgis_version = vacuum(dsn)
        server = start_gridmap(pg_url(dsn), tmp, workers=args.workers)
        try:
            ready = "users at once after start (cold)"
            if not args.cold:  # as a server started before the working day: answers drawn
                ready = f"users after the server drew its kept answers ({server.seeded(args.workers):.0f} s)"  # fmt: skip
            print(f"{len(city['building']):,} buildings, {len(city['compound']):,} compounds, "
                  f"{len(city['grid_party']):,} Party grid cells, {len(city.get('member', [])):,} "
                  f"members, seed {args.seed}, {loaded}; PostgreSQL {pg}, PostGIS "
                  f"{postgis_version}; gridmap serve: {args.workers} process(es); {args.users} users "
                  f"for {args.duration:.0f} s, think time {args.think[0]:g}–{args.think[1]:g} s; {ready}")  # fmt: skip
            return measure(server, City(city), args)
        finally:
            server.stop()


def measure(server: Gridmap, city: City, args) -> int:
    """The load run with the machine's figures around it, the report; 1 if there was an error."""
    before = os.getloadavg()
    machine, ours, client = cpu_seconds(), cpu_seconds(server.proc.pid), time.process_time()
    record, seconds = asyncio.run(load(server.base, server.token, city, args))
    machine, ours = cpu_seconds() - machine, cpu_seconds(server.proc.pid) - ours
    client = time.process_time() - client
    after = os.getloadavg()
    print(f"load average before {before[0]:.2f} / {before[1]:.2f} / {before[2]:.2f}, after "
          f"{after[0]:.2f} / {after[1]:.2f} / {after[2]:.2f}; {seconds:.1f} s wall; CPU "
          f"busy {machine / seconds:.2f} of {os.cpu_count()} cores (gridmap serve "
          f"{ours / seconds:.2f}, this client {client / seconds:.2f})\n")  # fmt: skip
    p95, errors = report(record, seconds)
    met = errors == 0 and p95 < TARGET_P95_MS
    print(f"\nTarget (no errors, p95 < {TARGET_P95_MS:.0f} ms): "
          f"{'met' if met else '**not met**'} ({errors} errors, p95 {p95:.0f} ms)")  # fmt: skip
    if errors:
        found = server.exceptions()
        print("\nExceptions in the server's log:" if found else "\nNo exception in its log.")
        for text, n in found.most_common(10):
            print(f"- {n} × {text}")
    return 1 if errors else 0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent virtual users")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full city")
    parser.add_argument("--members", type=int, default=None, help="default 1,000,000 × scale")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--think", default="0,1", type=lambda s: tuple(float(v) for v in s.split(",")),
                        help="think time between actions, LOW,HIGH seconds")  # fmt: skip
    parser.add_argument("--cold", action="store_true",
                        help="users come as the server starts, before it drew its kept answers")  # fmt: skip
    parser.add_argument("--workers", type=int, default=1,
                        help="gridmap serve --workers (one process per core)")  # fmt: skip
    parser.add_argument(
        "--dsn", help="admin URL of a running PostGIS server (else a throwaway one)"
    )
    parser.add_argument("--reuse", action="store_true",
                        help=f"with --dsn: {DB_NAME} already holds this city")  # fmt: skip
    return parser.parse_args()


if __name__ == "__main__":
    sys.exit(main())

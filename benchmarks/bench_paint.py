"""Painting benchmark: the touched cells dissolved from their units after each stroke (issue 17).

The seeded synthetic city (``benchmarks/synthcity.py``: 20,000 compounds, 2,000 Party grid cells,
200,000 buildings and 1,000,000 members at size 1) is loaded into PostGIS with ``gridmap load``,
its unit fabric made with ``gridmap integrate`` (the users' path), ``gridmap serve`` started as a
real uvicorn process and a planner's account made with an API token (``benchmarks/serving.py``).
The Party grid as a unit table (``GET /api/fabric/assignment?layer=party``, as the editor opens
it) is then painted with seeded strokes: each moves 1–5 neighbouring units of one cell into a
neighbouring cell of the same community, and then, as the editor does, posts the units of the two
touched cells to ``POST /api/fabric/cells`` (HTTP, keep-alive) and times the answer.

The peer: one PostGIS statement computing the same dissolves and figures for the same touched
cells (``ST_Union`` of the units' geometries grouped by cell, sums of households, buildings and
members, band status), through psycopg, in the same run; with them the HTTP floor (a constant
document behind the same login), the three interleaved in an order that rotates, so that drift on
a shared machine falls on all alike. Every answer is compared: households
per cell equal, areas within 1e-6 relative. The target is gridmap's p95 < 300 ms at size 1.

    .venv/bin/python benchmarks/bench_paint.py [--size 1.0] [--strokes 200] [--warmup 10]
        [--seed 20261125] [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

Without ``--postgres`` a throwaway cluster is started (as the tests do); with it, the database
``gridmap_bench_paint`` is created afresh on that server.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import deque
from contextlib import ExitStack
from pathlib import Path

import geopandas as gpd
import httpx
import numpy as np
import psycopg
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.serving import (  # noqa: E402
    PASSWORD,
    TOKEN,
    database,
    gridmap,
    load_city,
    pg_url,
    postgis,
    start_gridmap,
    vacuum,
)
from benchmarks.synthcity import city_at  # noqa: E402
from gridmap.config import Settings  # noqa: E402

TARGET_MS = 300.0
DB_NAME = "gridmap_bench_paint"
PLANNER = "painter"
SUBDISTRICT = "S0001"  # the one subdistrict holding the whole city: the planner's area
PAINT_PATH = "/api/fabric/cells"
FLOOR_PATH = "/ogc/conformance"
MAX_MOVED = 5  # units moved by one stroke: 1 to this many

# the same dissolves and figures as POST /api/fabric/cells, in one statement
PEER_SQL = """
WITH a AS (SELECT * FROM unnest(%(units)s::text[], %(cells)s::text[]) AS a(unit_code, cell_code))
SELECT a.cell_code, sum(f.households)::bigint AS households, sum(f.buildings)::bigint,
       sum(f.members_full)::bigint, sum(f.members_probationary)::bigint, count(*),
       CASE WHEN sum(f.households) < %(low)s THEN 'below'
            WHEN sum(f.households) > %(high)s THEN 'above' ELSE 'within' END AS band,
       ST_AsBinary(ST_Union(f.geom)) AS geom
FROM a JOIN fabric_unit f ON f.code = a.unit_code
GROUP BY a.cell_code ORDER BY a.cell_code
"""


# --- the fabric and the strokes -------------------------------------------------------------


class Painting:
    """The assignment being painted: unit → cell, cell → units, and who neighbours whom."""

    def __init__(self, codes: list[str], geoms: np.ndarray, communities: list[str], cell_of: dict):
        self.codes = codes
        self.cell_of = {u: cell_of[u] for u in codes if cell_of.get(u)}
        self.units_of: dict[str, set[str]] = {}
        for unit, cell in self.cell_of.items():
            self.units_of.setdefault(cell, set()).add(unit)
        left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        self.neighbours: dict[str, list[str]] = {u: [] for u in codes}
        for i, j in zip(left.tolist(), right.tolist(), strict=True):
            if i != j and communities[i] == communities[j]:
                self.neighbours[codes[i]].append(codes[j])

    def stroke(self, rng: np.random.Generator) -> tuple[set[str], str, str]:
        """Seeded: 1–5 neighbouring units of one cell moved into a neighbouring cell of the same
        community (never the cell's last unit); the units moved, the cell left, the cell entered."""
        while True:
            start = self.codes[int(rng.integers(len(self.codes)))]
            source = self.cell_of.get(start)
            targets = sorted({self.cell_of.get(n) for n in self.neighbours[start]} - {source, None})
            if source is None or not targets or len(self.units_of[source]) < 2:
                continue
            target = targets[int(rng.integers(len(targets)))]
            limit = min(int(rng.integers(1, MAX_MOVED + 1)), len(self.units_of[source]) - 1)
            moved, todo = [], deque([start])
            while todo and len(moved) < limit:  # a connected brush of units of the source cell
                unit = todo.popleft()
                if unit in moved or self.cell_of.get(unit) != source:
                    continue
                moved.append(unit)
                todo.extend(self.neighbours[unit])
            for unit in moved:
                self.cell_of[unit] = target
                self.units_of[source].discard(unit)
                self.units_of[target].add(unit)
            return set(moved), source, target

    def request(self, cells: list[str]) -> dict:
        """What the editor posts: every unit of the touched cells, and their names."""
        units = {u: c for c in cells for u in sorted(self.units_of[c])}
        return {"units": units, "names": {c: c for c in cells}}


def read_units(dsn: str) -> tuple[list[str], np.ndarray, list[str]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT code, community_code, ST_AsBinary(geom) FROM fabric_unit ORDER BY code"
        ).fetchall()
    return [r[0] for r in rows], shapely.from_wkb([r[2] for r in rows]), [r[1] for r in rows]


# --- one stroke, both ways ------------------------------------------------------------------


def ours(client: httpx.Client, body: dict) -> dict[str, tuple[int, float]]:
    response = client.post(PAINT_PATH, json=body)
    response.raise_for_status()
    features = response.json()["features"]
    areas = shapely.area(shapely.from_geojson([json.dumps(f["geometry"]) for f in features]))
    return {
        f["properties"]["code"]: (int(f["properties"]["households"]), float(a))
        for f, a in zip(features, areas, strict=True)
    }


def floor(client: httpx.Client) -> None:
    """The HTTP floor: a constant document behind the same login (what any request costs)."""
    client.get(FLOOR_PATH).raise_for_status()


def peer(pg: psycopg.Connection, body: dict, band: tuple[int, int]) -> list[tuple]:
    units, cells = list(body["units"]), list(body["units"].values())
    params = {"units": units, "cells": cells, "low": band[0], "high": band[1]}
    return pg.execute(PEER_SQL, params).fetchall()


def peer_answer(rows: list[tuple]) -> dict[str, tuple[int, float]]:
    areas = shapely.area(shapely.from_wkb([bytes(r[-1]) for r in rows]))
    return {r[0]: (int(r[1]), float(a)) for r, a in zip(rows, areas, strict=True)}


def agree(a: dict, b: dict) -> bool:
    """Same cells, same households, areas within 1e-6 relative."""
    return a.keys() == b.keys() and all(
        a[c][0] == b[c][0] and abs(a[c][1] - b[c][1]) <= 1e-6 * max(a[c][1], b[c][1]) for c in a
    )


# --- the run --------------------------------------------------------------------------------


def with_subdistrict(city: dict) -> dict:
    """The city as one subdistrict (街道) of all its communities: a planner's account needs an
    area, and a subdistrict's planner paints any of its communities."""
    communities = city["community"].assign(subdistrict_code=SUBDISTRICT)
    whole = shapely.union_all(communities.geometry.values)
    subdistrict = gpd.GeoDataFrame(
        {"code": [SUBDISTRICT], "name": ["演示街道"]}, geometry=[whole], crs=communities.crs
    )
    return {**city, "community": communities, "subdistrict": subdistrict}


def load_subdistrict(city: dict, url: str, folder: Path) -> None:
    path = folder / "subdistrict.gpkg"
    city["subdistrict"].to_file(path)
    gridmap(["load", "subdistrict", str(path)], url, folder)


def planner_headers(url: str, folder: Path) -> dict[str, str]:
    """A planner of the subdistrict and its API token, made as users make them."""
    add = ["user", "add", PLANNER, "--role", "planner", "--area", SUBDISTRICT]
    gridmap([*add, "--password", PASSWORD], url, folder)
    found = TOKEN.search(gridmap(["user", "token", PLANNER, "--label", "benchmark"], url, folder))
    if not found:
        raise SystemExit("gridmap user token printed no token")
    return {"Authorization": f"Bearer {found.group(0)}"}


def timed(call, *args):
    start = time.perf_counter()
    out = call(*args)
    return out, time.perf_counter() - start


def paint(base: str, headers: dict, dsn: str, args) -> None:
    settings = Settings()
    band = (settings.grid_households_min, settings.grid_households_max)
    client = httpx.Client(base_url=base, headers=headers, timeout=120)
    with client, psycopg.connect(dsn, autocommit=True) as pg:
        (table, took) = timed(client.get, "/api/fabric/assignment?layer=party")
        table.raise_for_status()
        cell_of = {r["unit_code"]: r["cell_code"] for r in table.json()["units"]}
        print(f"the Party grid as a unit table (GET /api/fabric/assignment): {took:.1f} s")
        painting = Painting(*read_units(dsn), cell_of=cell_of)
        rng = np.random.default_rng(args.seed)
        times: dict[str, list[float]] = {"gridmap": [], "peer": [], "floor": []}
        sizes, moved, differing = [], [], 0
        for i in range(args.warmup + args.strokes):
            units, source, target = painting.stroke(rng)
            body = painting.request(sorted({source, target}))
            calls = [(ours, client, body), (peer, pg, body, band), (floor, client)]
            calls = calls[i % 3 :] + calls[: i % 3]  # the order rotates, so drift falls on all
            answers = {call[0].__name__: timed(*call) for call in calls}
            differing += not agree(answers["ours"][0], peer_answer(answers["peer"][0]))
            if i >= args.warmup:
                for name, key in (("gridmap", "ours"), ("peer", "peer"), ("floor", "floor")):
                    times[name].append(answers[key][1])
                sizes.append(len(body["units"]))
                moved.append(len(units))
        report(times, sizes, moved, differing, args)
        first_stroke(client, pg, painting, band)


def first_stroke(client: httpx.Client, pg: psycopg.Connection, painting: Painting, band) -> None:
    """The editor's first stroke redraws every cell the planner may paint (here: all of them)."""
    body = painting.request(sorted(painting.units_of))
    (a, ta), (b, tb) = timed(ours, client, body), timed(peer, pg, body, band)
    same = "agree" if agree(a, peer_answer(b)) else "DIFFER"
    print(f"\nfirst stroke (every cell redrawn: {len(a):,} cells, {len(body['units']):,} units): "
          f"gridmap {ta:.2f} s, PostGIS {tb:.2f} s; answers {same}")  # fmt: skip


def ms(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def report(times: dict, sizes: list, moved: list, differing: int, args) -> None:
    g, p = times["gridmap"], times["peer"]
    print(f"\n{len(g)} strokes after {args.warmup} warm-up ones (seed {args.seed}): "
          f"{np.mean(moved):.1f} units moved per stroke, {np.median(sizes):.0f} units posted "
          f"(median; {min(sizes)}–{max(sizes)})\n")  # fmt: skip
    print("| | median | p95 | max |\n|---|---|---|---|")
    for name, values in (("gridmap `POST /api/fabric/cells` (HTTP)", g),
                         ("one PostGIS statement (psycopg)", p),
                         (f"HTTP floor: `GET {FLOOR_PATH}` (same login)", times["floor"])):  # fmt: skip
        print(f"| {name} | {ms(values, 50):.1f} ms | {ms(values, 95):.1f} ms "
              f"| {max(values) * 1000:.1f} ms |")  # fmt: skip
    print(f"| ratio gridmap / PostGIS | {ms(g, 50) / ms(p, 50):.2f}× | {ms(g, 95) / ms(p, 95):.2f}× | |")  # fmt: skip
    verdict = "met" if ms(g, 95) < TARGET_MS else "NOT met"
    print(f"\np95 < {TARGET_MS:.0f} ms: {verdict}; answers differing from the peer's "
          f"(households per cell, area within 1e-6): {differing} of {len(g) + args.warmup}")  # fmt: skip


def main() -> None:
    args = parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    city = with_subdistrict(city_at(args.size, args.seed))
    print(f"city (size {args.size}): {len(city['compound']):,} compounds, "
          f"{len(city['grid_party']):,} Party grid cells, {len(city['building']):,} buildings, "
          f"{len(city['member']):,} members")  # fmt: skip
    with (
        tempfile.TemporaryDirectory(prefix="gridmap-bench-paint-") as folder,
        postgis(args.postgres) as admin,
        ExitStack() as running,
    ):
        tmp = Path(folder)
        dsn = database(admin, DB_NAME)
        url = pg_url(dsn)
        took = load_city(city, url, tmp)
        load_subdistrict(city, url, tmp)
        print(f"loaded with gridmap load in {took:.0f} s")
        start = time.perf_counter()
        gridmap(["integrate"], url, tmp)
        pg_version, postgis_version = vacuum(dsn)
        with psycopg.connect(dsn) as conn:
            n_units = conn.execute("SELECT count(*) FROM fabric_unit").fetchone()[0]
        print(f"gridmap integrate (unit fabric: {n_units:,} units) in "
              f"{time.perf_counter() - start:.0f} s; PostgreSQL {pg_version}, "
              f"PostGIS {postgis_version}")  # fmt: skip
        server = start_gridmap(url, tmp)
        running.callback(server.stop)
        paint(server.base, planner_headers(url, tmp), dsn, args)
        print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=float, default=1.0, help="fraction of the full city")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--strokes", type=int, default=200, help="timed strokes")
    parser.add_argument("--warmup", type=int, default=10, help="untimed strokes first")
    parser.add_argument("--postgres", help="admin URL of a running PostGIS server (else a throwaway one)")  # fmt: skip
    return parser.parse_args()


if __name__ == "__main__":
    main()

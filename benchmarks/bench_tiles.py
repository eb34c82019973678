"""Street level drawn from vector tiles: gridmap's ``/api/tiles/building/{z}/{x}/{y}.mvt`` vs the
same ``ST_AsMVT`` statement run directly in PostGIS, and a street-level view drawn from tiles vs
drawn from one GeoJSON view (the map's path before the tiles).

The seeded synthetic city (``benchmarks/synthcity.py``) is loaded into a throwaway PostGIS with
``gridmap load``; ``gridmap serve`` runs as a real uvicorn process (``benchmarks/serving.py``), and
seeded street-level views at zoom 17 (a 1280 × 800 map) are drawn: each view is the tiles it
covers, asked one after another over one keep-alive connection (a browser asks six at a time:
sequential times are the conservative sum). Every request is timed beside the direct statement
for the same tile, in alternating order:

1. **first ask**: the first time the server is asked for a tile (PostGIS writes it, the server
   keeps it);
2. **kept**: the same tiles asked again, as by the next coordinator looking at those streets (the
   server sends what it kept; the browser's own copy, revalidated with its ETag, costs less still);
3. **one GeoJSON view**: ``/api/layers/building/features?bbox=…&zoom=17``, the request per view the
   map made before, against its direct statement (``sql/serve_map.sql``), for scale.

The target of issue 21 for the map at zoom 17 is gridmap ≤ 2× the direct statement. Before
timing, a few tiles are decoded from both and compared (the same buildings).

    .venv/bin/python benchmarks/bench_tiles.py [--scale 0.1] [--views 100] [--seed N]
        [--dsn postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import httpx
import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_serve import viewports  # noqa: E402
from benchmarks.bench_serve_peer import MAP_PLAIN_SQL  # noqa: E402
from benchmarks.serving import database, load_city, pg_url, postgis, start_gridmap, vacuum  # noqa: E402
from benchmarks.synthcity import city_at  # noqa: E402
from gridmap.maps import vector_tiles as vt  # noqa: E402

ZOOM = 17
SCREEN = (1280, 800)  # pixels of the map
TARGET = 2.0
DB_NAME = "gridmap_bench_tiles"
# the tile as gridmap.store.tiles writes it, written out here as a user of PostGIS would
TILE_SQL = """
WITH box AS (
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS tile,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 0.0625), 4326) AS near
)
SELECT ST_AsMVT(t, 'building', 4096, 'geom', 'id') FROM (
    SELECT b.id, b.code, b.name, b.compound_code, b.households, b.floors, b.repair_note,
           ST_AsMVTGeom(ST_Transform(b.geom, 3857), box.tile, 4096, 256, true) AS geom
    FROM building AS b, box
    WHERE b.geom && box.near AND ST_Intersects(b.geom, box.near)
) AS t WHERE t.geom IS NOT NULL
"""


# the compounds of a street-level view as the map's layer route answers them, as one statement
COMPOUND_SQL = """
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
    json_build_object(
        'type', 'Feature', 'id', code,
        'properties', json_build_object('code', code, 'name', name, 'community_code',
            community_code, 'property_company', property_company, 'property_has_org',
            property_has_org, 'repair_note', repair_note),
        'geometry', ST_AsGeoJSON(geom, 6)::json)
    ORDER BY code), '[]'::json))::text
FROM compound
WHERE geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
  AND ST_Intersects(geom, ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326))
"""


def screen_box(centre_box) -> tuple[float, float]:
    """Metres of a 1280 × 800 map at zoom 17 at the city's latitude."""
    lat = (centre_box[1] + centre_box[3]) / 2
    metres_per_pixel = 2 * math.pi * 6378137 * math.cos(math.radians(lat)) / (256 * 2**ZOOM)
    return SCREEN[0] * metres_per_pixel, SCREEN[1] * metres_per_pixel


def timed(call) -> tuple[float, int]:
    start = time.perf_counter()
    size = call()
    return time.perf_counter() - start, size


def ms(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) * 1000


def row_of(name: str, n: int, ours: list[float], direct: list[float], target: bool = True) -> str:
    p50, p95 = ms(ours, 50) / ms(direct, 50), ms(ours, 95) / ms(direct, 95)
    met = ("met" if p50 <= TARGET else "**not met**") if target else "—"
    return (f"| {name} | {n} | {ms(ours, 50):.2f} / {ms(ours, 95):.2f} ms | {ms(direct, 50):.2f} / "
            f"{ms(direct, 95):.2f} ms | **{p50:.2f}×** ({p95:.2f}×) | {met} |")  # fmt: skip


def same_buildings(client, conn, tiles, tz: int) -> list[str]:
    """Tiles whose buildings differ between gridmap and the direct statement."""
    out = []
    for x, y in tiles:
        ours = vt.decode(client.get(f"/api/tiles/building/{tz}/{x}/{y}.mvt").content)
        theirs = vt.decode(bytes(conn.execute(TILE_SQL, {"z": tz, "x": x, "y": y}).fetchone()[0]))
        ids = [{f["id"] for f in d.get("building", {"features": []})["features"]} for d in (ours, theirs)]  # fmt: skip
        if ids[0] != ids[1]:
            out.append(f"{tz}/{x}/{y}: {len(ids[0])} against {len(ids[1])} buildings")
    return out


def main() -> None:
    args = parse_args()
    city = city_at(args.scale, args.seed, members=0)
    with (
        tempfile.TemporaryDirectory(prefix="gridmap-bench-tiles-") as folder,
        postgis(args.dsn) as admin,
        ExitStack() as running,
    ):
        tmp = Path(folder)
        dsn = database(admin, DB_NAME)
        seconds = load_city(city, pg_url(dsn), tmp)
        pg, postgis_version = vacuum(dsn)
        print(f"{len(city['building']):,} buildings loaded in {seconds:.0f} s; PostgreSQL {pg}, "
              f"PostGIS {postgis_version}")  # fmt: skip
        bounds = city["building"].total_bounds
        width, height = screen_box(bounds)
        boxes = viewports(bounds, width, height, args.views, args.seed + ZOOM)
        tz = ZOOM - int(math.log2(args.tile_size / 256))  # 512-pixel tiles: those of zoom 16
        views = [vt.tiles_over(b, tz) for b in boxes]
        conn = psycopg.connect(dsn, autocommit=True)
        running.callback(conn.close)
        # 1. a server that draws nothing ahead: every tile's first ask is written then
        (tmp / "cold").mkdir()
        cold = start_gridmap(pg_url(dsn), tmp / "cold", GRIDMAP_SEED_CACHE="false")
        with client_of(cold) as client:
            rows = measure(args, client, conn, views, boxes, tz)
            # the answers compared after timing (a tile compared before would be kept then)
            check = [t for b in viewports(bounds, width, height, 3, args.seed - 1) for t in vt.tiles_over(b, tz)]  # fmt: skip
            for problem in same_buildings(client, conn, check, tz):
                print(f"  ! {problem}")
        cold.stop()
        # 2. as served by default: the tiles of street level drawn ahead when the server starts
        (tmp / "seeded").mkdir()
        server = start_gridmap(pg_url(dsn), tmp / "seeded")
        running.callback(server.stop)
        waited = server.seeded(1)
        with client_of(server) as client:
            ours, theirs = [], []
            for i, (x, y) in enumerate(dict.fromkeys(t for view in views for t in view)):
                t_ours, t_direct = in_turns(i, partial(ask, client, tz, x, y), partial(direct, conn, tz, x, y))  # fmt: skip
                ours.append(t_ours)
                theirs.append(t_direct)
            # where buildings first show (map zoom 16: tiles of 15), what a view's tiles weigh
            wide = [vt.tiles_over(b, tz - 1) for b in viewports(bounds, 2 * width, 2 * height, 20, args.seed + 16)]  # fmt: skip
            weights = [sum(ask(client, tz - 1, x, y) for x, y in view) for view in wide]
            rows.append(compound_views(client, conn, boxes))
        print(f"At map zoom 16, where buildings first show, a view's tiles (zoom {tz - 1}, "
              f"{statistics.median(len(v) for v in wide):.0f} a view) weigh "
              f"{statistics.median(weights) / 1024:.0f} KiB gzipped (median of 20; most "
              f"{max(weights) / 1024:.0f} KiB)")  # fmt: skip
        rows.insert(
            1, row_of("tile, first ask, drawn ahead (the default)", len(ours), ours, theirs)
        )
        print(f"(the server drew its kept answers and tiles in {waited:.1f} s after it started)\n")
        print(f"| request | n | gridmap | direct PostGIS | gridmap / direct | ≤ {TARGET:.0f}× |\n|---|---|---|---|---|---|")  # fmt: skip
        print("\n".join(rows))


def client_of(server) -> httpx.Client:
    headers = {**server.headers, "Accept-Encoding": "gzip"}  # as a browser asks
    return httpx.Client(base_url=server.base, headers=headers, timeout=120)


def ask(client, tz: int, x: int, y: int) -> int:
    """The tile asked for as a browser asks; the bytes that came over the wire (gzipped)."""
    answer = client.get(f"/api/tiles/building/{tz}/{x}/{y}.mvt")
    answer.raise_for_status()
    return answer.num_bytes_downloaded


def direct(conn, tz: int, x: int, y: int) -> int:
    return len(conn.execute(TILE_SQL, {"z": tz, "x": x, "y": y}).fetchone()[0])


def in_turns(i: int, ours, theirs) -> tuple[float, float]:
    """Seconds of ``ours`` and of ``theirs``; which goes first alternates with ``i``."""
    if i % 2:
        t_theirs = timed(theirs)[0]
        return timed(ours)[0], t_theirs
    t_ours = timed(ours)[0]
    return t_ours, timed(theirs)[0]


def compound_views(client, conn, boxes) -> str:
    """The map's other street-level layer: a view of compounds, cut from the layer drawn ahead,
    against the statement that reads it; the table's row (differing answers are printed)."""
    ours, theirs = [], []
    for i, box in enumerate(boxes):
        params = {"bbox": ",".join(f"{v:.6f}" for v in box), "zoom": ZOOM}
        sql = dict(zip(("x0", "y0", "x1", "y1"), box, strict=True))

        def asked(p=params):
            return client.get("/api/layers/compound/features", params=p).json()

        def read(s=sql):
            return json.loads(conn.execute(COMPOUND_SQL, s).fetchone()[0])

        if i < 5:  # the same compounds
            codes = [
                [f["properties"]["code"] for f in doc["features"]] for doc in (asked(), read())
            ]
            if codes[0] != codes[1]:
                print(f"  ! compounds differ at {params['bbox']}: {len(codes[0])} against {len(codes[1])}")  # fmt: skip
        t_ours, t_direct = in_turns(i, asked, read)
        ours.append(t_ours)
        theirs.append(t_direct)
    return row_of("compounds of a zoom-17 view (GeoJSON, cut from the layer kept)", len(ours), ours, theirs)  # fmt: skip


def measure(args, client, conn, views, boxes, tz: int) -> list[str]:
    """The first ask of each tile and each tile asked again, on a server that drew none ahead,
    and the GeoJSON view of before, each against its direct statement; the table's rows (the
    sizes are printed)."""
    first, straight, sizes = [], [], []
    view_ours, view_direct, view_bytes = [], [], []
    for i, (x, y) in enumerate(dict.fromkeys(t for view in views for t in view)):
        t_ours, t_direct = in_turns(i, partial(ask, client, tz, x, y), partial(direct, conn, tz, x, y))  # fmt: skip
        first.append(t_ours)
        straight.append(t_direct)
        sizes.append(ask(client, tz, x, y))
    for i, box in enumerate(boxes):  # the map's request per view before the tiles, for scale
        params = {"bbox": ",".join(f"{v:.6f}" for v in box), "zoom": ZOOM}
        sql = dict(zip(("x0", "y0", "x1", "y1"), box, strict=True))
        t_ours, t_direct = in_turns(
            i,
            lambda p=params: client.get("/api/layers/building/features", params=p),
            lambda s=sql: conn.execute(MAP_PLAIN_SQL, s).fetchone(),
        )
        view_ours.append(t_ours)
        view_direct.append(t_direct)
        view_bytes.append(
            client.get("/api/layers/building/features", params=params).num_bytes_downloaded
        )
    kept, direct_again = [], []
    for i, (x, y) in enumerate(t for view in views for t in view):  # asked again: all kept
        t_ours, t_direct = in_turns(i, partial(ask, client, tz, x, y), partial(direct, conn, tz, x, y))  # fmt: skip
        kept.append(t_ours)
        direct_again.append(t_direct)
    per_view = statistics.median(len(v) for v in views)
    print(f"\n{len(views)} views of {SCREEN[0]} × {SCREEN[1]} px at zoom {ZOOM} (seed {args.seed}): "
          f"{per_view:.0f} tiles of zoom {tz} ({args.tile_size} px) a view (median), {len(first)} "
          f"distinct, {statistics.median(sizes) / 1024:.1f} KiB a tile gzipped (median); a view's "
          f"bytes: GeoJSON {statistics.median(view_bytes) / 1024:.1f} KiB, tiles about "
          f"{statistics.median(sizes) * per_view / 1024:.1f} KiB. p50 / p95, ratios of p50 (of p95)")  # fmt: skip
    return [
        row_of("tile, first ask, none drawn ahead", len(first), first, straight),
        row_of("tile, asked again (kept)", len(kept), kept, direct_again),
        row_of("one GeoJSON view (before)", len(view_ours), view_ours, view_direct, target=False),
    ]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.1, help="fraction of the full city")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--views", type=int, default=100, help="street-level views drawn")
    parser.add_argument("--tile-size", type=int, default=512, choices=(256, 512),
                        help="pixels a tile is drawn at (the map's: 512, tiles of zoom 16)")  # fmt: skip
    parser.add_argument("--dsn", help="admin URL of a running PostGIS server (else a throwaway one)")  # fmt: skip
    return parser.parse_args()


if __name__ == "__main__":
    main()

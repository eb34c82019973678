"""Kept answers drawn before anyone asks for them: when the server starts, and again whenever
the data change (an import, an analysis, a plan approved).

Fifty coordinators opening the map at nine o'clock ask for the same whole layers, figures and
gaps of the subdistrict drawn at the zooms of their views; drawing the gaps of a city at one zoom
takes seconds (benchmarks/bench_load.py: the first 40 s of a cold server had p95 10 s, the rest
under 400 ms). A thread per server process draws them in advance, as a tile server seeds its
cache: what the map asks at start for the whole subdistrict — the gaps of the kinds its legend
shows, in the display coordinates of the configured basemap. Accounts limited to an area get
their own answers, drawn when first asked (an area is a small part of the city).

The seeding calls the routes' own functions, so its answers are kept under the very keys the
routes look for.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

from fastapi import FastAPI, Request

from gridmap.permissions import Principal
from gridmap.store.db import connect

log = logging.getLogger("gridmap")
LAYER_ZOOMS = range(10, 18)  # whole layers: from a district on a screen to the map's last zoom
CHECK_SECONDS = 10.0  # how often the data version is looked at
SEEDER = Principal("(kept answers)", "admin", None)  # the whole subdistrict, nothing hidden
TILES_AT_MOST = 4096  # vector tiles drawn ahead per zoom (a city of 200,000 buildings: 300)


def start_seeding(app: FastAPI, every: float = CHECK_SECONDS) -> threading.Event:
    """Seed ``app``'s kept answers in a daemon thread, now and after every change of the data
    (looked for ``every`` seconds); set the returned event to stop it. ``app.state.seeded`` is
    the data version last seeded."""
    stop = threading.Event()
    app.state.seeded = None
    threading.Thread(target=_seed_forever, args=(app, stop, every), name="gridmap-seed", daemon=True).start()  # fmt: skip
    return stop


def _seed_forever(app: FastAPI, stop: threading.Event, every: float) -> None:
    from gridmap.api.cache import data_version

    while not stop.is_set():
        try:
            with connect(app.state.engine) as conn:
                version = data_version(conn)
                if version != app.state.seeded:
                    started = time.perf_counter()
                    seed(app, conn)
                    app.state.seeded = version
                    print(f"已预先绘制常用图层与问题 / kept answers drawn (data version {version}, "
                          f"{time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)  # fmt: skip
        except Exception as exc:  # the database may be down: answers are then drawn when asked
            log.warning("seeding kept answers failed: %s", type(exc).__name__)
        stop.wait(every)


def seed(app: FastAPI, conn) -> None:
    """Draw and keep what every map of the whole subdistrict asks for at start and below street
    level: layer counts, summary, figures, the gap list, whole layers, gaps and compounds; and
    the buildings' vector tiles of street level."""
    from gridmap.api.routes.features import UNSIMPLIFIED_FROM, features, layer_set
    from gridmap.api.routes.layers import list_layers
    from gridmap.maps.layers import MIN_ZOOM, TILED, basemap, map_layers, tile_zooms
    from gridmap.store.features import grid_layers
    from gridmap.store.results import latest_run

    request = Request({"type": "http", "app": app, "headers": [], "method": "GET"})
    display = (basemap(app.state.settings) or {}).get("display", "wgs84")
    list_layers(request, conn)
    for spec in map_layers(grid_layers(conn)):
        if spec["min_zoom"] == 0 and not spec.get("url"):
            for zoom in LAYER_ZOOMS:
                features(spec["layer"], request, conn, None, zoom, display)
    run = latest_run(conn, "analyze")
    if run is not None:  # the figures and gaps of the latest analysis
        _seed_results(request, conn, run, display)
    for zoom in range(MIN_ZOOM["compound"], UNSIMPLIFIED_FROM + 1):  # to street level
        layer_set(request, conn, "compound", zoom, display, wait=True)
    for layer in TILED:  # last: many small answers, each asked by fewer maps
        seed_tiles(request, conn, layer, tile_zooms(layer), display)


def _seed_results(request: Request, conn, run, display: str) -> None:
    from gridmap.api.routes.analysis import figures, summary
    from gridmap.api.routes.features import STREET_ZOOM
    from gridmap.api.routes.gaps import gap_list, gap_set, hidden_at
    from gridmap.maps.layers import gap_legend
    from gridmap.store.results import run_summary

    summary(request, conn, None)
    for level in ("subdistrict", "community", "grid"):
        figures(request, conn, None, level)
    counts = (run_summary(conn, run) or {}).get("gaps", {})
    kinds = ",".join(g["kind"] for g in gap_legend(counts) if g["count"] and g["visible"])
    if kinds:
        gap_list(request, conn, SEEDER, None, kinds, None, 300, display)
        for zoom in range(LAYER_ZOOMS.start, STREET_ZOOM):
            gap_set(request, conn, kinds, None, zoom, display, hidden_at(zoom, SEEDER), None, wait=True)  # fmt: skip


def seed_tiles(request: Request, conn, layer: str, zooms: range, display: str) -> int:
    """Draw and keep every vector tile of ``layer`` at ``zooms`` over the layer's extent (those
    the map asks for: ``maps/layers.py: tile_zooms``); a zoom of more than :data:`TILES_AT_MOST` tiles (a layer spread over a
    province, or one building far away) is left to be drawn when asked, and so is a tile that
    fails (the request asking for it answers the error). The number drawn."""
    from gridmap.api.routes.tiles import kept_tile
    from gridmap.crs import shifted_box, wgs84_to_gcj02
    from gridmap.errors import GridmapError
    from gridmap.maps.vector_tiles import tile_count, tiles_over
    from gridmap.store.features import table_bounds
    from gridmap.store.models import table_for

    bounds = table_bounds(conn, table_for(layer))
    if bounds and display == "gcj02":  # the tiles the shifted features fall in
        bounds = shifted_box(bounds, wgs84_to_gcj02, pad=1e-4)
    drawn = 0
    for zoom in zooms if bounds else ():
        if tile_count(bounds, zoom) > TILES_AT_MOST:
            continue
        for x, y in tiles_over(bounds, zoom):
            try:
                kept_tile(conn, request, layer, zoom, x, y, display)
                drawn += 1
            except GridmapError as exc:  # too many features in one tile: asked, it says so
                log.warning("a tile was not drawn ahead: %s", type(exc).__name__)
    return drawn

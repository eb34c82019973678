"""Two checkouts of gridmap served side by side on one database, asked in turns at street level.

On a shared machine two benchmark runs minutes apart differ by more than most changes to the
request path, so this asks both servers for the same viewport one right after the other (the order
alternating per viewport): the HTTP floor (the constant ``/ogc/conformance``), OGC items and the
map's building layer at zoom 17 (300 × 190 m), each with the benchmark account's API token over a
keep-alive client. Drift falls on both alike; the difference of the medians is the change.
On PostGIS the HTTP peer (``bench_serve_peer.py``: the same statements behind the smallest ASGI
app on uvicorn with ``gridmap serve``'s options) is asked in the same rotation, and the table
gives *after* ÷ peer: what gridmap adds over HTTP itself, measured in the same run. Every
answer is asked uncompressed (``Accept-Encoding: identity``), as ``bench_serve.py`` asks.

    git worktree add /tmp/before COMMIT     # or a clone; the venv's packages serve both
    .venv/bin/python benchmarks/bench_serve_ab.py --db sqlite:///city.db --before /tmp/before \\
        --after . [--viewports 400]
    .venv/bin/python benchmarks/bench_serve_ab.py --before /tmp/before [--scale 0.1]

The database must hold a loaded city (``bench_serve_lite.py --db city.db`` leaves one); without
``--db`` the city at ``--scale`` is loaded into a throwaway PostGIS first. Each server imports
gridmap from its checkout (``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_serve import ITEMS_PATH, MAP_PATH, VIEWPORTS, bbox_text, start_peer, viewports  # noqa: E402
from benchmarks.serving import database, load_city, pg_url, postgis, start_gridmap, stop  # noqa: E402
from benchmarks.synthcity import city_at  # noqa: E402
from gridmap.config import Settings  # noqa: E402
from gridmap.store.db import make_engine  # noqa: E402
from gridmap.store.features import table_bounds  # noqa: E402
from gridmap.store.models import table_for  # noqa: E402

WARMUP = 20
IDENTITY = "identity"  # answers uncompressed, as in bench_serve.py: the peer compresses nothing
ASKS = {
    "HTTP floor (`/ogc/conformance`)": lambda c, box: c.get("/ogc/conformance"),
    "OGC items, zoom 17": lambda c, box: c.get(
        ITEMS_PATH, params={"bbox": bbox_text(box), "limit": 1000}
    ),
    "map layer, zoom 17": lambda c, box: c.get(
        MAP_PATH, params={"bbox": bbox_text(box), "zoom": 17}
    ),
}
PEER_ASKS = {  # the same questions put to the HTTP peer
    "HTTP floor (`/ogc/conformance`)": lambda c, box: c.get("/floor"),
    "OGC items, zoom 17": lambda c, box: c.get("/items", params={"bbox": bbox_text(box), "limit": 1000}),
    "map layer, zoom 17": lambda c, box: c.get("/map", params={"bbox": bbox_text(box), "zoom": 17}),
}  # fmt: skip


def building_bounds(url: str) -> tuple[float, float, float, float]:
    engine = make_engine(Settings(database_url=url))
    with engine.connect() as conn:
        bounds = table_bounds(conn, table_for("building"))
    engine.dispose()
    if bounds is None:
        raise SystemExit(f"no buildings in {url}: load a city first (bench_serve_lite.py --db)")
    return tuple(bounds)


@contextmanager
def throwaway_city(scale: float) -> Iterator[str]:
    """The URL of a throwaway PostGIS holding the synthetic city at ``scale``."""
    with postgis(None) as admin:
        dsn = database(admin, "gridmap_bench_ab")
        load_city(city_at(scale), pg_url(dsn), Path(tempfile.mkdtemp(prefix="gridmap-ab-city-")))
        yield pg_url(dsn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", help="database URL holding a loaded city (else a throwaway PostGIS)")  # fmt: skip
    parser.add_argument("--scale", type=float, default=0.1, help="without --db: the city's size")
    parser.add_argument("--before", required=True, help="checkout serving the old code")
    parser.add_argument("--after", default=str(ROOT), help="checkout serving the new code")
    parser.add_argument("--viewports", type=int, default=400)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    with ExitStack() as stack:
        url = args.db or stack.enter_context(throwaway_city(args.scale))
        compare(args, url)


def compare(args: argparse.Namespace, url: str) -> None:
    """Serve ``url`` from both checkouts and print the table of p50 / p95 per request."""
    boxes = viewports(building_bounds(url), *VIEWPORTS[17], args.viewports + WARMUP, args.seed)
    servers, clients, peer = {}, {}, None
    try:
        for name in ("before", "after"):
            folder = Path(tempfile.mkdtemp(prefix=f"gridmap-ab-{name}-"))
            path = str(Path(getattr(args, name)).resolve())
            servers[name] = start_gridmap(url, folder, PYTHONPATH=path)
            headers = {**servers[name].headers, "Accept-Encoding": IDENTITY}
            clients[name] = httpx.Client(base_url=servers[name].base, headers=headers, timeout=60)
        if url.startswith("postgresql"):
            dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
            peer, base = start_peer(dsn, Path(tempfile.mkdtemp(prefix="gridmap-ab-peer-")))
            clients["peer"] = httpx.Client(base_url=base, headers={"Accept-Encoding": IDENTITY}, timeout=60)  # fmt: skip
        times: dict[tuple[str, str], list[float]] = {(a, n): [] for a in ASKS for n in clients}
        load_before = os.getloadavg()[0]
        for i, box in enumerate(boxes):
            order = [*clients][i % len(clients) :] + [*clients][: i % len(clients)]  # rotated
            for ask in ASKS:
                for name in order:
                    call = PEER_ASKS[ask] if name == "peer" else ASKS[ask]
                    start = time.perf_counter()
                    answer = call(clients[name], box)
                    took = time.perf_counter() - start
                    if answer.status_code != 200:
                        raise SystemExit(f"{name}: {ask} answered {answer.status_code}")
                    if i >= WARMUP:
                        times[(ask, name)].append(took)
        print(f"{args.viewports} street-level viewports after {WARMUP} warm-up ones, seed {args.seed}; p50 / p95")  # fmt: skip
        print(f"load average (1 min) {load_before:.1f} before, {os.getloadavg()[0]:.1f} after\n")
        head = "| request | before | after | after − before (p50) |"
        print(head + (" HTTP peer | before ÷ peer | after ÷ peer (p50) |" if peer else ""))
        print("|---" * (7 if peer else 4) + "|")
        for ask in ASKS:
            cells = {}
            for name in clients:
                ms = sorted(t * 1000 for t in times[(ask, name)])
                cells[name] = (statistics.median(ms), ms[int(0.95 * (len(ms) - 1))])
            (b50, b95), (a50, a95) = cells["before"], cells["after"]
            row = f"| {ask} | {b50:.2f} / {b95:.2f} ms | {a50:.2f} / {a95:.2f} ms | {a50 - b50:+.2f} ms |"  # fmt: skip
            if peer:
                p50, p95 = cells["peer"]
                row += f" {p50:.2f} / {p95:.2f} ms | {b50 / p50:.2f}× | **{a50 / p50:.2f}×** |"
            print(row)
    finally:
        for client in clients.values():
            client.close()
        for server in servers.values():
            server.stop()
        if peer is not None:
            stop(peer)


if __name__ == "__main__":
    main()

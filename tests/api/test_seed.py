"""Kept answers drawn before anyone asks: at start and after every change of the data, under
the very keys the routes look for (a real uvicorn server in this process, so its kept answers
can be counted)."""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
import shapely
import uvicorn
from servers import add_test_accounts, demo_database, free_port

from gridmap.api.app import create_app
from gridmap.api.cache import data_version
from gridmap.api.seed import start_seeding
from gridmap.config import Settings
from gridmap.store.db import connect, transaction
from gridmap.store.features import log_change


@pytest.fixture
def seeded(tmp_path) -> Iterator[tuple]:
    """The app, its base URL, an admin's headers and every test account's token; seeding checks
    the data every 0.2 s."""
    url = demo_database(f"sqlite:///{tmp_path / 'gridmap.db'}")
    tokens = add_test_accounts(url)
    app = create_app(Settings(database_url=url, seed_cache=False))
    stop = start_seeding(app, every=0.2)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield (
        app,
        f"http://127.0.0.1:{port}",
        {"Authorization": f"Bearer {tokens['测试管理员']}"},
        tokens,
    )
    stop.set()
    server.should_exit = True
    thread.join(10)


def wait_seeded(app) -> int:
    with connect(app.state.engine) as conn:
        version = data_version(conn)
    deadline = time.monotonic() + 120
    while app.state.seeded != version:
        assert time.monotonic() < deadline, "the kept answers were not drawn"
        time.sleep(0.05)
    return version


def map_config(base: str, headers: dict) -> dict:
    page = httpx.get(base + "/map", headers=headers, timeout=30).text
    return json.loads(html.unescape(re.search(r"data-config='([^']*)'", page).group(1)))


def ask_as_the_map(base: str, headers: dict) -> list[int]:
    """What a map of the whole subdistrict asks at start and in views below street level (the
    gaps of the kinds its legend shows)."""
    config = map_config(base, headers)
    kinds = ",".join(g["kind"] for g in config["gaps"] if g["count"] and g["visible"])
    box = "104.03,30.62,104.08,30.66"
    paths = [
        "/api/layers", "/api/summary", "/api/figures?level=subdistrict", "/api/figures?level=grid",
        f"/api/gaps/list?kind={kinds}&limit=300",
        "/api/layers/community/features?zoom=13", "/api/layers/grid:unified/features?zoom=16",
        "/api/layers/station/features?zoom=17",
        f"/api/gaps?kind={kinds}&bbox={box}&zoom=14", f"/api/gaps?kind={kinds}&bbox={box}&zoom=15",
        f"/api/layers/compound/features?bbox={box}&zoom=14",
    ]  # fmt: skip
    answers = [httpx.get(base + p, headers=headers, timeout=30) for p in paths]
    assert [a.status_code for a in answers] == [200] * len(paths)
    return [len(a.content) for a in answers]


def test_what_every_map_asks_is_drawn_before_it_asks_and_again_after_a_change(seeded):
    app, base, headers, _ = seeded
    first = wait_seeded(app)
    responses = app.state.responses
    built, hits = responses.misses, responses.hits
    sizes = ask_as_the_map(base, headers)
    assert responses.misses == built  # nothing was drawn for the requests: all was kept
    assert responses.hits >= hits + len(sizes)
    assert sizes[8] > 1000 and sizes[10] > 1000  # the views are not empty
    # the data change: drawn again under the new version, before anyone asks
    with transaction(app.state.engine) as conn:
        log_change(conn, "测试管理员", "test", None, {"why": "a change"})
    assert wait_seeded(app) > first
    built = responses.misses
    assert ask_as_the_map(base, headers) == sizes
    assert responses.misses == built


def test_the_legend_of_an_area_account_is_counted_once_per_change(seeded):
    app, base, _, tokens = seeded
    wait_seeded(app)
    coordinator = {"Authorization": f"Bearer {tokens['社区协调员']}"}
    responses = app.state.responses
    built = responses.misses
    legend = {g["kind"]: g["count"] for g in map_config(base, coordinator)["gaps"] if g["count"]}
    assert responses.misses == built + 1  # counted for the area on the first load …
    gaps = httpx.get(base + "/api/gaps", headers=coordinator, timeout=30).json()["features"]
    assert legend and legend == dict(Counter(g["properties"]["kind"] for g in gaps))
    built = responses.misses
    assert {
        g["kind"]: g["count"] for g in map_config(base, coordinator)["gaps"] if g["count"]
    } == legend
    assert responses.misses == built  # … and kept for the next
    # another area's account gets its own counts, not these
    grid_only = {"Authorization": f"Bearer {tokens['网格协调员']}"}
    other = {g["kind"]: g["count"] for g in map_config(base, grid_only)["gaps"] if g["count"]}
    assert responses.misses == built + 1 and other != legend


def test_the_street_level_tiles_of_buildings_are_drawn_before_a_map_asks(seeded):
    from gridmap.maps.vector_tiles import decode, tile_of

    app, base, headers, _ = seeded
    wait_seeded(app)
    tiles = app.state.tiles
    assert tiles.misses > 10  # the demo's buildings at zooms 15 and 16, drawn ahead
    built, hits = tiles.misses, tiles.hits
    first = httpx.get(base + "/api/layers/building/features?zoom=17", headers=headers, timeout=30)
    centre = shapely.geometry.shape(first.json()["features"][0]["geometry"]).centroid
    for z in (15, 16):  # the tiles a map asks for at zooms 16 and 17 (512 pixels wide)
        x, y = tile_of(centre.x, centre.y, z)
        answer = httpx.get(f"{base}/api/tiles/building/{z}/{x}/{y}.mvt", headers=headers, timeout=30)  # fmt: skip
        assert answer.status_code == 200 and decode(answer.content)["building"]["features"]
    assert tiles.misses == built and tiles.hits == hits + 2  # nothing drawn for the requests


def test_a_street_level_view_of_compounds_is_cut_from_the_layer_drawn_ahead(seeded):
    app, base, headers, _ = seeded
    wait_seeded(app)
    responses = app.state.responses
    box = "104.03,30.62,104.08,30.66"
    for zoom in (16, 17, 18):
        built, hits = responses.misses, responses.hits
        answer = httpx.get(f"{base}/api/layers/compound/features?bbox={box}&zoom={zoom}", headers=headers, timeout=30)  # fmt: skip
        assert answer.status_code == 200 and answer.json()["features"]
        assert responses.misses == built and responses.hits == hits + 1, zoom  # from memory

"""Empty vector tiles take no place among the kept ones, on both databases: a client browsing
fields far off the city is answered as before (an empty tile, its ETag, a 304 when it holds it)
and never pushes the street-level tiles drawn ahead out of the cache."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from servers import add_test_accounts, demo_database

from gridmap.api.app import create_app
from gridmap.api.cache import ResponseCache
from gridmap.api.seed import seed_tiles
from gridmap.config import Settings
from gridmap.maps import vector_tiles as vt
from gridmap.maps.layers import tile_zooms
from gridmap.store.db import connect
from gridmap.store.features import table_bounds
from gridmap.store.models import table_for

FAR_OFF = 120  # empty tiles asked: many more than the cache has room for beside the city's


@pytest.fixture
def city(db_settings) -> Iterator[tuple]:
    """The app on the demo subdistrict, an admin's client, and the tiles the map asks for over
    the buildings' extent (``z, x, y``), every one drawn ahead by the seeding into a tile cache
    with room for them and :data:`FAR_OFF` less ten more."""
    url = demo_database(db_settings.database_url, analyse=False)
    token = add_test_accounts(url)["测试管理员"]
    app = create_app(Settings(database_url=url, seed_cache=False))
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        with connect(app.state.engine) as conn:
            bounds = table_bounds(conn, table_for("building"))
            street = [(z, x, y) for z in tile_zooms("building") for x, y in vt.tiles_over(bounds, z)]  # fmt: skip
            app.state.tiles = ResponseCache(size=len(street) + FAR_OFF - 10)
            request = Request({"type": "http", "app": app, "headers": [], "method": "GET"})
            assert seed_tiles(request, conn, "building", tile_zooms("building"), "wgs84") == len(street)  # fmt: skip
        yield app, client, street


def far_off(count: int) -> list[tuple[int, int, int]]:
    """``count`` tiles of zoom 16 in a row, 600 km east of the demo subdistrict."""
    x, y = vt.tile_of(110.0, 30.64, 16)
    return [(16, x + i, y) for i in range(count)]


def test_empty_tiles_far_off_never_push_the_street_level_out_of_the_cache(city):
    app, client, street = city
    full = []
    for z, x, y in street:  # the tiles of the city with buildings in them
        answer = client.get(f"/api/tiles/building/{z}/{x}/{y}.mvt")
        assert answer.status_code == 200
        if answer.content:
            full.append((z, x, y))
    assert len(full) > 10
    for z, x, y in far_off(FAR_OFF):
        answer = client.get(f"/api/tiles/building/{z}/{x}/{y}.mvt")
        assert answer.status_code == 200 and answer.content == b""
    tiles = app.state.tiles
    built, hits = tiles.misses, tiles.hits
    for z, x, y in full:
        answer = client.get(f"/api/tiles/building/{z}/{x}/{y}.mvt")
        assert vt.decode(answer.content)["building"]["features"]
    assert tiles.misses == built and tiles.hits == hits + len(full)  # all from memory


def test_an_empty_tile_is_an_empty_body_with_its_etag_and_a_304_for_who_holds_it(city):
    app, client, _ = city
    (z, x, y), *_ = far_off(1)
    url = f"/api/tiles/building/{z}/{x}/{y}.mvt"
    built = app.state.tiles.misses
    first = client.get(url)
    assert first.status_code == 200 and first.content == b""
    assert first.headers["content-type"] == vt.MEDIA_TYPE
    assert first.headers["cache-control"] == "private, no-cache"
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and client.get(url).headers["etag"] == etag
    assert app.state.tiles.misses == built + 2  # written again alike, not kept
    held = client.get(url, headers={"If-None-Match": etag})
    assert held.status_code == 304 and held.content == b"" and held.headers["etag"] == etag

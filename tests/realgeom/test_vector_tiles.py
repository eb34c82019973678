"""Vector tiles of the real footprints (``/api/tiles/{layer}/{z}/{x}/{y}.mvt``), on both
databases: every building meeting a tile is in it, with its code, drawn where it stands (to the
tile's grid: 4 cm at zoom 17), nothing from outside the tile's margin; on PostGIS the tile the
database writes holds what the Python encoder writes from the same rows, on SpatiaLite the
route's tile is the encoder's."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient

from gridmap.api.app import create_app
from gridmap.auth import add_account, issue_token
from gridmap.config import Settings
from gridmap.crs import geometries_from_wgs84
from gridmap.maps import vector_tiles as vt
from gridmap.store.db import make_engine, transaction
from gridmap.store.query import map_rows
from gridmap.store.tiles import postgis_tile


@pytest.fixture(scope="module")
def tiles(corpus_run):
    """A client with a viewer's token, and every stored building (names, rows, geometries)."""
    engine = make_engine(corpus_run.settings)
    try:
        with transaction(engine) as conn:
            if not conn.exec_driver_sql("SELECT 1 FROM account WHERE name = '瓦片查看'").first():
                area = conn.exec_driver_sql("SELECT min(code) FROM community").scalar()
                add_account(conn, "瓦片查看", "viewer", area, "tiles-not-secret-100", actor="tests")
            token = issue_token(conn, "瓦片查看", "tiles", actor="tests")
            buildings = map_rows(conn, "building")
    finally:
        engine.dispose()
    app = create_app(Settings(database_url=corpus_run.settings.database_url, seed_cache=False))
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client, app, buildings


def busiest(geoms, z: int, k: int) -> list[tuple[int, int]]:
    """The ``k`` tiles at ``z`` holding the most building centres."""
    counts: dict[tuple[int, int], int] = {}
    for p in shapely.centroid(geoms):
        if p is not None and not p.is_empty:
            key = vt.tile_of(p.x, p.y, z)
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts, key=lambda t: (-counts[t], t))[:k]


def decoded(data: bytes, name: str) -> dict[int, tuple[dict, shapely.Geometry]]:
    layer = vt.decode(data).get(name, {"features": []})
    return {f["id"]: (f["properties"], shapely.geometry.shape(f["geometry"])) for f in layer["features"]}  # fmt: skip


def check_tile(got: dict, names, rows, geoms, z: int, x: int, y: int) -> int:
    """``got`` holds exactly the buildings meeting the tile (margin aside), drawn in place."""
    inner = shapely.box(*vt.tile_lonlat_bounds(z, x, y))
    outer = shapely.box(*vt.tile_lonlat_bounds(z, x, y, vt.MARGIN / vt.EXTENT))
    valid = shapely.make_valid(geoms)
    ids = np.array([r[names.index("id")] for r in rows])
    must = {int(i) for i in ids[shapely.intersects(valid, inner)]}
    may = {int(i) for i in ids[shapely.intersects(valid, outer)]}
    assert must <= set(got) <= may, (z, x, y, sorted(must - set(got)), sorted(set(got) - may))
    where = {int(i): k for k, i in enumerate(ids)}
    drawn = vt.to_tile(valid, z, x, y)
    for fid, (properties, shape) in got.items():
        assert properties["code"] == rows[where[fid]][names.index("code")]
        assert in_place(shape, drawn[where[fid]]), (fid, z, x, y)
    return len(must)


def in_place(shape, expected) -> bool:
    """Drawn where it stands: snapping to the tile's integer grid moves each vertex by at most
    0.71 of a unit, so the two differ by less than the outline's length in area (a building
    misplaced by a metre differs by its whole width times 13 units at zoom 17)."""
    return shape.symmetric_difference(expected).area <= max(expected.length, 4.0)


def test_a_tile_holds_every_building_meeting_it_drawn_in_place(tiles, corpus_run):
    client, _, (names, rows, geoms) = tiles
    seen = 0
    for z in (16, 17):
        for x, y in busiest(geoms, z, 4):
            answer = client.get(f"/api/tiles/building/{z}/{x}/{y}.mvt")
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"] == vt.MEDIA_TYPE
            seen += check_tile(decoded(answer.content, "building"), names, rows, geoms, z, x, y)
    assert seen > 200, seen  # the busiest tiles of real footprints, not a handful


def test_a_gcj02_tile_draws_the_buildings_where_a_gcj02_basemap_has_them(tiles):
    client, _, (names, rows, geoms) = tiles
    shifted = geometries_from_wgs84(geoms, "gcj02")  # about 500 m off in Chengdu
    x, y = busiest(shifted, 17, 1)[0]
    answer = client.get(f"/api/tiles/building/17/{x}/{y}.mvt", params={"display": "gcj02"})
    got = decoded(answer.content, "building")
    assert check_tile(got, names, rows, shifted, 17, x, y) > 10
    plain = decoded(client.get(f"/api/tiles/building/17/{x}/{y}.mvt").content, "building")
    assert set(plain) != set(got)  # the same tile without the shift shows other buildings


def test_the_database_writes_the_tile_the_encoder_writes(tiles, corpus_run):
    client, app, (_, _, geoms) = tiles
    with app.state.engine.connect() as conn:
        for x, y in busiest(geoms, 17, 3):
            box = vt.tile_lonlat_bounds(17, x, y, vt.MARGIN / vt.EXTENT)
            encoded = vt.encode("building", *map_rows(conn, "building", bbox=box), 17, x, y)
            if corpus_run.kind == "spatialite":  # SpatiaLite writes no tiles: the encoder does
                assert client.get(f"/api/tiles/building/17/{x}/{y}.mvt").content == encoded
                continue
            mine = decoded(encoded, "building")
            data, count = postgis_tile(conn, "building", 17, x, y, name="building")
            theirs = decoded(data, "building")
            assert count == len(theirs) and set(mine) == set(theirs) and len(mine) > 10
            for fid, (properties, shape) in mine.items():
                assert theirs[fid][0] == properties, fid
                assert in_place(theirs[fid][1], shape), fid


def test_a_tile_is_kept_refused_off_the_grid_and_never_of_members(tiles):
    client, app, (_, _, geoms) = tiles
    x, y = busiest(geoms, 17, 1)[0]
    url = f"/api/tiles/building/17/{x}/{y}.mvt"
    first = client.get(url)
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and not again.content
    hits = app.state.tiles.hits
    assert client.get(url).content == first.content and app.state.tiles.hits == hits + 1
    kept = app.state.tiles.misses  # a closer tile is written each time, never kept
    closer = client.get(f"/api/tiles/building/18/{2 * x}/{2 * y}.mvt")
    assert closer.status_code == 200 and app.state.tiles.misses == kept
    empty = client.get("/api/tiles/building/17/0/0.mvt")  # the Arctic: no building
    assert empty.status_code == 200 and decoded(empty.content, "building") == {}
    off = client.get("/api/tiles/building/3/8/0.mvt")
    assert off.status_code == 404 and "3/8/0" in off.json()["message_zh"]
    assert client.get(f"/api/tiles/member/17/{x}/{y}.mvt").status_code == 404
    assert client.get(f"/api/tiles/building/23/{x}/{y}.mvt").status_code == 422
    anonymous = TestClient(app).get(url)
    assert anonymous.status_code == 401

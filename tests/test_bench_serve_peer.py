"""The HTTP peer of the serving benchmark answers what the direct statement answers, so that the
benchmark's gridmap ÷ peer ratio compares like with like."""

from __future__ import annotations

import asyncio
import json
import time

import geopandas as gpd
import httpx
import psycopg
import pytest
import shapely

from benchmarks import bench_serve_peer
from benchmarks.bench_serve_peer import ITEMS_SQL, MAP_SQL, app
from gridmap.config import Settings
from gridmap.loading import load_file
from gridmap.store.db import make_engine

BOX = (103.99, 30.49, 104.02, 30.51)
BBOX = ",".join(map(str, BOX))


def buildings(n: int) -> gpd.GeoDataFrame:
    """``n`` footprints in a row inside ``BOX``, codes B00…"""
    x = [104.0 + 0.0004 * i for i in range(n)]
    return gpd.GeoDataFrame(
        {"楼栋编号": [f"B{i:02d}" for i in range(n)], "户数": [6] * n},
        geometry=[shapely.box(v, 30.5, v + 0.0002, 30.5002) for v in x],
        crs=4326,
    )


@pytest.fixture
def peer_dsn(postgis_cluster, tmp_path, monkeypatch) -> str:
    url = postgis_cluster.create_db(f"peer_{int(time.time() * 1000) % 100000}")
    buildings(30).to_file(tmp_path / "b.gpkg", layer="building")
    engine = make_engine(Settings(database_url=url))
    load_file(engine, "building", tmp_path / "b.gpkg")
    engine.dispose()
    dsn = url.replace("+psycopg", "")
    monkeypatch.setenv("PEER_DSN", dsn)
    monkeypatch.setattr(bench_serve_peer, "_pool", None)
    return dsn


def ask(*paths: str) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://peer") as client:
            return [await client.get(path) for path in paths]

    return asyncio.run(run())


def direct(dsn: str, sql: str, **params) -> dict:
    box = dict(zip(("x0", "y0", "x1", "y1"), BOX, strict=True))
    with psycopg.connect(dsn) as conn:
        return json.loads(conn.execute(sql, box | params).fetchone()[0])


def test_the_peer_answers_the_direct_statements_text(peer_dsn):
    items, page, plain, floor, unknown = ask(
        f"/items?bbox={BBOX}&limit=1000",
        f"/items?bbox={BBOX}&limit=7",
        f"/map?bbox={BBOX}&zoom=17",
        "/floor",
        "/nothing",
    )
    assert items.status_code == page.status_code == plain.status_code == 200
    assert items.json() == direct(peer_dsn, ITEMS_SQL, limit=1000)
    assert (items.json()["numberMatched"], items.json()["numberReturned"]) == (30, 30)
    assert (page.json()["numberMatched"], page.json()["numberReturned"]) == (30, 7)
    assert plain.json() == direct(peer_dsn, MAP_SQL.format(geom="geom"))
    assert len(plain.json()["features"]) == 30
    assert floor.status_code == 200 and floor.json() == {"conformsTo": []}
    assert unknown.status_code == 404

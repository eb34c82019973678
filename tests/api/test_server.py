"""The HTTP server as a browser or QGIS meets it: a real uvicorn process, real requests."""

from __future__ import annotations

from factories import buildings_frame
from servers import http

from gridmap.loading import load_file
from gridmap.store.db import make_engine


def test_index_lists_the_layers_with_their_counts(live_server, db_settings, tmp_path):
    buildings_frame(3).to_file(tmp_path / "b.geojson")
    load_file(make_engine(db_settings), "building", tmp_path / "b.geojson")
    page = http.get(live_server + "/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "楼栋" in page.text and "building" in page.text
    layers = http.get(live_server + "/api/layers").json()
    assert {"layer": "building", "label_zh": "楼栋", "count": 3} in layers


def test_openapi_docs_are_served(live_server):
    assert http.get(live_server + "/docs").status_code == 200
    spec = http.get(live_server + "/openapi.json").json()
    assert "/api/layers" in spec["paths"]


def test_gaps_of_the_latest_analysis_are_served_as_geojson(live_server, db_settings):
    from gridmap.cli import DEMO_DATA, load_demo
    from gridmap.runs import run_analyze

    engine = make_engine(db_settings)
    load_demo(engine, DEMO_DATA)
    run_analyze(engine, db_settings)
    doc = http.get(live_server + "/api/gaps", params={"kind": "uncovered_area"}).json()
    assert [f["properties"]["code"] for f in doc["features"]] == ["DJ503"]
    assert "留白" in doc["features"][0]["properties"]["message_zh"]


def test_more_requests_at_once_than_threads_and_connections_all_get_answers(
    live_server, db_settings
):
    """Eighty requests at once (more than the 40 threads and the connection pool): before the
    server admitted a bounded number, threads waiting for connections starved the requests
    holding them, and nothing moved until the pool's 30 s timeout (500s)."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from gridmap.cli import DEMO_DATA, load_demo

    load_demo(make_engine(db_settings), DEMO_DATA)
    url = live_server + "/api/layers/building/features"
    started = time.monotonic()
    with ThreadPoolExecutor(80) as pool:
        statuses = list(pool.map(lambda _: http.get(url, timeout=120).status_code, range(80)))
    assert statuses == [200] * 80
    assert time.monotonic() - started < 25  # well below the pool's timeout


def test_whole_layers_are_kept_until_the_data_change(live_server, db_settings, tmp_path):
    from gridmap.loading import LoadOptions

    engine = make_engine(db_settings)
    buildings_frame(3).to_file(tmp_path / "b3.geojson")
    load_file(engine, "building", tmp_path / "b3.geojson")
    url = live_server + "/api/layers/building/features"
    first = http.get(url, params={"zoom": 15})
    assert len(first.json()["features"]) == 3
    assert http.get(url, params={"zoom": 15}).content == first.content  # kept
    buildings_frame(5).to_file(tmp_path / "b5.geojson")
    load_file(engine, "building", tmp_path / "b5.geojson", LoadOptions(replace=True))
    assert len(http.get(url, params={"zoom": 15}).json()["features"]) == 5  # the import moved on
    figures = http.get(live_server + "/api/figures")
    assert figures.status_code == 200 and figures.json() == []  # no analysis yet

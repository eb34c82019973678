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

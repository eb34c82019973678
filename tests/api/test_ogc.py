"""OGC API – Features against a real server, read by a real client (GDAL's OAPIF driver)."""

from __future__ import annotations

import os
import subprocess

import geopandas as gpd
import pytest
from factories import buildings_frame
from servers import ADMIN, TOKENS, http

from gridmap.loading import LoadOptions, load_file
from gridmap.store.db import make_engine


@pytest.fixture
def loaded(live_server, db_settings, tmp_path):
    engine = make_engine(db_settings)
    buildings_frame(25).to_file(tmp_path / "b.geojson")
    load_file(engine, "building", tmp_path / "b.geojson")
    grids = buildings_frame(3).rename(columns={"楼栋编号": "网格编码"}).drop(columns=["户数"])
    grids.to_file(tmp_path / "g.geojson")
    load_file(engine, "grid", tmp_path / "g.geojson", LoadOptions(grid_layer="party"))
    engine.dispose()
    return live_server


def test_landing_conformance_and_collections(loaded, db_settings, tmp_path):
    landing = http.get(f"{loaded}/ogc").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conf = http.get(f"{loaded}/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    ids = [c["id"] for c in http.get(f"{loaded}/ogc/collections").json()["collections"]]
    assert "building" in ids and "grid_party" in ids and "member" not in ids

    def extent() -> list[float]:
        doc = http.get(f"{loaded}/ogc/collections/building").json()
        return doc["extent"]["spatial"]["bbox"][0]

    before = extent()
    assert extent() == before  # kept: asked again, the same
    farther = buildings_frame(30).iloc[25:].assign(楼栋编号=[f"B{i:03d}" for i in range(25, 30)])
    farther.to_file(tmp_path / "farther.geojson")
    engine = make_engine(db_settings)
    load_file(engine, "building", tmp_path / "farther.geojson")
    engine.dispose()
    after = extent()  # a load moves the data on: the extent is read again
    assert after[:2] == before[:2] and after[2] > before[2] + 0.002


def test_items_page_with_next_links_until_every_feature_is_seen(loaded):
    url, seen = f"{loaded}/ogc/collections/building/items?limit=10", []
    while url:
        page = http.get(url)
        assert page.headers["content-type"].startswith("application/geo+json")
        doc = page.json()
        assert doc["numberMatched"] == 25 and doc["numberReturned"] == len(doc["features"])
        seen += [f["id"] for f in doc["features"]]
        url = next((link["href"] for link in doc["links"] if link["rel"] == "next"), None)
    assert seen == [f"B{i:03d}" for i in range(25)]


def test_bbox_and_property_filters(loaded):
    box = "104.0599,30.6599,104.0631,30.6606"  # the first two buildings
    doc = http.get(f"{loaded}/ogc/collections/building/items", params={"bbox": box}).json()
    assert [f["id"] for f in doc["features"]] == ["B000", "B001"]
    doc = http.get(f"{loaded}/ogc/collections/building/items", params={"households": 30}).json()
    assert [f["id"] for f in doc["features"]] == ["B002"]
    bad = http.get(f"{loaded}/ogc/collections/building/items", params={"nope": "1"})
    assert bad.status_code == 400 and "nope" in bad.json()["message_zh"]
    injected = http.get(
        f"{loaded}/ogc/collections/building/items", params={"code": "B000' OR '1'='1"}
    )
    assert injected.status_code == 200 and injected.json()["numberMatched"] == 0


def test_one_item_and_missing_item(loaded):
    feature = http.get(f"{loaded}/ogc/collections/building/items/B003").json()
    assert feature["id"] == "B003" and feature["properties"]["households"] == 40
    assert http.get(f"{loaded}/ogc/collections/building/items/NOPE").status_code == 404
    assert http.get(f"{loaded}/ogc/collections/nope/items").status_code == 404
    assert http.get(f"{loaded}/ogc/collections/grid_nope/items").status_code == 404
    grids = http.get(f"{loaded}/ogc/collections/grid_party/items").json()
    assert [f["id"] for f in grids["features"]] == ["B000", "B001", "B002"]


def test_html_pages_for_browsers(loaded):
    page = http.get(f"{loaded}/ogc/collections/building/items?f=html&limit=5")
    assert "text/html" in page.headers["content-type"] and "锦绣花园1栋" in page.text


def test_gdal_lists_every_collection_and_pages_through_all_features(loaded, tmp_path):
    # QGIS and GDAL send the token as a header (GDAL_HTTP_HEADERS, GDAL 3.6)
    env = {**os.environ, "GDAL_HTTP_HEADERS": f"Authorization: Bearer {TOKENS[loaded][ADMIN]}"}
    info = subprocess.run(["ogrinfo", "-ro", f"OAPIF:{loaded}/ogc"], capture_output=True, text=True, env=env)  # fmt: skip
    assert info.returncode == 0, info.stderr
    for cid in ("subdistrict", "community", "compound", "building", "station", "grid_party"):
        assert f": {cid} " in info.stdout
    out = tmp_path / "copy.gpkg"
    copy = subprocess.run(
        ["ogr2ogr", "-oo", "PAGE_SIZE=10", str(out), f"OAPIF:{loaded}/ogc", "building"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert copy.returncode == 0, copy.stderr
    got = gpd.read_file(out)
    assert len(got) == 25 and sorted(got["code"]) == [f"B{i:03d}" for i in range(25)]
    assert set(got.geometry.geom_type) == {"MultiPolygon"}
    assert got.set_index("code").loc["B002", "households"] == 30

"""OGC API – Features responses checked against the standard's own schemas, then beyond them.

The schemas of Part 1 1.0.1 (``tests/data/ogcapi/schemas``) are OpenAPI 3.0 schema objects; they
are registered under their published address so their relative ``$ref`` resolve to the vendored
files, and nothing is fetched. OpenAPI's ``nullable`` is not JSON Schema and is ignored, which only
makes the check stricter. ``format: date-time`` is checked by hand (``timeStamp``), since
jsonschema checks formats only with optional packages. What no schema says (link members, the
``self`` and ``alternate`` links, counts, conformance classes, the API definition) is asserted
explicitly.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from pathlib import Path

import pytest
import yaml
from factories import buildings_frame
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from servers import http

from gridmap.loading import LoadOptions, load_file
from gridmap.store.db import make_engine

VENDORED = Path(__file__).resolve().parents[1] / "data" / "ogcapi"
SCHEMAS = "https://schemas.opengis.net/ogcapi/features/part1/1.0/openapi/schemas/"
CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
OAS30 = "application/vnd.oai.openapi+json;version=3.0"
GEOJSON = "application/geo+json"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


@cache
def _registry() -> Registry:
    resources = [
        (SCHEMAS + path.name, Resource.from_contents(yaml.safe_load(path.read_text()), DRAFT4))
        for path in sorted((VENDORED / "schemas").glob("*.yaml"))
    ]
    return Registry().with_resources(resources)


def assert_valid(doc: dict, schema: str) -> None:
    """``doc`` is valid against the vendored OGC schema ``schema`` (e.g. ``landingPage``)."""
    validator = Draft4Validator({"$ref": f"{SCHEMAS}{schema}.yaml"}, registry=_registry())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
    assert not errors, f"not a valid {schema}:\n" + "\n".join(errors[:10])


def assert_links(doc: dict, *rels: str) -> dict[str, list[dict]]:
    """Every link has href, rel and type; ``self``, ``alternate`` and ``rels`` are among them."""
    by_rel: dict[str, list[dict]] = {}
    for link in doc["links"]:
        assert {"href", "rel", "type"} <= link.keys(), link
        assert link["href"].startswith("http"), link
        by_rel.setdefault(link["rel"], []).append(link)
    assert {"self", "alternate", *rels} <= by_rel.keys(), sorted(by_rel)
    return by_rel


def assert_alternates_are_served(by_rel: dict[str, list[dict]]) -> None:
    """``self`` and every ``alternate`` answer 200 in the media type the link announces."""
    for link in by_rel["self"] + by_rel["alternate"]:
        page = http.get(link["href"])
        assert page.status_code == 200, link
        assert page.headers["content-type"].startswith(link["type"].split(";")[0]), link


def get_json(url: str, media_type: str = "application/json", **params) -> dict:
    # httpx replaces a URL's own query with ``params``, even an empty one (next links have one)
    response = http.get(url, params=params) if params else http.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media_type)
    return response.json()


def test_the_vendored_schemas_resolve_and_reject_what_the_standard_rejects():
    ring = [[104.06, 30.66], [104.07, 30.66], [104.07, 30.67], [104.06, 30.66]]
    feature = {"type": "Feature", "id": "B1", "properties": {}}
    assert_valid(
        {**feature, "geometry": {"type": "Polygon", "coordinates": [ring]}}, "featureGeoJSON"
    )
    for bad, schema in [
        ({**feature, "geometry": {"type": "Polygon", "coordinates": [ring[:3]]}}, "featureGeoJSON"),
        ({"type": "FeatureCollection", "features": [{**feature, "geometry": None}]},
         "featureCollectionGeoJSON"),
        ({"links": [{"href": "http://example.org/"}]}, "landingPage"),
        ({"error": "NotFoundError", "message_en": "No collection nope."}, "exception"),
        ({"id": "b", "links": [], "extent": {"spatial": {"bbox": [[1, 2, 3]]}}}, "collection"),
    ]:  # fmt: skip
        with pytest.raises(AssertionError, match=f"not a valid {schema}"):
            assert_valid(bad, schema)


@pytest.fixture
def served(live_server, db_settings, tmp_path) -> str:
    """25 buildings, three party grids and two stations; communities stay empty."""
    engine = make_engine(db_settings)
    buildings_frame(25).to_file(tmp_path / "b.geojson")
    load_file(engine, "building", tmp_path / "b.geojson")
    grids = buildings_frame(3).rename(columns={"楼栋编号": "网格编码"}).drop(columns=["户数"])
    grids.to_file(tmp_path / "g.geojson")
    load_file(engine, "grid", tmp_path / "g.geojson", LoadOptions(grid_layer="party"))
    stations = tmp_path / "stations.csv"
    stations.write_text(
        "站点编号,站点名称,类型,经度,纬度\n"
        "ZD01,锦绣社区党群服务站,党群服务站,104.0605,30.6612\n"
        "ZD02,花园社区党群服务站,党群服务站,104.0655,30.6618\n",
        encoding="utf-8",
    )
    load_file(engine, "station", stations)
    engine.dispose()
    return live_server + "/ogc"


def test_landing_page_conformance_api_definition_and_collections(served):
    landing = get_json(served)
    assert_valid(landing, "landingPage")
    links = assert_links(landing, "service-desc", "service-doc", "conformance", "data")
    assert_alternates_are_served(links)

    conformance = get_json(links["conformance"][0]["href"])
    assert_valid(conformance, "confClasses")
    classes = set(conformance["conformsTo"])
    assert {CONF + "core", CONF + "geojson", CONF + "html"} <= classes

    desc = links["service-desc"][0]
    api = http.get(desc["href"])
    assert api.status_code == 200 and api.headers["content-type"] == desc["type"]
    definition = api.json()
    if CONF + "oas30" in classes:
        assert desc["type"] == OAS30
        oas30 = yaml.safe_load((VENDORED / "oas30" / "schema.yaml").read_text())
        errors = [e.message for e in Draft4Validator(oas30).iter_errors(definition)]
        assert not errors, errors[:10]
    assert {"/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/{cid}/items"} <= (
        definition["paths"].keys()
    )
    doc = http.get(links["service-doc"][0]["href"])
    assert doc.status_code == 200 and doc.headers["content-type"].startswith("text/html")

    collections = get_json(links["data"][0]["href"])
    assert_valid(collections, "collections")
    assert_alternates_are_served(assert_links(collections))
    ids = [c["id"] for c in collections["collections"]]
    assert {"building", "station", "grid_party", "community"} <= set(ids)
    for listed in collections["collections"]:
        one = get_json(f"{served}/collections/{listed['id']}")
        assert_valid(one, "collection")
        assert one == listed
        items = assert_links(one, "items")["items"]
        assert {link["type"] for link in items} == {GEOJSON, "text/html"}
    building = get_json(f"{served}/collections/building")
    assert_alternates_are_served(assert_links(building))
    x0, y0, x1, y1 = building["extent"]["spatial"]["bbox"][0]
    assert 104.05 < x0 < x1 < 104.12 and 30.65 < y0 < y1 < 30.67
    assert "extent" not in get_json(f"{served}/collections/community")


def assert_feature_collection(doc: dict, matched: int, returned: int) -> None:
    assert_valid(doc, "featureCollectionGeoJSON")
    assert doc["numberMatched"] == matched and doc["numberReturned"] == returned
    assert len(doc["features"]) == returned
    assert RFC3339.match(doc["timeStamp"]), doc["timeStamp"]
    assert datetime.fromisoformat(doc["timeStamp"].replace("Z", "+00:00")).tzinfo is not None
    assert_links(doc)


PAGES = [  # collection, query, numberMatched, numberReturned
    ("building", {}, 25, 10),
    ("building", {"limit": 5, "offset": 20}, 25, 5),
    ("building", {"bbox": "104.0599,30.6599,104.0631,30.6606"}, 2, 2),
    ("building", {"bbox": "104.0599,30.6599,-10,104.0631,30.6606,100"}, 2, 2),
    ("building", {"bbox": "110,20,111,21"}, 0, 0),
    ("building", {"limit": 20000}, 25, 25),
    ("building", {"datetime": "2000-01-01T00:00:00Z/.."}, 25, 10),
    ("station", {}, 2, 2),
    ("grid_party", {"code": "B001"}, 1, 1),
    ("community", {}, 0, 0),
]


def test_items_pages_and_features(served):
    for collection, query, matched, returned in PAGES:
        doc = get_json(f"{served}/collections/{collection}/items", GEOJSON, **query)
        assert_feature_collection(doc, matched, returned)

    first = get_json(f"{served}/collections/building/items", GEOJSON, limit=10)
    links = assert_links(first, "next")
    assert "prev" not in links
    assert_alternates_are_served(links)
    second = get_json(links["next"][0]["href"], GEOJSON)
    assert_feature_collection(second, 25, 10)
    third = get_json(assert_links(second, "next", "prev")["next"][0]["href"], GEOJSON)
    assert_feature_collection(third, 25, 5)
    assert "next" not in assert_links(third, "prev")

    feature = get_json(f"{served}/collections/building/items/B003", GEOJSON)
    assert_valid(feature, "featureGeoJSON")
    links = assert_links(feature, "collection")
    assert_alternates_are_served(links)
    assert feature["id"] == "B003" and feature["geometry"]["type"] == "MultiPolygon"
    assert links["collection"][0]["href"] == f"{served}/collections/building"
    station = get_json(f"{served}/collections/station/items/ZD02", GEOJSON)
    assert_valid(station, "featureGeoJSON")
    assert station["geometry"] == {"type": "Point", "coordinates": [104.0655, 30.6618]}


FAILURES = [  # path, query, status
    ("/collections/nope", {}, 404),
    ("/collections/nope/items", {}, 404),
    ("/collections/building/items/NOPE", {}, 404),
    ("/collections/building/items", {"bbox": "1,2,3"}, 400),
    ("/collections/building/items", {"bbox": "104.0,30.7,104.1,30.6"}, 400),
    ("/collections/building/items", {"limit": 0}, 400),
    ("/collections/building/items", {"limit": "ten"}, 400),
    ("/collections/building/items", {"offset": -1}, 400),
    ("/collections/building/items", {"datetime": "yesterday"}, 400),
    ("/collections/building/items", {"nope": "1"}, 400),
    ("/collections", {"f": "xml"}, 400),
]


def test_failures_are_exception_documents(served):
    for path, query, status in FAILURES:
        response = http.get(served + path, params=query)
        assert response.status_code == status, (path, query, response.text)
        assert response.headers["content-type"].startswith("application/json")
        doc = response.json()
        assert_valid(doc, "exception")
        assert doc["description"] and doc["message_zh"] and doc["message_en"], doc

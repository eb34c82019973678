"""Bad input to a real server gets a 4xx with a message in Chinese and English: never a 500,
never a partial write. On both databases, over the analysed demo:

- SQL-injection strings in every parameter of every GET route: a 4xx, or a 200 that changes
  nothing and matches nothing it should not;
- malformed GeoJSON, absurd coordinates and huge polygons sent to the planners' routes
  (figures, validate, fix, shapes, save): a 4xx, and the plan as it was;
- uploads to /api/plans/import that are zip bombs, zips with path-traversal members, files whose
  suffix lies about their content, empty, oversized or overfull files: a 4xx, nothing written.

The servers run with small limits (1 MB uploads, 2 MB unzipped, 200 features) so that the
oversized cases stay cheap.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from servers import demo_database, http, start_server

from gridmap.api.app import create_app
from gridmap.config import Settings

LIMITS = {
    "GRIDMAP_MAX_UPLOAD_MB": "1",
    "GRIDMAP_MAX_UNZIPPED_MB": "2",
    "GRIDMAP_MAX_UPLOAD_FEATURES": "200",
}
OPENAPI = create_app(Settings(database_url="sqlite://")).openapi()
INJECTIONS = [
    "'; DROP TABLE building; --",
    "1 OR 1=1",
    "%",
    "\\",
    "' OR ''='",
    '1"; DELETE FROM plan; --',
]


@dataclass
class Demo:
    base: str
    plan_id: int
    community: str
    compound: str
    building: str


def _request(method: str, url: str, **kw) -> httpx.Response:
    return http.request(method, url, timeout=120, **kw)


@pytest.fixture(scope="module", params=["spatialite", "postgis"])
def demo(request, tmp_path_factory) -> Iterator[Demo]:
    if request.param == "spatialite":
        url = f"sqlite:///{tmp_path_factory.mktemp('badinput') / 'gridmap.db'}"
    else:
        url = request.getfixturevalue("postgis_cluster").create_db("badinput")
    demo_database(url)
    proc, base = start_server(url, **LIMITS)
    try:
        plan = _request("POST", base + "/api/plans", json={"name": "坏输入测试", "author": "测试员甲"})  # fmt: skip
        assert plan.status_code == 201, plan.text
        community = _request("GET", base + "/api/figures", params={"level": "community"}).json()
        compound = _request("GET", base + "/api/figures", params={"level": "compound"}).json()
        building = _request("GET", base + "/ogc/collections/building/items?limit=1").json()
        yield Demo(
            base,
            plan.json()["id"],
            community[0]["code"],
            compound[0]["code"],
            building["features"][0]["id"],
        )
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def plan_state(demo: Demo) -> dict:
    """The plans and the draft's cells, which the planners' routes may change."""
    plan = _request("GET", f"{demo.base}/api/plans/{demo.plan_id}").json()
    return {"plans": _request("GET", demo.base + "/api/plans").json(), "cells": plan["cells"]}


def state(demo: Demo) -> dict:
    """Everything a bad request must leave as it was: layers, analysis, plans, the draft."""
    return {
        "layers": _request("GET", demo.base + "/api/layers").json(),
        "run": _request("GET", demo.base + "/api/summary").json()["run"],
        **plan_state(demo),
    }


def assert_refused(response: httpx.Response) -> dict:
    """A 4xx whose JSON says what is wrong in both languages."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    body = response.json()
    assert body["message_zh"] and body["message_en"], body
    return body


# --- SQL injection in every parameter of every GET route ---------------------------------------

GET_ROUTES = sorted(path for path, ops in OPENAPI["paths"].items() if "get" in ops)


def _fillers(demo: Demo) -> dict[str, str]:
    return {"layer": "community", "level": "community", "code": demo.community,
            "plan_id": str(demo.plan_id), "cid": "building", "fid": demo.building,
            "z": "16", "x": "52000", "y": "26000"}  # fmt: skip


def _parameters(path: str) -> list[dict]:
    return OPENAPI["paths"][path]["get"].get("parameters", [])


@pytest.mark.parametrize("path", GET_ROUTES)
def test_sql_injection_in_any_get_parameter_is_refused_or_harmless(demo, path):
    before = state(demo)
    fillers = _fillers(demo)
    targets = [(p["name"], p["in"]) for p in _parameters(path)]
    if path == "/ogc/collections/{cid}/items":  # property filters: any other parameter name
        targets += [("code", "query"), ("name", "query"), ("households", "query"), (None, "query")]  # fmt: skip
    assert targets or path in ("/api/layers", "/api/summary", "/api/me"), (
        "a route without parameters"
    )
    for name, where in targets:
        for text in INJECTIONS:
            values = {n: fillers[n] for n, w in targets if w == "path" and n != name}
            params = {}
            if where == "path":
                values[name] = text
            elif name is None:
                params[text] = "1"  # the injection as a parameter name
            else:
                params[name] = text
            url = demo.base + path.format(**{k: quote(v, safe="") for k, v in values.items()})
            response = _request("GET", url, params=params)
            assert response.status_code < 500, (url, params, response.text[:300])
            if response.status_code >= 400:
                assert_refused(response)
            elif path == "/api/search":
                hits = response.json()
                assert all(text.lower() in f"{h['code']} {h['name']}".lower() for h in hits), hits
    assert state(demo) == before


# --- malformed GeoJSON, absurd coordinates, huge polygons to the planners' routes -------------


def box(x0, y0, x1, y1) -> dict:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def cell(geometry, **properties) -> dict:
    return {"type": "Feature", "properties": {"code": "测试-1", **properties}, "geometry": geometry}


GOOD = box(104.05, 30.65, 104.051, 30.651)
MANY_VERTICES = {  # a 60,000-vertex ring: over the server's 1 MB body limit
    "type": "Polygon",
    "coordinates": [
        [[104.05 + 0.001 * (i % 2), 30.65 + i * 1e-7] for i in range(60_000)] + [[104.05, 30.65]]
    ],
}
BAD_FEATURES = {
    "no geometry": [cell(None)],
    "no coordinates": [cell({"type": "Polygon"})],
    "ring of two points": [cell({"type": "Polygon", "coordinates": [[[104, 30], [104.1, 30]]]})],
    "text coordinates": [
        cell({"type": "Polygon", "coordinates": [[["a", "b"], [1, 2], [3, 4], ["a", "b"]]]})
    ],
    "coordinates not nested": [cell({"type": "Polygon", "coordinates": [104, 30]})],
    "coordinates nested too deep": [cell({"type": "Polygon", "coordinates": [[[[[104, 30]]]]]})],
    "unknown geometry type": [cell({"type": "Blob", "coordinates": [1, 2]})],
    "geometry as WKT text": [cell("POLYGON((104 30, 104.1 30, 104.1 30.1, 104 30))")],
    "a point, not a polygon": [cell({"type": "Point", "coordinates": [104.05, 30.65]})],
    "empty polygon": [cell({"type": "Polygon", "coordinates": []})],
    "empty geometry collection": [cell({"type": "GeometryCollection", "geometries": []})],
    "infinite coordinates": [cell(box(104.05, 30.65, float("inf"), 30.66))],
    "NaN coordinates": [cell(box(104.05, float("nan"), 104.06, 30.66))],
    "projected coordinates (CGCS2000 zone 35)": [
        cell(box(35_400_000, 3_390_000, 35_401_000, 3_391_000))
    ],
    "1e300": [cell(box(1e300, 1e300, 2e300, 2e300))],
    "latitude beyond the pole": [cell(box(104.05, 89.99, 104.06, 95))],
    "huge polygon: all of China": [cell(box(73.5, 18.2, 134.8, 53.5))],
    "huge polygon: the world": [cell(box(-180, -90, 180, 90))],
    "cells 2,000 km apart": [cell(GOOD), cell(box(126.6, 45.7, 126.61, 45.71), code="测试-2")],
    "huge polygon: 60,000 vertices": [cell(MANY_VERTICES)],
    "code is an object": [cell(GOOD, code={"a": 1})],
    "properties is a list": [{"type": "Feature", "properties": [1, 2], "geometry": GOOD}],
    "NUL in the code": [cell(GOOD, code="测试\x00")],
    "too many features": [
        cell(box(104.05, 30.65 + i * 1e-4, 104.0501, 30.65005 + i * 1e-4), code=f"T{i}")
        for i in range(201)
    ],
}
MALFORMED_BODIES = {
    "not JSON": b'{"cells": {"type": "FeatureCollection", "features": [',
    "cells is a Feature": json.dumps({"cells": cell(GOOD)}).encode(),
    "features is an object": json.dumps(
        {"cells": {"type": "FeatureCollection", "features": {}}}
    ).encode(),
    "a list, not an object": b"[1, 2, 3]",
    "invalid UTF-8": b'{"cells": {"type": "FeatureCollection", "features": ["\xff\xfe"]}}',
}
ROUTES = ["figures", "validate", "fix", "shapes", "save"]


def body_for(route: str, demo: Demo, features: list[dict], version: int) -> dict:
    collection = {"type": "FeatureCollection", "features": features}
    if route == "fix":
        return {"kind": "snap_compound", "code": demo.compound, "cells": collection}
    if route == "shapes":
        return {"op": "merge", "a": features[0], "b": cell(GOOD)}
    if route == "save":
        return {"version": version, "author": "测试员甲", "cells": collection}
    return {"cells": collection}


def send(demo: Demo, route: str, content: bytes) -> httpx.Response:
    method, url = ("PUT", "") if route == "save" else ("POST", f"/{route}")
    return _request(method, f"{demo.base}/api/plans/{demo.plan_id}{url}", content=content,
                    headers={"content-type": "application/json"})  # fmt: skip


@pytest.mark.parametrize(
    ("route", "case"),
    [(r, c) for r in ROUTES for c, f in BAD_FEATURES.items() if r != "shapes" or len(f) == 1],
)  # shapes takes two features, a and b: the collections do not apply
def test_bad_geometry_is_refused_and_the_plan_stays_as_it_was(demo, route, case):
    features = BAD_FEATURES[case]
    before = plan_state(demo)
    version = next(p["version"] for p in before["plans"] if p["id"] == demo.plan_id)
    content = json.dumps(body_for(route, demo, features, version), ensure_ascii=False).encode()
    response = send(demo, route, content)
    body = assert_refused(response)
    if case == "huge polygon: 60,000 vertices":
        assert response.status_code == 413 and "GRIDMAP_MAX_UPLOAD_MB" in body["message_en"]
    else:
        assert response.status_code in (400, 422), body
    assert plan_state(demo) == before


@pytest.mark.parametrize("case", list(MALFORMED_BODIES))
@pytest.mark.parametrize("route", ROUTES)
def test_malformed_bodies_are_refused_and_the_plan_stays_as_it_was(demo, route, case):
    before = plan_state(demo)
    response = send(demo, route, MALFORMED_BODIES[case])
    body = assert_refused(response)
    if response.status_code == 422:
        assert body["problems"], "each problem named with its place"
    assert plan_state(demo) == before


def test_a_good_cell_still_gets_its_figures(demo):
    """The checks above refuse bad cells, not the ones the editor sends."""
    content = json.dumps(body_for("figures", demo, [cell(GOOD)], 1)).encode()
    response = send(demo, "figures", content)
    assert response.status_code == 200, response.text
    assert response.json()[0]["code"] == "测试-1"


# --- uploads to /api/plans/import --------------------------------------------------------------


def zipped(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def lying_about_its_size(data: bytes) -> bytes:
    """A zip whose headers claim its member is 100 bytes: it unpacks to far more."""
    out = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = out.find(signature)
        out[at + offset : at + offset + 4] = (100).to_bytes(4, "little")
    return bytes(out)


def geojson(features: list[dict]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


CSV_WITH_NUL = (
    b"code,wkt\n"
    + b"".join(  # past the first 4 KB, where content is sniffed
        f'W{i},"POLYGON((104.05 {30.65 + i * 1e-3},104.051 {30.65 + i * 1e-3},104.051 {30.6505 + i * 1e-3},104.05 {30.65 + i * 1e-3}))"\n'.encode()
        for i in range(80)
    )
    + b'W80\x00,"POLYGON((104.05 30.6,104.051 30.6,104.051 30.6005,104.05 30.6))"\n'
)
PADDED = b'{"type": "FeatureCollection", "features": [' + b" " * 3_000_000 + b"]}"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
UPLOADS = {
    "zip bomb": ("方案.zip", zipped({"方案.geojson": PADDED}), "GRIDMAP_MAX_UNZIPPED_MB"),
    "zip lying about its size": (
        "方案.zip",
        lying_about_its_size(zipped({"方案.geojson": PADDED})),
        "方案.zip",
    ),
    "path traversal in the zip": (
        "方案.zip",
        zipped({"../../x.shp": b"\x00\x00\x27\x0a", "../../x.dbf": b"", "../../x.shx": b""}),
        "../../x.shp",
    ),
    "absolute path in the zip": (
        "方案.zip",
        zipped({"/tmp/x.geojson": geojson([cell(GOOD)])}),
        "/tmp/x.geojson",
    ),
    "zip without a layer": ("方案.zip", zipped({"说明.txt": "只有说明".encode()}), "方案.zip"),
    "a zip named .geojson": ("方案.geojson", zipped({"a.geojson": geojson([cell(GOOD)])}), "ZIP"),
    "GeoJSON named .gpkg": ("方案.gpkg", geojson([cell(GOOD)]), "GeoPackage"),
    "a picture named .zip": ("方案.zip", PNG, "PNG"),
    "GeoJSON named .shp": ("方案.shp", geojson([cell(GOOD)]), "shapefile"),
    "unsupported suffix": ("方案.exe", b"MZ\x90\x00", ".exe"),
    "empty file": ("方案.geojson", b"", "方案.geojson"),
    "broken GeoJSON": (
        "方案.geojson",
        b'{"type": "FeatureCollection", "features": [{"type": ',
        "方案.geojson",
    ),
    "oversized file": ("方案.geojson", PADDED, "GRIDMAP_MAX_UPLOAD_MB"),
    "too many features": (
        "方案.geojson",
        geojson(BAD_FEATURES["too many features"]),
        "GRIDMAP_MAX_UPLOAD_FEATURES",
    ),
    "NUL in a CSV row": ("方案.csv", CSV_WITH_NUL, "NUL"),
    "cells 2,000 km apart": (
        "方案.geojson",
        geojson(BAD_FEATURES["cells 2,000 km apart"]),
        "GRIDMAP_MAX_PLAN_EXTENT_KM",
    ),
}


@pytest.mark.parametrize("case", list(UPLOADS))
def test_bad_uploads_are_refused_and_nothing_is_written(demo, case):
    filename, data, said = UPLOADS[case]
    before = state(demo)
    response = _request(
        "POST", demo.base + "/api/plans/import",
        files={"file": (filename, data)}, data={"name": "上传测试", "author": "测试员甲"},
    )  # fmt: skip
    body = assert_refused(response)
    assert said in body["message_en"] + json.dumps(body["problems"], ensure_ascii=False), body
    assert state(demo) == before
    for place in (Path("/x.shp"), Path(tempfile.gettempdir()) / "x.shp", Path("/tmp/x.geojson")):
        assert not place.exists()


def test_folders_in_an_uploaded_file_name_are_ignored(demo):
    response = _request(
        "POST", demo.base + "/api/plans/import",
        files={"file": ("../../方案.geojson", geojson([cell(GOOD)]))},
        data={"name": "上传测试", "author": "测试员甲"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    assert not (Path(tempfile.gettempdir()).parent / "方案.geojson").exists()


def test_numbers_too_large_for_the_database_are_refused_rows(tmp_path):
    """On import: 3,000,000,000 households overflowed PostgreSQL's integer, 1e30 raised a
    TypeError; both are rows refused with the reason."""
    from gridmap.io.read import read_layer_file

    square = '"POLYGON((104.05 30.65,104.051 30.65,104.051 30.651,104.05 30.65))"'
    path = tmp_path / "楼栋.csv"
    path.write_text(
        f"编号,名称,户数,wkt\nLD1,一号楼,3000000000,{square}\nLD2,二号楼,1e30,{square}\n"
        f"LD3,三号楼,12,{square}\n",
        encoding="utf-8",
    )
    result = read_layer_file(path, "building")
    assert result.frame["code"].tolist() == ["LD3"]
    assert [(p.row, p.reason_en) for p in result.report.rejected] == [
        (2, "'3000000000' is too large (at most 2147483647)"),
        (3, "'1e30' is too large (at most 2147483647)"),
    ]

"""The OGC landing page, conformance classes, the collections and one collection's metadata.

The landing page and the conformance classes read nothing: ``async``, answered in the event
loop without a worker thread (tests/api/test_route_order.py)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from gridmap.api.cache import kept_soon
from gridmap.api.deps import ConnDep
from gridmap.api.routes.ogc.collection_index import collection_index, lookup
from gridmap.api.routes.ogc.html import esc, html_page, link_list, ogc_base, self_links, wants_html
from gridmap.api.routes.ogc.routing import GEOJSON, OAS30, documented, router
from gridmap.store.features import table_bounds
from gridmap.store.models import table_for

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]


@router.get("", summary="OGC API 入口 / landing page", responses=documented("landingPage"))
async def landing(request: Request, f: str | None = None) -> Response:
    base = ogc_base(request)
    doc = {
        "title": "gridmap 党建引领网格化治理",
        "description": "OGC API – Features of gridmap's layers",
        "links": [
            *self_links(request),
            {"href": f"{base}/api", "rel": "service-desc", "type": OAS30, "title": "OpenAPI 3.0"},
            {"href": f"{base}/api?f=html", "rel": "service-doc", "type": "text/html",
             "title": "API 说明 / API documentation"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json",
             "title": "conformance"},
            {"href": f"{base}/collections", "rel": "data", "type": "application/json",
             "title": "collections"},
        ],
    }  # fmt: skip
    if wants_html(request, f):
        return html_page(request, doc["title"], link_list([
            (f"{base}/collections?f=html", "图层 collections"),
            (f"{base}/conformance?f=html", "符合的标准 conformance"),
            (f"{base}/api?f=html", "API 说明 API documentation"),
        ]))  # fmt: skip
    return JSONResponse(doc)


@router.get("/conformance", summary="符合的标准 / conformance", responses=documented("confClasses"))
async def conformance(request: Request, f: str | None = None) -> Response:
    if wants_html(request, f):
        return html_page(
            request, "符合的标准 conformance", link_list([(c, c) for c in CONFORMANCE])
        )
    return JSONResponse({"conformsTo": CONFORMANCE, "links": self_links(request)})


def _collection_doc(base: str, cid: str, title: str, bbox: list[float] | None) -> dict:
    url = f"{base}/collections/{cid}"
    doc = {
        "id": cid,
        "title": title,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            {"href": url, "rel": "self", "type": "application/json", "title": title},
            {"href": f"{url}?f=html", "rel": "alternate", "type": "text/html", "title": title},
            {"href": f"{url}/items", "rel": "items", "type": GEOJSON, "title": title},
            {"href": f"{url}/items?f=html", "rel": "items", "type": "text/html", "title": title},
        ],
    }
    if bbox:
        doc["extent"] = {"spatial": {"bbox": [bbox], "crs": CRS84}}
    return doc


def _extent(request: Request, conn, layer: str, grid_layer: str | None) -> list[float] | None:
    """The layer's bounds, kept until the data change: they are read from every geometry (150 ms
    for 200,000 buildings), and QGIS asks for them whenever it connects."""

    def bounds(on) -> list[float] | None:
        table = table_for(layer)
        return table_bounds(on, table, table.c.layer == grid_layer if grid_layer else None)

    return kept_soon(request, conn, ("ogc-extent", layer, grid_layer), bounds, wait=True)


@router.get("/collections", summary="图层列表 / collections", responses=documented("collections"))
def collections(request: Request, conn: ConnDep, f: str | None = None) -> Response:
    base = ogc_base(request)
    docs = [
        _collection_doc(base, cid, title, _extent(request, conn, layer, grid))
        for cid, (layer, grid, title) in collection_index(conn).items()
    ]
    if wants_html(request, f):
        links = [
            (f"{base}/collections/{d['id']}?f=html", f"{d['title']} ({d['id']})") for d in docs
        ]
        return html_page(request, "图层 collections", link_list(links))
    return JSONResponse({"collections": docs, "links": self_links(request)})


@router.get(
    "/collections/{cid}", summary="图层说明 / one collection", responses=documented("collection")
)
def collection(cid: str, request: Request, conn: ConnDep, f: str | None = None) -> Response:
    layer, grid, title = lookup(conn, cid)
    doc = _collection_doc(ogc_base(request), cid, title, _extent(request, conn, layer, grid))
    if wants_html(request, f):
        extent = doc.get("extent", {"spatial": {"bbox": ["无要素 / empty"]}})["spatial"]["bbox"][0]
        body = f"<p><code>{cid}</code> · 范围 extent {esc(extent)}</p>"
        return html_page(
            request, title, body + link_list([(doc["links"][3]["href"], "要素 items")])
        )
    return JSONResponse(doc)

"""OGC API – Features, Part 1 (core, GeoJSON, HTML, OpenAPI 3.0), so QGIS and GDAL connect directly.

Collections are the layers with geometry except members (personal data, served only in aggregate);
each grid layer is its own collection ``grid_<name>``. Every resource is served as JSON and HTML,
links to itself in both (``self``, ``alternate``), and every failure is the standard's exception
document (``code``, ``description``) with gridmap's Chinese and English messages beside it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute

from gridmap import __version__
from gridmap.api.deps import ConnDep
from gridmap.api.routes.features import parse_bbox
from gridmap.api.routes.params import CHECKED, MAX_OFFSET
from gridmap.api.security import require
from gridmap.errors import HTTP_STATUS, GridmapError, InputFileError, NotFoundError
from gridmap.layers import GRID_LAYER_EXAMPLES, LAYERS
from gridmap.store.features import grid_layers, table_bounds
from gridmap.store.models import table_for
from gridmap.store.query import query_features, query_rows, queryable_columns

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
PUBLIC_LAYERS = ("subdistrict", "community", "compound", "building", "station")
RESERVED = {"limit", "offset", "bbox", "bbox-crs", "datetime", "f"}
GEOJSON = "application/geo+json"
OAS30 = "application/vnd.oai.openapi+json;version=3.0"
MAX_LIMIT = 10000
BLOCKS = "https://schemas.opengis.net/ogcapi/features/part1/1.0/openapi/ogcapi-features-1.yaml"
EXCEPTION_CODES = {400: "InvalidParameterValue", 404: "NotFound"}


def _exception(error: GridmapError) -> JSONResponse:
    status = next(HTTP_STATUS[cls] for cls in type(error).__mro__ if cls in HTTP_STATUS)
    code = EXCEPTION_CODES.get(status, type(error).__name__)
    description = f"{error.message_zh} / {error.message_en}"
    body = {"code": code, "description": description, **error.to_dict()}
    headers = {"WWW-Authenticate": 'Bearer realm="gridmap"'} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _invalid_parameter(exc: RequestValidationError) -> InputFileError:
    first = exc.errors()[0]
    name, value, why = first["loc"][-1], first.get("input"), first["msg"]
    return InputFileError(f"参数 {name} 的取值“{value}”无效。", f"{name}={value}: {why}.")


class OgcRoute(APIRoute):
    """Failures as exception documents; invalid parameters are 400, not FastAPI's 422."""

    def get_route_handler(self) -> Callable:
        handle = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as exc:
                return _exception(_invalid_parameter(exc))
            except GridmapError as exc:
                return _exception(exc)

        return route_handler


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON


router = APIRouter(
    prefix="/ogc",
    tags=["OGC API Features"],
    route_class=OgcRoute,
    dependencies=[*CHECKED, require("view")],
)


def _documented(schema: str, media: str = "application/json") -> dict:
    """OpenAPI responses: ``schema`` of the standard's building blocks, HTML, exceptions."""
    exception = {"$ref": f"{BLOCKS}#/components/schemas/exception"}
    return {
        200: {"content": {media: {"schema": {"$ref": f"{BLOCKS}#/components/schemas/{schema}"}},
                          "text/html": {"schema": {"type": "string"}}}},
        "4XX": {"description": "参数无效或不存在 / invalid parameter or not found",
                "content": {"application/json": {"schema": exception}}},
    }  # fmt: skip


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _wants_html(request: Request, f: str | None) -> bool:
    if f:
        if f not in ("json", "html"):
            raise InputFileError("f 只能是 json 或 html。", "f must be json or html.")
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept


def _self_links(request: Request, media: str = "application/json") -> list[dict]:
    """``self`` in ``media`` and its ``alternate`` in HTML."""
    url = request.url.remove_query_params("f")
    html = url.include_query_params(f="html")
    return [
        {"href": str(url), "rel": "self", "type": media, "title": "this document"},
        {"href": str(html), "rel": "alternate", "type": "text/html", "title": "HTML"},
    ]


def _collections(conn) -> dict[str, tuple[str, str | None, str]]:
    """collection id → (layer, grid layer, Chinese title)."""
    out = {name: (name, None, LAYERS[name].label_zh) for name in PUBLIC_LAYERS}
    for grid in grid_layers(conn):
        out[f"grid_{grid}"] = ("grid", grid, GRID_LAYER_EXAMPLES.get(grid, f"网格 {grid}"))
    return out


def _esc(value) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _html(request: Request, title: str, body: str, media: str = "application/json") -> HTMLResponse:
    as_json = _esc(request.url.include_query_params(f="json"))
    return HTMLResponse(
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{_esc(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="alternate" type="{media}" href="{as_json}"></head>'
        f'<body><h1>{_esc(title)}</h1>{body}<p><a href="{as_json}">JSON</a></p></body></html>'
    )


def _link_list(links: list[tuple[str, str]]) -> str:
    return (
        "<ul>" + "".join(f'<li><a href="{_esc(h)}">{_esc(t)}</a></li>' for h, t in links) + "</ul>"
    )


@router.get("", summary="OGC API 入口 / landing page", responses=_documented("landingPage"))
def landing(request: Request, f: str | None = None) -> Response:
    base = _base(request)
    doc = {
        "title": "gridmap 党建引领网格化治理",
        "description": "OGC API – Features of gridmap's layers",
        "links": [
            *_self_links(request),
            {"href": f"{base}/api", "rel": "service-desc", "type": OAS30, "title": "OpenAPI 3.0"},
            {"href": f"{base}/api?f=html", "rel": "service-doc", "type": "text/html",
             "title": "API 说明 / API documentation"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json",
             "title": "conformance"},
            {"href": f"{base}/collections", "rel": "data", "type": "application/json",
             "title": "collections"},
        ],
    }  # fmt: skip
    if _wants_html(request, f):
        return _html(request, doc["title"], _link_list([
            (f"{base}/collections?f=html", "图层 collections"),
            (f"{base}/conformance?f=html", "符合的标准 conformance"),
            (f"{base}/api?f=html", "API 说明 API documentation"),
        ]))  # fmt: skip
    return JSONResponse(doc)


@router.get(
    "/conformance", summary="符合的标准 / conformance", responses=_documented("confClasses")
)
def conformance(request: Request, f: str | None = None) -> Response:
    if _wants_html(request, f):
        return _html(request, "符合的标准 conformance", _link_list([(c, c) for c in CONFORMANCE]))
    return JSONResponse({"conformsTo": CONFORMANCE, "links": _self_links(request)})


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


def _extent(conn, layer: str, grid_layer: str | None) -> list[float] | None:
    table = table_for(layer)
    return table_bounds(conn, table, table.c.layer == grid_layer if grid_layer else None)


@router.get("/collections", summary="图层列表 / collections", responses=_documented("collections"))
def collections(request: Request, conn: ConnDep, f: str | None = None) -> Response:
    base = _base(request)
    docs = [
        _collection_doc(base, cid, title, _extent(conn, layer, grid))
        for cid, (layer, grid, title) in _collections(conn).items()
    ]
    if _wants_html(request, f):
        links = [
            (f"{base}/collections/{d['id']}?f=html", f"{d['title']} ({d['id']})") for d in docs
        ]
        return _html(request, "图层 collections", _link_list(links))
    return JSONResponse({"collections": docs, "links": _self_links(request)})


def _lookup(conn, cid: str) -> tuple[str, str | None, str]:
    found = _collections(conn).get(cid)
    if found is None:
        raise NotFoundError(f"没有图层 {cid}。", f"No collection {cid}.")
    return found


@router.get(
    "/collections/{cid}", summary="图层说明 / one collection", responses=_documented("collection")
)
def collection(cid: str, request: Request, conn: ConnDep, f: str | None = None) -> Response:
    layer, grid, title = _lookup(conn, cid)
    doc = _collection_doc(_base(request), cid, title, _extent(conn, layer, grid))
    if _wants_html(request, f):
        extent = doc.get("extent", {"spatial": {"bbox": ["无要素 / empty"]}})["spatial"]["bbox"][0]
        body = f"<p><code>{cid}</code> · 范围 extent {_esc(extent)}</p>"
        return _html(request, title, body + _link_list([(doc["links"][3]["href"], "要素 items")]))
    return JSONResponse(doc)


def _parse_datetime(text: str | None) -> tuple[datetime | None, datetime | None] | None:
    if not text:
        return None

    def one(part: str) -> datetime | None:
        if part in ("", ".."):
            return None
        try:
            value = datetime.fromisoformat(part.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InputFileError(
                f"datetime “{text}” 不是 RFC 3339 时间或时间段。",
                f"datetime '{text}' is not an RFC 3339 instant or interval.",
            ) from exc
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    if "/" in text:
        start, end = text.split("/", 1)
        return one(start), one(end)
    instant = one(text)
    return instant, instant


def _parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """Four numbers, or six with heights, which are dropped: the layers are flat."""
    parts = text.split(",") if text else []
    if len(parts) == 6:
        text = ",".join(parts[i] for i in (0, 1, 3, 4))
    return parse_bbox(text)


_encode = json.JSONEncoder(ensure_ascii=False, default=str, separators=(",", ":")).encode


def _value(v):
    """JSON-ready property: times as RFC 3339 UTC (SQLite hands back naive UTC)."""
    if isinstance(v, datetime):
        v = v if v.tzinfo else v.replace(tzinfo=UTC)
        return v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return v


def _rows_json(page, with_links: list[dict], extra: dict) -> str:
    """A FeatureCollection straight from driver rows: no DataFrame on the items path."""
    geoms = (
        shapely.transform(page.geoms, lambda c: np.round(c, 7)) if len(page.geoms) else page.geoms
    )
    names = page.names[1:]  # without the row id
    code = names.index("code")
    parts = [
        f'{{"type":"Feature","id":{_encode(str(row[1 + code]))},"geometry":{g or "null"},'
        f'"properties":{_encode({n: _value(v) for n, v in zip(names, row[1:], strict=True)})}}}'
        for row, g in zip(page.rows, shapely.to_geojson(geoms) if len(geoms) else [], strict=True)
    ]
    head = json.dumps(
        {"type": "FeatureCollection", **extra, "links": with_links}, ensure_ascii=False
    )
    return head[:-1] + ',"features":[' + ",".join(parts) + "]}"


def _features_json(frame, with_links: list[dict] | None = None, extra: dict | None = None) -> str:
    geoms = shapely.transform(frame.geometry.values, lambda c: np.round(c, 7))
    geo_texts = shapely.to_geojson(geoms)
    props = frame.drop(columns=["id", "geometry"])
    for column in props.columns:
        if pd.api.types.is_datetime64_any_dtype(props[column]):
            utc = (
                props[column].dt.tz_localize("UTC")
                if props[column].dt.tz is None
                else props[column]
            )
            props[column] = utc.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    props = props.astype(object)
    props = props.where(props.notna(), None)
    parts = [
        f'{{"type":"Feature","id":{json.dumps(str(r["code"]), ensure_ascii=False)},'
        f'"geometry":{g},"properties":{json.dumps(r, ensure_ascii=False, default=str)}}}'
        for r, g in zip(props.to_dict("records"), geo_texts, strict=True)
    ]
    head = {"type": "FeatureCollection", **(extra or {}), "links": with_links or []}
    text = json.dumps(head, ensure_ascii=False)
    return text[:-1] + ',"features":[' + ",".join(parts) + "]}"


@router.get(
    "/collections/{cid}/items",
    summary="要素 / features (GeoJSON)",
    response_class=GeoJSONResponse,
    responses=_documented("featureCollectionGeoJSON", GEOJSON),
)
def items(
    cid: str,
    request: Request,
    conn: ConnDep,
    limit: Annotated[
        int,
        Query(
            ge=1,
            json_schema_extra={"maximum": MAX_LIMIT},
            description=f"1 … {MAX_LIMIT}; more is read as {MAX_LIMIT}",
        ),
    ] = 10,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    datetime_: Annotated[str | None, Query(alias="datetime")] = None,
    f: str | None = None,
) -> Response:
    layer, grid, title = _lookup(conn, cid)
    limit = min(limit, MAX_LIMIT)  # /req/core/fc-limit-response-1 C: a larger limit is no error
    filters = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    query = dict(grid_layer=grid, bbox=_parse_bbox(bbox), filters=filters,
                 updated=_parse_datetime(datetime_), limit=limit, offset=offset)  # fmt: skip
    if _wants_html(request, f):
        page = query_features(conn, layer, **query)
        return _items_html(request, title, page, queryable_columns(layer), offset, limit)
    page = query_rows(conn, layer, **query)
    links = _self_links(request, GEOJSON)
    returned = len(page.rows)
    if offset + returned < page.number_matched:
        nxt = request.url.include_query_params(offset=offset + limit, limit=limit)
        links.append({"href": str(nxt), "rel": "next", "type": GEOJSON, "title": "next page"})
    if offset > 0:
        prev = request.url.include_query_params(offset=max(0, offset - limit), limit=limit)
        links.append({"href": str(prev), "rel": "prev", "type": GEOJSON, "title": "previous page"})
    extra = {
        "numberMatched": page.number_matched,
        "numberReturned": returned,
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    return Response(_rows_json(page, links, extra), media_type=GEOJSON)


def _items_html(
    request: Request, title: str, page, columns: list[str], offset: int, limit: int
) -> HTMLResponse:
    head = "".join(f"<th>{c}</th>" for c in columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_esc(r[c]) if r[c] is not None else ''}</td>" for c in columns) + "</tr>"
        for r in page.frame[columns].astype(object).where(page.frame[columns].notna(), None).to_dict("records")
    )  # fmt: skip
    nav = f"<p>共 {page.number_matched} 个要素 / features; {offset + 1}–{offset + len(page.frame)}"
    if offset + limit < page.number_matched:
        nxt = _esc(request.url.include_query_params(f="html", offset=offset + limit, limit=limit))
        nav += f' · <a href="{nxt}">下一页 next</a>'
    return _html(request, title, f"{nav}</p><table border=1><tr>{head}</tr>{rows}</table>", GEOJSON)


@router.get(
    "/collections/{cid}/items/{fid}",
    summary="单个要素 / one feature",
    response_class=GeoJSONResponse,
    responses=_documented("featureGeoJSON", GEOJSON),
)
def item(cid: str, fid: str, request: Request, conn: ConnDep, f: str | None = None) -> Response:
    layer, grid, title = _lookup(conn, cid)
    page = query_features(conn, layer, grid_layer=grid, filters={"code": fid}, limit=1)
    if page.frame.empty:
        raise NotFoundError(f"没有要素 {fid}。", f"No feature {fid} in {cid}.")
    if _wants_html(request, f):
        record = page.frame[queryable_columns(layer)].astype(object).iloc[0]
        rows = "".join(
            f"<tr><th>{k}</th><td>{_esc(v) if pd.notna(v) else ''}</td></tr>"
            for k, v in record.items()
        )
        return _html(request, f"{title} {fid}", f"<table border=1>{rows}</table>", GEOJSON)
    feature = json.loads(_features_json(page.frame))["features"][0]
    collection = f"{_base(request)}/collections/{cid}"
    feature["links"] = [
        *_self_links(request, GEOJSON),
        {"href": collection, "rel": "collection", "type": "application/json", "title": title},
    ]
    return Response(json.dumps(feature, ensure_ascii=False), media_type=GEOJSON)


def _as_oas30(node):
    """FastAPI writes OpenAPI 3.1 schemas; 3.0 marks a ``null`` alternative with ``nullable``."""
    if isinstance(node, list):
        return [_as_oas30(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _as_oas30(v) for k, v in node.items()}
    options = out.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [o for o in out.pop("anyOf") if o != {"type": "null"}]
        out.update(rest[0] if len(rest) == 1 and "$ref" not in rest[0] else {"anyOf": rest})
        out["nullable"] = True
    return out


@router.get("/api", summary="API 定义 / API definition (OpenAPI 3.0)")
def api(request: Request, f: str | None = None) -> Response:
    doc = get_openapi(
        title="gridmap OGC API – Features", version=__version__, openapi_version="3.0.3",
        description="OGC API – Features, Part 1: Core 1.0 of gridmap's layers",
        routes=router.routes, servers=[{"url": str(request.base_url).rstrip("/")}],
    )  # fmt: skip
    doc = _as_oas30(doc)
    if _wants_html(request, f):
        rows = "".join(
            f"<tr><td>{method.upper()}</td><td><code>{_esc(path)}</code></td>"
            f"<td>{_esc(op.get('summary', ''))}</td></tr>"
            for path, ops in doc["paths"].items()
            for method, op in ops.items()
        )
        return _html(request, doc["info"]["title"], f"<table border=1>{rows}</table>", OAS30)
    return Response(json.dumps(doc, ensure_ascii=False), media_type=OAS30)

"""OGC API – Features, Part 1 (core, GeoJSON, HTML, OpenAPI 3.0), so QGIS and GDAL connect directly.

Collections are the layers with geometry except members (personal data, served only in aggregate);
each grid layer is its own collection ``grid_<name>``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from gridmap.api.deps import ConnDep
from gridmap.api.routes.features import parse_bbox
from gridmap.errors import InputFileError, NotFoundError
from gridmap.layers import GRID_LAYER_EXAMPLES, LAYERS
from gridmap.store.features import grid_layers, table_bounds
from gridmap.store.models import table_for
from gridmap.store.query import query_features, queryable_columns

router = APIRouter(prefix="/ogc", tags=["OGC API Features"])

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


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _wants_html(request: Request, f: str | None) -> bool:
    if f:
        if f not in ("json", "html"):
            raise InputFileError("f 只能是 json 或 html。", "f must be json or html.")
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept


def _collections(conn) -> dict[str, tuple[str, str | None, str]]:
    """collection id → (layer, grid layer, Chinese title)."""
    out = {name: (name, None, LAYERS[name].label_zh) for name in PUBLIC_LAYERS}
    for grid in grid_layers(conn):
        out[f"grid_{grid}"] = ("grid", grid, GRID_LAYER_EXAMPLES.get(grid, f"网格 {grid}"))
    return out


def _html(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f"<body><h1>{title}</h1>{body}</body></html>"
    )


def _esc(value) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@router.get("", summary="OGC API 入口 / landing page")
def landing(request: Request, f: str | None = None) -> Response:
    base = _base(request)
    root = str(request.base_url).rstrip("/")
    doc = {
        "title": "gridmap 党建引领网格化治理",
        "description": "OGC API – Features of gridmap's layers",
        "links": [
            {"href": base, "rel": "self", "type": "application/json", "title": "this document"},
            {"href": f"{root}/openapi.json", "rel": "service-desc",
             "type": "application/vnd.oai.openapi+json;version=3.0", "title": "OpenAPI"},
            {"href": f"{root}/docs", "rel": "service-doc", "type": "text/html", "title": "docs"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json",
             "title": "conformance"},
            {"href": f"{base}/collections", "rel": "data", "type": "application/json",
             "title": "collections"},
        ],
    }  # fmt: skip
    if _wants_html(request, f):
        return _html(doc["title"], '<p><a href="collections?f=html">图层 collections</a></p>')
    return JSONResponse(doc)


@router.get("/conformance", summary="符合的标准 / conformance")
def conformance() -> dict:
    return {"conformsTo": CONFORMANCE}


def _collection_doc(base: str, cid: str, title: str, bbox: list[float] | None) -> dict:
    doc = {
        "id": cid,
        "title": title,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            {"href": f"{base}/collections/{cid}", "rel": "self", "type": "application/json"},
            {"href": f"{base}/collections/{cid}/items", "rel": "items", "type": GEOJSON},
            {"href": f"{base}/collections/{cid}/items?f=html", "rel": "items", "type": "text/html"},
        ],
    }
    if bbox:
        doc["extent"] = {"spatial": {"bbox": [bbox], "crs": CRS84}}
    return doc


def _extent(conn, layer: str, grid_layer: str | None) -> list[float] | None:
    table = table_for(layer)
    return table_bounds(conn, table, table.c.layer == grid_layer if grid_layer else None)


@router.get("/collections", summary="图层列表 / collections")
def collections(request: Request, conn: ConnDep, f: str | None = None) -> Response:
    base = _base(request)
    docs = [
        _collection_doc(base, cid, title, _extent(conn, layer, grid))
        for cid, (layer, grid, title) in _collections(conn).items()
    ]
    if _wants_html(request, f):
        items = "".join(f'<li><a href="collections/{d["id"]}/items?f=html">{_esc(d["title"])}</a> '
                        f'<code>{d["id"]}</code></li>' for d in docs)  # fmt: skip
        return _html("图层 collections", f"<ul>{items}</ul>")
    links = [{"href": f"{base}/collections", "rel": "self", "type": "application/json"}]
    return JSONResponse({"collections": docs, "links": links})


def _lookup(conn, cid: str) -> tuple[str, str | None, str]:
    found = _collections(conn).get(cid)
    if found is None:
        raise NotFoundError(f"没有图层 {cid}。", f"No collection {cid}.")
    return found


@router.get("/collections/{cid}", summary="图层说明 / one collection")
def collection(cid: str, request: Request, conn: ConnDep) -> dict:
    layer, grid, title = _lookup(conn, cid)
    return _collection_doc(_base(request), cid, title, _extent(conn, layer, grid))


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


@router.get("/collections/{cid}/items", summary="要素 / features (GeoJSON)")
def items(
    cid: str,
    request: Request,
    conn: ConnDep,
    limit: Annotated[int, Query(ge=1, le=10000)] = 10,
    offset: Annotated[int, Query(ge=0)] = 0,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    datetime_: Annotated[str | None, Query(alias="datetime")] = None,
    f: str | None = None,
) -> Response:
    layer, grid, title = _lookup(conn, cid)
    filters = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    page = query_features(
        conn, layer, grid_layer=grid, bbox=parse_bbox(bbox), filters=filters,
        updated=_parse_datetime(datetime_), limit=limit, offset=offset,
    )  # fmt: skip
    if _wants_html(request, f):
        return _items_html(title, page, queryable_columns(layer), offset, limit)
    url = str(request.url.remove_query_params("f"))
    links = [{"href": url, "rel": "self", "type": GEOJSON}]
    returned = len(page.frame)
    if offset + returned < page.number_matched:
        nxt = request.url.include_query_params(offset=offset + limit, limit=limit)
        links.append({"href": str(nxt), "rel": "next", "type": GEOJSON})
    if offset > 0:
        prev = request.url.include_query_params(offset=max(0, offset - limit), limit=limit)
        links.append({"href": str(prev), "rel": "prev", "type": GEOJSON})
    extra = {
        "numberMatched": page.number_matched,
        "numberReturned": returned,
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    return Response(_features_json(page.frame, links, extra), media_type=GEOJSON)


def _items_html(title: str, page, columns: list[str], offset: int, limit: int) -> HTMLResponse:
    head = "".join(f"<th>{c}</th>" for c in columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_esc(r[c]) if r[c] is not None else ''}</td>" for c in columns) + "</tr>"
        for r in page.frame[columns].astype(object).where(page.frame[columns].notna(), None).to_dict("records")
    )  # fmt: skip
    nav = f"<p>共 {page.number_matched} 个要素 / features; {offset + 1}–{offset + len(page.frame)}"
    if offset + limit < page.number_matched:
        nav += f' · <a href="?f=html&offset={offset + limit}&limit={limit}">下一页 next</a>'
    return _html(title, f"{nav}</p><table border=1><tr>{head}</tr>{rows}</table>")


@router.get("/collections/{cid}/items/{fid}", summary="单个要素 / one feature")
def item(cid: str, fid: str, request: Request, conn: ConnDep) -> Response:
    layer, grid, _title = _lookup(conn, cid)
    page = query_features(conn, layer, grid_layer=grid, filters={"code": fid}, limit=1)
    if page.frame.empty:
        raise NotFoundError(f"没有要素 {fid}。", f"No feature {fid} in {cid}.")
    collection = str(request.url).rsplit("/items/", 1)[0]
    text = _features_json(page.frame)
    feature = json.loads(text)["features"][0]
    feature["links"] = [
        {"href": str(request.url), "rel": "self", "type": GEOJSON},
        {"href": collection, "rel": "collection", "type": "application/json"},
    ]
    return Response(json.dumps(feature, ensure_ascii=False), media_type=GEOJSON)

"""The features of one collection (``/items``: paged, filtered by bbox, time and property) and
one feature, as GeoJSON or HTML."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import pandas as pd
from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response

from gridmap.api.deps import EngineDep, on_connection
from gridmap.api.routes.features import parse_bbox
from gridmap.api.routes.ogc.collection_index import lookup
from gridmap.api.routes.ogc.html import esc, html_page, ogc_base, self_links, wants_html
from gridmap.api.routes.ogc.routing import GEOJSON, GeoJSONResponse, documented, router
from gridmap.api.routes.params import MAX_OFFSET
from gridmap.errors import InputFileError, NotFoundError
from gridmap.io.geojson_text import collection as geojson_collection
from gridmap.store.query import query_features, query_geojson, queryable_columns

RESERVED = {"limit", "offset", "bbox", "bbox-crs", "datetime", "f"}
MAX_LIMIT = 10000


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


@router.get(
    "/collections/{cid}/items",
    summary="要素 / features (GeoJSON)",
    response_class=GeoJSONResponse,
    responses=documented("featureCollectionGeoJSON", GEOJSON),
)
async def items(
    cid: str,
    request: Request,
    engine: EngineDep,
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
    # QGIS asks for a page on every pan: the connection's checkout, the page and the close take
    # one worker thread call between them, not three (benchmarks/RESULTS.md, street level)
    return await on_connection(
        engine,
        lambda conn: _items(conn, cid, request, limit, offset, bbox, datetime_, f),
        reading=True,
    )


def _items(conn, cid: str, request: Request, limit: int, offset: int, bbox: str | None,
           datetime_: str | None, f: str | None) -> Response:  # fmt: skip
    layer, grid, title = lookup(conn, cid)
    limit = min(limit, MAX_LIMIT)  # /req/core/fc-limit-response-1 C: a larger limit is no error
    filters = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    query = dict(grid_layer=grid, bbox=_parse_bbox(bbox), filters=filters,
                 updated=_parse_datetime(datetime_), limit=limit, offset=offset)  # fmt: skip
    if wants_html(request, f):
        page = query_features(conn, layer, **query)
        return _items_html(request, title, page, queryable_columns(layer), offset, limit)
    page = query_geojson(conn, layer, **query)
    links = self_links(request, GEOJSON)
    returned = page.number_returned
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
    return Response(
        geojson_collection(page.features, {**extra, "links": links}), media_type=GEOJSON
    )


def _items_html(
    request: Request, title: str, page, columns: list[str], offset: int, limit: int
) -> HTMLResponse:
    head = "".join(f"<th>{c}</th>" for c in columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{esc(r[c]) if r[c] is not None else ''}</td>" for c in columns) + "</tr>"
        for r in page.frame[columns].astype(object).where(page.frame[columns].notna(), None).to_dict("records")
    )  # fmt: skip
    nav = f"<p>共 {page.number_matched} 个要素 / features; {offset + 1}–{offset + len(page.frame)}"
    if offset + limit < page.number_matched:
        nxt = esc(request.url.include_query_params(f="html", offset=offset + limit, limit=limit))
        nav += f' · <a href="{nxt}">下一页 next</a>'
    return html_page(
        request, title, f"{nav}</p><table border=1><tr>{head}</tr>{rows}</table>", GEOJSON
    )


@router.get(
    "/collections/{cid}/items/{fid}",
    summary="单个要素 / one feature",
    response_class=GeoJSONResponse,
    responses=documented("featureGeoJSON", GEOJSON),
)
async def item(
    cid: str, fid: str, request: Request, engine: EngineDep, f: str | None = None
) -> Response:
    return await on_connection(engine, lambda conn: _item(conn, cid, fid, request, f), reading=True)


def _item(conn, cid: str, fid: str, request: Request, f: str | None) -> Response:
    layer, grid, title = lookup(conn, cid)
    if wants_html(request, f):
        page = query_features(conn, layer, grid_layer=grid, filters={"code": fid}, limit=1)
        if page.frame.empty:
            raise _no_feature(cid, fid)
        record = page.frame[queryable_columns(layer)].astype(object).iloc[0]
        rows = "".join(
            f"<tr><th>{k}</th><td>{esc(v) if pd.notna(v) else ''}</td></tr>"
            for k, v in record.items()
        )
        return html_page(request, f"{title} {fid}", f"<table border=1>{rows}</table>", GEOJSON)
    found = query_geojson(conn, layer, grid_layer=grid, filters={"code": fid}, limit=1)
    if not found.number_returned:
        raise _no_feature(cid, fid)
    feature = json.loads(found.features)
    collection = f"{ogc_base(request)}/collections/{cid}"
    feature["links"] = [
        *self_links(request, GEOJSON),
        {"href": collection, "rel": "collection", "type": "application/json", "title": title},
    ]
    return Response(json.dumps(feature, ensure_ascii=False), media_type=GEOJSON)


def _no_feature(cid: str, fid: str) -> NotFoundError:
    return NotFoundError(f"没有要素 {fid}。", f"No feature {fid} in {cid}.")

"""What every OGC resource shares: the router, exception documents, links and the HTML page.

Every failure is the standard's exception document (``code``, ``description``) with gridmap's
Chinese and English messages beside it; every resource links to itself in JSON and HTML.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute

from gridmap.api.routes.params import CHECKED
from gridmap.api.security import require
from gridmap.errors import HTTP_STATUS, GridmapError, InputFileError, NotFoundError
from gridmap.layers import GRID_LAYER_EXAMPLES, LAYERS
from gridmap.store.features import grid_layers, has_grid_layer

PUBLIC_LAYERS = ("subdistrict", "community", "compound", "building", "station")
GEOJSON = "application/geo+json"
OAS30 = "application/vnd.oai.openapi+json;version=3.0"
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


def documented(schema: str, media: str = "application/json") -> dict:
    """OpenAPI responses: ``schema`` of the standard's building blocks, HTML, exceptions."""
    exception = {"$ref": f"{BLOCKS}#/components/schemas/exception"}
    return {
        200: {"content": {media: {"schema": {"$ref": f"{BLOCKS}#/components/schemas/{schema}"}},
                          "text/html": {"schema": {"type": "string"}}}},
        "4XX": {"description": "参数无效或不存在 / invalid parameter or not found",
                "content": {"application/json": {"schema": exception}}},
    }  # fmt: skip


def ogc_base(request: Request) -> str:
    """The absolute address of the OGC landing page, without a trailing slash."""
    return str(request.base_url).rstrip("/") + "/ogc"


def wants_html(request: Request, f: str | None) -> bool:
    """HTML when ``f=html``, or when the client accepts HTML and no JSON; 400 on another ``f``."""
    if f:
        if f not in ("json", "html"):
            raise InputFileError("f 只能是 json 或 html。", "f must be json or html.")
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept


def self_links(request: Request, media: str = "application/json") -> list[dict]:
    """``self`` in ``media`` and its ``alternate`` in HTML."""
    url = request.url.remove_query_params("f")
    html = url.include_query_params(f="html")
    return [
        {"href": str(url), "rel": "self", "type": media, "title": "this document"},
        {"href": str(html), "rel": "alternate", "type": "text/html", "title": "HTML"},
    ]


def _grid_title(grid: str) -> str:
    return GRID_LAYER_EXAMPLES.get(grid, f"网格 {grid}")


def collection_index(conn) -> dict[str, tuple[str, str | None, str]]:
    """collection id → (layer, grid layer, Chinese title)."""
    out = {name: (name, None, LAYERS[name].label_zh) for name in PUBLIC_LAYERS}
    for grid in grid_layers(conn):
        out[f"grid_{grid}"] = ("grid", grid, _grid_title(grid))
    return out


def lookup(conn, cid: str) -> tuple[str, str | None, str]:
    """(layer, grid layer, Chinese title) of collection ``cid``; 404 when there is none.

    Asks the database only whether a grid layer has features (every request for items comes
    through here)."""
    if cid in PUBLIC_LAYERS:
        return cid, None, LAYERS[cid].label_zh
    grid = cid.removeprefix("grid_")
    if grid != cid and has_grid_layer(conn, grid):
        return "grid", grid, _grid_title(grid)
    raise NotFoundError(f"没有图层 {cid}。", f"No collection {cid}.")


def esc(value) -> str:
    """``value`` as text safe inside HTML."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def html_page(
    request: Request, title: str, body: str, media: str = "application/json"
) -> HTMLResponse:
    """A minimal page around ``body`` that links to the same resource as ``media``."""
    as_json = esc(request.url.include_query_params(f="json"))
    return HTMLResponse(
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="alternate" type="{media}" href="{as_json}"></head>'
        f'<body><h1>{esc(title)}</h1>{body}<p><a href="{as_json}">JSON</a></p></body></html>'
    )


def link_list(links: list[tuple[str, str]]) -> str:
    """An HTML list of (address, text) links."""
    return "<ul>" + "".join(f'<li><a href="{esc(h)}">{esc(t)}</a></li>' for h, t in links) + "</ul>"

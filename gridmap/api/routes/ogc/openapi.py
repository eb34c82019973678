"""The OGC API definition (``/ogc/api``): OpenAPI 3.0 of the OGC routes, as JSON or HTML."""

from __future__ import annotations

import json

from fastapi import Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response

from gridmap import __version__
from gridmap.api.routes.ogc.html import esc, html_page, wants_html
from gridmap.api.routes.ogc.routing import OAS30, router


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
    if wants_html(request, f):
        rows = "".join(
            f"<tr><td>{method.upper()}</td><td><code>{esc(path)}</code></td>"
            f"<td>{esc(op.get('summary', ''))}</td></tr>"
            for path, ops in doc["paths"].items()
            for method, op in ops.items()
        )
        return html_page(request, doc["info"]["title"], f"<table border=1>{rows}</table>", OAS30)
    return Response(json.dumps(doc, ensure_ascii=False), media_type=OAS30)

"""User errors → 4xx JSON with the same Chinese and English message the CLI prints.

Every answer below 500 carries ``message_zh`` and ``message_en``: gridmap's own errors, requests
FastAPI refuses before a route runs (422, with FastAPI's ``detail`` kept for clients that read
it), and the router's own answers (unknown path 404, wrong method 405).
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from gridmap.errors import HTTP_STATUS, GridmapError


class RequestTooLargeError(GridmapError):
    """A request body or uploaded file over ``max_upload_mb``."""


STATUS = {**HTTP_STATUS, RequestTooLargeError: 413}


def _status(error: GridmapError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def _where(loc) -> str:
    """``("body", "cells", "features", 0)`` → ``body.cells.features[0]``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


REASONS_ZH = {
    "missing": "缺少",
    "json_invalid": "不是有效的 JSON",
    "int_parsing": "应为整数",
    "float_parsing": "应为数值",
    "bool_parsing": "应为 true 或 false",
    "string_type": "应为文字",
    "int_type": "应为整数",
    "list_type": "应为数组",
    "dict_type": "应为对象",
    "model_attributes_type": "应为对象",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "string_too_short": "太短",
    "string_too_long": "太长",
    "greater_than_equal": "太小",
    "less_than_equal": "太大",
    "value_error": "取值无效",
}


def validation_error(exc: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 with gridmap's messages: each problem names its place, in both languages."""
    errors = exc.errors()
    problems = [
        {
            "row": None,
            "field": _where(e["loc"]),
            "reason_zh": REASONS_ZH.get(e["type"], "取值无效"),
            "reason_en": e["msg"],
        }
        for e in errors
    ]
    first = problems[0] if problems else {"field": "", "reason_zh": "", "reason_en": ""}
    more = f" (另有 {len(problems) - 1} 处)" if len(problems) > 1 else ""
    more_en = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    body = {
        "error": "RequestValidationError",
        "message_zh": f"请求内容无效：{first['field']} {first['reason_zh']}{more}。",
        "message_en": f"Invalid request: {first['field']}: {first['reason_en']}{more_en}.",
        "problems": problems,
        # FastAPI's own list, without the offending input (it may be huge, or not JSON)
        "detail": [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors],
    }
    return JSONResponse(body, status_code=422)


HTTP_MESSAGES = {
    400: (  # FastAPI's answer to a body it cannot decode
        "请求内容无法解析：不是有效的 JSON、表单或 UTF-8 文本。",
        "The request body cannot be parsed: it is not valid JSON, form data or UTF-8 text.",
    ),
    404: ("没有这个地址。", "Not found."),
    405: ("此地址不接受这种请求方法。", "Method not allowed."),
}


def http_error(exc: HTTPException) -> JSONResponse:
    zh, en = HTTP_MESSAGES.get(exc.status_code, ("请求无法处理。", str(exc.detail)))
    body = {"error": "HTTPException", "message_zh": zh, "message_en": en, "problems": [], "detail": exc.detail}  # fmt: skip
    return JSONResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


ERROR_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>gridmap · {status}</title>
<link rel="stylesheet" href="/static/gridmap/page.css"></head><body>
<header><h1>gridmap <small>{status}</small></h1></header>
<main><p class="error" role="alert">{zh}<br><small>{en}</small></p>
<p><a href="/map">返回地图 <small>back to the map</small></a></p></main></body></html>"""


def _wants_page(request: Request) -> bool:
    """A browser opening a page (not the API, not OGC API) gets an HTML error page."""
    path = request.url.path
    return (
        request.method == "GET"
        and not path.startswith(("/api/", "/ogc"))
        and "text/html" in request.headers.get("accept", "")
    )


def add_exception_handlers(app: FastAPI) -> None:
    """Install the handlers: every :class:`GridmapError`, invalid requests, router errors."""

    async def handle(request: Request, error: GridmapError) -> Response:
        from gridmap.api.security import LoginRequired

        if isinstance(error, LoginRequired):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        status = _status(error)
        if _wants_page(request):
            return HTMLResponse(ERROR_PAGE.format(zh=escape(error.message_zh), en=escape(error.message_en), status=status), status_code=status)  # fmt: skip
        # 401 names the scheme a client should answer with (RFC 9110 §11.6.1)
        headers = {"WWW-Authenticate": 'Bearer realm="gridmap"'} if status == 401 else None
        return JSONResponse(error.to_dict(), status_code=status, headers=headers)

    async def handle_validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error(exc)

    async def handle_http(request: Request, exc: HTTPException) -> Response:
        if not 400 <= exc.status_code < 500:
            return await http_exception_handler(request, exc)
        return http_error(exc)

    app.add_exception_handler(GridmapError, handle)
    app.add_exception_handler(RequestValidationError, handle_validation)
    app.add_exception_handler(HTTPException, handle_http)

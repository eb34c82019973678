"""Checks every router shares: parameters a database cannot take, and request bodies too large.

Numbers and text from a URL go into SQL as bound values; the databases still refuse some of
them (PostgreSQL: NUL characters in text, integers beyond its columns' range), which would be
a 500. Such values are refused here with a 400 that says why.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.routing import APIRoute
from pydantic import AfterValidator
from starlette.responses import Response

from gridmap.api.errors import RequestTooLargeError
from gridmap.errors import InputFileError

MAX_ID = 2**31 - 1  # ids and versions are PostgreSQL integers
MAX_OFFSET = 2**63 - 1  # SQL OFFSET is a 64-bit integer in both databases

PlanId = Annotated[int, Path(ge=1, le=MAX_ID, description="方案编号 / plan id")]


def _nul_error(name: str) -> InputFileError:
    return InputFileError(
        f"参数 {name} 中有 NUL 控制字符 (\\u0000)，无法处理。",
        f"Parameter {name} holds a NUL character (\\u0000), which cannot be processed.",
    )


async def reject_nul_parameters(request: Request) -> None:
    """A NUL character in a path or query parameter is a 400, on every database alike (no I/O:
    run in the event loop, see :mod:`gridmap.api.deps`)."""
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        if "\x00" in name or "\x00" in str(value):
            raise _nul_error(name.replace("\x00", "\\u0000"))


CHECKED = [Depends(reject_nul_parameters)]
"""Router dependencies: ``APIRouter(..., dependencies=CHECKED)``."""


def _no_nul(value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise ValueError("NUL 控制字符 (\\u0000) 无法保存 / a NUL character cannot be stored")
    return value


Text = AfterValidator(_no_nul)
"""For text fields of request bodies: ``Annotated[str, Text]``."""


def too_large(limit: int) -> RequestTooLargeError:
    mb = f"{limit / 2**20:g} MB"
    return RequestTooLargeError(
        f"请求或上传文件超过 {mb}，已拒绝。如确需更大的文件，请调整 GRIDMAP_MAX_UPLOAD_MB。",
        f"The request or uploaded file is larger than {mb} and was refused. "
        "Raise GRIDMAP_MAX_UPLOAD_MB for larger files.",
    )


# ``\u0000`` in JSON text, unless its backslash is itself escaped (``\\u0000`` is no NUL)
JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _check_json_body(request: Request, body: bytes) -> None:
    if "json" in request.headers.get("content-type", "") and JSON_NUL.search(body):
        raise InputFileError(
            "请求中有 NUL 控制字符 (\\u0000)，无法保存。",
            "The request holds a NUL character (\\u0000), which cannot be stored.",
        )


class LimitedBodyRoute(APIRoute):
    """Bodies over ``max_upload_mb`` are a 413 before they are read into memory or parsed;
    JSON bodies with a NUL character are a 400 (PostgreSQL cannot store one)."""

    def get_route_handler(self) -> Callable:
        handle = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            limit = int(request.app.state.settings.max_upload_mb * 2**20)
            length = request.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                raise too_large(limit)
            if length is None and request.method in ("POST", "PUT", "PATCH"):
                request = Request(request.scope, await _counted_body(request, limit))
            if "json" in request.headers.get("content-type", ""):
                _check_json_body(request, await request.body())  # kept for the route to parse
            return await handle(request)

        return route_handler


async def _counted_body(request: Request, limit: int) -> Callable:
    """A chunked body read here, counting, and replayed to the route."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)

    async def replay() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    return replay

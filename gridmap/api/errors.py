"""User errors → 4xx JSON with the same Chinese and English message the CLI prints."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gridmap.errors import HTTP_STATUS, GridmapError


def _status(error: GridmapError) -> int:
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 400


def add_exception_handlers(app: FastAPI) -> None:
    """Install one handler for every :class:`GridmapError`."""

    async def handle(_request: Request, error: GridmapError) -> JSONResponse:
        return JSONResponse(error.to_dict(), status_code=_status(error))

    app.add_exception_handler(GridmapError, handle)

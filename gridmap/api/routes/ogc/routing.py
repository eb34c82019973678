"""The OGC router: every failure is the standard's exception document, every response
documented with the standard's building blocks.

Every failure is the exception document (``code``, ``description``) with gridmap's Chinese and
English messages beside it; an invalid parameter is 400, not FastAPI's 422.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute

from gridmap.api.routes.params import CHECKED
from gridmap.api.security import require
from gridmap.errors import HTTP_STATUS, GridmapError, InputFileError

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

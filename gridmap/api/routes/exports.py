"""Downloads for other GIS tools: a layer, the gaps or the proposals as GeoJSON, GPKG or CSV.

Personal fields are never exported through the API yet: that needs roles and accounts.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse
from sqlalchemy import Engine
from starlette.background import BackgroundTask

from gridmap.api.deps import get_engine
from gridmap.api.routes.params import CHECKED
from gridmap.errors import PermissionDeniedError
from gridmap.exporting import EXPORTABLE, export_layer, export_names
from gridmap.io.write import FORMATS, MEDIA_TYPES, export_format

router = APIRouter(prefix="/api", tags=["export"], dependencies=CHECKED)

EngineDep = Annotated[Engine, Depends(get_engine)]


def content_disposition(ascii_name: str, name: str) -> str:
    """``attachment`` with an ASCII ``filename`` and the real one as RFC 5987 ``filename*``.

    >>> content_disposition("gaps.csv", "留白.csv")
    'attachment; filename="gaps.csv"; filename*=UTF-8\\'\\'%E7%95%99%E7%99%BD.csv'
    """
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get(
    "/export/{layer}",
    summary="导出图层、留白或组织建议 / export a layer, the gaps or the proposals",
    description=(
        f"layer: {', '.join(EXPORTABLE)} (gaps, proposals: 最近一次分析 / latest analysis). "
        "GeoJSON 遵循 RFC 7946; CSV 为带 BOM 的 UTF-8。不含个人信息 / no personal fields."
    ),
    response_class=FileResponse,
)
def export(
    layer: str,
    engine: EngineDep,
    fmt: Annotated[str, Query(alias="format", description=" | ".join(FORMATS))] = "geojson",
    grid_layer: Annotated[
        str | None, Query(description="网格图层 (layer=grid 时) / grid layer")
    ] = None,
    include_personal: Annotated[
        bool, Query(description="个人信息: 角色启用前一律拒绝 / refused until roles exist")
    ] = False,
) -> FileResponse:
    if include_personal:
        raise PermissionDeniedError(
            "接口暂不导出党员姓名、电话、住址：需要相应角色，角色与账户尚未启用。"
            "如确需导出，请由有权限的人员在服务器上使用 gridmap export --include-personal。",
            "The API does not export members' names, phones or addresses: that needs a role, "
            "and roles and accounts are not available yet. Where it is allowed, use "
            "gridmap export --include-personal on the server.",
        )
    fmt = export_format(fmt)
    if layer.startswith("grid:"):
        layer, grid_layer = "grid", layer.split(":", 1)[1]
    folder = Path(tempfile.mkdtemp(prefix="gridmap-export-"))
    try:
        path, _ = export_layer(
            engine, layer, folder / f"export{FORMATS[fmt]}", fmt, grid_layer=grid_layer
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    ascii_name, name = export_names(layer, grid_layer, fmt)
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": content_disposition(ascii_name, name)},
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )

"""Downloads for other GIS tools and Excel: a layer, the gaps or the proposals as GeoJSON, GPKG,
CSV or XLSX (text cells that a spreadsheet would run as formulas made inert).

Boundaries (communities, grids, compounds, buildings, stations) are for every account. Gaps and
proposals are those of the caller's area. Members — their homes are personal data — only for
roles that may see personal data, only of their area; their names, phones and addresses only
when asked for (``include_personal``), and every such export is written to the audit trail.
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
from gridmap.api.security import AreaDep, PrincipalDep, require
from gridmap.exporting import EXPORTABLE, RESULTS, export_layer, export_names
from gridmap.io.write import FORMATS, MEDIA_TYPES, export_format
from gridmap.permissions import PERSONAL_LAYERS, Area, denied, hidden_gap_layers, outside_area

router = APIRouter(prefix="/api", tags=["export"], dependencies=[*CHECKED, require("view")])

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
        "GeoJSON 遵循 RFC 7946; CSV 为带 BOM 的 UTF-8; XLSX 为 Excel 工作簿 (以 = + - @ 开头的文本前加 ')。"
        "党员图层与个人信息仅限有权角色、本人范围, "
        "并记入审计日志 / members and personal fields: permitted roles, own area, audited."
    ),
    response_class=FileResponse,
)
def export(
    layer: str,
    engine: EngineDep,
    principal: PrincipalDep,
    area: AreaDep,
    fmt: Annotated[str, Query(alias="format", description=" | ".join(FORMATS))] = "geojson",
    grid_layer: Annotated[
        str | None, Query(description="网格图层 (layer=grid 时) / grid layer")
    ] = None,
    include_personal: Annotated[
        bool, Query(description="含党员姓名、电话、住址 (需相应角色, 记入审计) / personal fields")
    ] = False,
    place: Annotated[
        str | None,
        Query(max_length=64, description="只导出该社区或网格 / only this community or grid"),
    ] = None,
) -> FileResponse:
    personal_layer = layer in PERSONAL_LAYERS
    unit, unit_name = shown_unit(engine, place, area) if place else (None, None)
    if (include_personal or personal_layer) and not principal.may("personal"):
        raise denied(principal, "personal")
    fmt = export_format(fmt)
    if layer.startswith("grid:"):
        layer, grid_layer = "grid", layer.split(":", 1)[1]
    folder = Path(tempfile.mkdtemp(prefix="gridmap-export-"))
    try:
        path, _ = export_layer(
            engine, layer, folder / f"export{FORMATS[fmt]}", fmt, grid_layer=grid_layer,
            include_personal=include_personal, actor=principal.name,
            area=unit or (area if (personal_layer or layer in RESULTS) else None),
            hidden_gap_layers=hidden_gap_layers(principal),
        )  # fmt: skip
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    ascii_name, name = export_names(layer, grid_layer, fmt)
    if unit is not None:  # named after the unit the map shows: 锦绣社区_留白与问题.csv
        ascii_name, name = f"{unit.code}_{ascii_name}", f"{unit_name or unit.code}_{name}"
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": content_disposition(ascii_name, name)},
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


def shown_unit(engine: Engine, place: str, area) -> tuple[Area, str | None]:
    """The community or grid ``place`` names as an area to export, and its name; a unit outside
    the caller's ``area`` reads as absent (404)."""
    from sqlalchemy import select

    from gridmap.store.areas import resolve_area
    from gridmap.store.models import table_for

    with engine.connect() as conn:
        unit = resolve_area(conn, place)
        community = next(iter(unit.communities), None)
        if unit.level not in ("community", "grid") or (
            area is not None and not area.holds_unit(unit.level, unit.code, community)
        ):
            raise outside_area(f"社区或网格 {place}", f"community or grid {place}")
        table = table_for(unit.level)
        query = select(table.c.name).where(table.c.code == place)
        if unit.level == "grid":  # the unified grid's cell first, as resolve_area takes it
            query = query.order_by(table.c.layer != "unified", table.c.layer)
        name = conn.execute(query.limit(1)).scalar()
    return unit, name

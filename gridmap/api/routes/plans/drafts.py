"""Where draft plans come from, and the list of them: a copy of a grid layer, a file drawn in
QGIS, or an automatic proposal."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import File, Form, UploadFile
from pydantic import BaseModel, Field

from gridmap.api.deps import ConnDep, SettingsDep
from gridmap.api.routes.params import Text
from gridmap.api.routes.plans.frames import named_problems, records, with_layer_name
from gridmap.api.routes.plans.routing import EDIT, check_changes_in_area, router
from gridmap.api.routes.uploads import save_upload
from gridmap.api.security import AreaDep, PrincipalDep
from gridmap.errors import PermissionDeniedError
from gridmap.io.geojson import check_extent
from gridmap.permissions import Area, outside_area
from gridmap.store import plans as store
from gridmap.store.db import transaction
from gridmap.store.features import grid_layers, read_features


class NewPlan(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    grid_layer: str = "party"
    note: str | None = None


@router.get("", summary="方案列表 / plans")
def list_plans(conn: ConnDep, grid_layer: str | None = None) -> list[dict]:
    return [with_layer_name(p) for p in store.list_plans(conn, grid_layer)]


@router.post("", status_code=201, summary="新建方案 (复制网格图层) / new plan from a grid layer", dependencies=EDIT)  # fmt: skip
def new_plan(body: NewPlan, conn: ConnDep, principal: PrincipalDep) -> dict:
    engine = conn.engine
    with transaction(engine) as tx:
        plan_id = store.create_plan(tx, body.name, body.grid_layer, principal.name, note=body.note)
    with engine.connect() as c:
        return store.plan_meta(c, plan_id)


PLAN_FILES = "GeoJSON, GeoPackage, zipped Shapefile, KML/KMZ, CAD DXF"
PlanCRS = Annotated[
    str | None,
    Form(max_length=32, description="坐标系, 如 CAD 图纸的 4547 / the CRS, as gridmap load --crs"),
    Text,
]
PlanLayer = Annotated[
    str | None,
    Form(max_length=200, description="图层 (DXF: 边界图层,注记图层) / as load --source-layer"),
    Text,
]


@router.post(
    "/import",
    status_code=201,
    summary="导入方案 (QGIS 或 CAD 绘制) / import a plan",
    dependencies=EDIT,
)
def import_plan(
    conn: ConnDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    area: AreaDep,
    file: Annotated[UploadFile, File(description=PLAN_FILES)],
    name: Annotated[str, Form(min_length=1, max_length=100), Text],
    grid_layer: Annotated[str, Form(min_length=1, max_length=64), Text] = "party",
    crs: PlanCRS = None,
    source_layer: PlanLayer = None,
) -> dict:
    from gridmap.io.read import ReadOptions, read_layer_file
    from gridmap.io.sources import Limits

    limits = Limits(settings.max_upload_features, settings.max_unzipped_mb)
    with tempfile.TemporaryDirectory(prefix="gridmap-upload-") as folder:
        path = save_upload(file, Path(folder), int(settings.max_upload_mb * 2**20))
        options = ReadOptions(crs=crs or None, source_layer=source_layer or None, limits=limits)
        result = read_layer_file(path, "grid", options)
    if result.report.rejected:
        from gridmap.errors import RowsRejectedError

        raise RowsRejectedError("方案文件中有不能用的行，未导入。", "Some rows of the plan file are unusable; nothing imported.", result.report.rejected)  # fmt: skip
    check_extent(result.frame.total_bounds, settings.max_plan_extent_km)
    if area is not None:
        current = read_features(conn, "grid", grid_layer=grid_layer) if grid_layer in grid_layers(conn) else result.frame.iloc[0:0]  # fmt: skip
        check_changes_in_area(current, result.frame, area)
    with transaction(conn.engine) as tx:
        plan_id = store.create_plan(tx, name, grid_layer, principal.name, cells=result.frame)
    with conn.engine.connect() as c:
        return store.plan_meta(c, plan_id)


class Propose(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    community: str | None = Field(None, description="只划分一个社区 / one community only")


def _community_to_propose(community: str | None, area: Area | None) -> str | None:
    """A planner proposes for a community of their area: their own if they name none."""
    if area is None:
        return community
    if community is None:
        if area.level == "community":
            return area.code
        if area.level != "subdistrict":
            raise PermissionDeniedError(
                "网格范围的账号不能自动划分，请联系社区或街道规划员。",
                "An account of one grid cannot propose a division; ask a community or subdistrict planner.",
            )  # fmt: skip
        return None
    if not area.holds_community(community):
        raise outside_area(f"社区 {community}", f"community {community}")
    return community


@router.post("/propose", status_code=201, summary="自动划分网格 (存为草稿方案) / automatic proposal as a draft", dependencies=EDIT)  # fmt: skip
def propose(body: Propose, conn: ConnDep, settings: SettingsDep, principal: PrincipalDep, area: AreaDep) -> dict:  # fmt: skip
    from gridmap.grid_proposals import propose_grid_plan

    community = _community_to_propose(body.community, area)
    done = propose_grid_plan(conn.engine, settings, name=body.name, author=principal.name, community=community)  # fmt: skip
    with conn.engine.connect() as c:
        meta = store.plan_meta(c, done.plan_id)
        named = {layer: read_features(c, layer, columns=("name",)) for layer in ("community", "compound", "building")}  # fmt: skip
        problems = named_problems(done.problems, grid=store.read_cells(c, done.plan_id), **named)
    return {**meta, "cells_count": done.cells, "problems": records(problems)}

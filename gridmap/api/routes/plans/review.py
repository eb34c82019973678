"""What becomes of a plan: its difference from the current grid layer, approval (the plan
becomes the layer) and export as a file."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pandas as pd
from fastapi.responses import Response
from pydantic import BaseModel

from gridmap.api.deps import ConnDep
from gridmap.api.routes.params import PlanId
from gridmap.api.routes.plans.common import Version, metric, records, router
from gridmap.api.security import PrincipalDep, require
from gridmap.core import plans as core
from gridmap.store import plans as store
from gridmap.store.db import transaction
from gridmap.store.features import grid_layers, read_features


class Approve(BaseModel):
    version: Version


@router.get("/{plan_id}/diff", summary="方案与现行网格的差异 / plan against the current layer")
def diff(plan_id: PlanId, conn: ConnDep) -> dict:
    meta = store.plan_meta(conn, plan_id)
    plan = store.read_cells(conn, plan_id)
    current = read_features(conn, "grid", grid_layer=meta["grid_layer"]) if meta["grid_layer"] in grid_layers(conn) else plan.iloc[0:0]  # fmt: skip
    both = pd.concat([plan.geometry, current.geometry])
    if both.empty:
        return {"cells": [], "moves": []}
    x0, y0, x1, y1 = both.total_bounds
    bbox = (x0, y0, x1, y1)
    buildings = read_features(conn, "building", bbox=bbox)
    members = read_features(conn, "member", bbox=bbox)
    plan_m, current_m, buildings_m, members_m = metric(plan, current, buildings, members)
    cells, moves = core.diff(plan_m, current_m, buildings_m, members_m)
    return {"plan": meta, "cells": records(cells), "moves": records(moves)}


@router.post(
    "/{plan_id}/approve", summary="批准方案: 成为现行网格 (管理员) / approve: the plan becomes the layer (admins)",
    dependencies=[require("approve_plan")],
)  # fmt: skip
def approve(plan_id: PlanId, body: Approve, conn: ConnDep, principal: PrincipalDep) -> dict:
    summary = diff(plan_id, conn)
    counts = pd.Series([c["change"] for c in summary["cells"]]).value_counts().to_dict() if summary["cells"] else {}  # fmt: skip
    with transaction(conn.engine) as tx:
        entry = store.approve_plan(
            tx, plan_id, body.version, principal.name, summary={"changes": counts}
        )
    return entry


@router.get("/{plan_id}/export", summary="导出方案 / export a plan")
def export(plan_id: PlanId, conn: ConnDep, format: Literal["geojson", "gpkg", "csv"] = "geojson") -> Response:  # fmt: skip
    from urllib.parse import quote

    from gridmap.io.write import write_frame

    meta = store.plan_meta(conn, plan_id)
    cells = store.read_cells(conn, plan_id)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    filename = f"{meta['name']}-v{meta['version']}-{stamp}.{format}"
    disposition = (
        f"attachment; filename=plan-{plan_id}.{format}; filename*=UTF-8''{quote(filename)}"
    )
    media = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3", "csv": "text/csv; charset=utf-8"}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = write_frame(cells, Path(folder) / f"plan.{format}", format, f"plan_{plan_id}")
        data = path.read_bytes()
    return Response(data, media_type=media[format], headers={"Content-Disposition": disposition})

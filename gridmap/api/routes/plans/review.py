"""What becomes of a plan: its difference from the current grid layer, approval (the plan
becomes the layer) and export as a file."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from fastapi.responses import Response
from pydantic import BaseModel

from gridmap.api.deps import ConnDep, SettingsDep
from gridmap.api.routes.params import PlanId
from gridmap.api.routes.plans.common import Version, metric, records, router
from gridmap.api.routes.plans.counts import hide_member_counts
from gridmap.api.security import AreaDep, PrincipalDep, require
from gridmap.core import plans as core
from gridmap.store import plans as store
from gridmap.store.areas import in_area
from gridmap.store.db import transaction
from gridmap.store.features import grid_layers, read_features


class Approve(BaseModel):
    version: Version


@router.get("/{plan_id}/diff", summary="方案与现行网格的差异 / plan against the current layer")
def diff(plan_id: PlanId, conn: ConnDep, settings: SettingsDep, principal: PrincipalDep, area: AreaDep) -> dict:  # fmt: skip
    """Cells added, removed or reshaped, and what moves between cells. The members of a move
    live in a piece of ground no one drew as a whole: they are counted as :mod:`.counts` says
    (only all in the caller's area; small counts hidden from masked roles)."""
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
    outside = np.zeros(len(moves), dtype=bool)
    if area is not None:  # a move whose members do not all live in the area is not counted
        mine = members_m[in_area(members, area)]
        _, moves_mine = core.diff(plan_m, current_m, buildings_m, mine)
        key = ["from_code", "to_code"]
        counted = moves[key].merge(moves_mine[[*key, "members"]], on=key, how="left")["members"]
        outside = counted.fillna(0).to_numpy() != moves["members"].to_numpy()
    moves = hide_member_counts(
        moves, masked=not principal.may("personal"), whole=np.zeros(len(moves), dtype=bool),
        outside=outside, min_shown=settings.min_count_shown,
    )  # fmt: skip
    return {"plan": meta, "cells": records(cells), "moves": records(moves)}


@router.post(
    "/{plan_id}/approve", summary="批准方案: 成为现行网格 (管理员) / approve: the plan becomes the layer (admins)",
    dependencies=[require("approve_plan")],
)  # fmt: skip
def approve(plan_id: PlanId, body: Approve, conn: ConnDep, settings: SettingsDep, principal: PrincipalDep) -> dict:  # fmt: skip
    summary = diff(plan_id, conn, settings, principal, None)
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

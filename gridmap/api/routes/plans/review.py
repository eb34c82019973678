"""What becomes of a plan: its difference from the current grid layer, approval (the plan
becomes the layer) and export as a file."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from fastapi.responses import Response
from pydantic import BaseModel

from gridmap.api.deps import ConnDep, SettingsDep
from gridmap.api.routes.params import PlanId
from gridmap.api.routes.plans.counts import hide_member_counts, reaching_beyond, whole_cells
from gridmap.api.routes.plans.frames import metric, records
from gridmap.api.routes.plans.routing import Version, router
from gridmap.api.security import AreaDep, PrincipalDep, require
from gridmap.core import plans as core
from gridmap.layers import STORAGE_CRS
from gridmap.permissions import in_area
from gridmap.placed_members import with_placements
from gridmap.plan_tables import plan_with_figures
from gridmap.store import plans as store
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
    members_m = with_placements(conn, members_m, buildings_m, bbox)
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


@router.get("/{plan_id}/export", summary="导出方案 (含每个网格的数字) / export a plan with each cell's figures")  # fmt: skip
def export(plan_id: PlanId, conn: ConnDep, settings: SettingsDep, principal: PrincipalDep, area: AreaDep,
           format: Literal["geojson", "gpkg", "csv"] = "geojson") -> Response:  # fmt: skip
    """Each cell with households, buildings, compounds (whole; cut ones with their share),
    members full / probationary and band (within | below | above), as ``gridmap plan
    export`` writes them. Members are counted in the caller's area only and hidden as
    :mod:`.counts` says: a cell reaching beyond the area gets none, and for roles that may not
    see personal data a cell that the current grid layer does not hold as it is gets them only
    from ``GRIDMAP_MIN_COUNT_SHOWN`` up (``members_hidden`` says why)."""
    from urllib.parse import quote

    from gridmap.io.write import write_frame

    meta = store.plan_meta(conn, plan_id)
    cells = shown_figures(conn, settings, principal, area, plan_with_figures(conn, settings, plan_id, area), meta["grid_layer"])  # fmt: skip
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


def shown_figures(conn, settings, principal, area, cells: gpd.GeoDataFrame, grid_layer: str) -> gpd.GeoDataFrame:  # fmt: skip
    """``cells`` (EPSG:4326, with members_full and members_probationary) with their member
    counts hidden where :mod:`.counts` says, plus ``members_hidden``: whole cells are those the
    current layer ``grid_layer`` holds with the same code and outline."""
    if cells.empty:
        return cells.assign(members_hidden=[])
    current = read_features(conn, "grid", grid_layer=grid_layer, columns=()) if grid_layer in grid_layers(conn) else cells.iloc[0:0]  # fmt: skip
    cells_m, current_m = metric(cells, current)
    shapes = np.asarray(cells_m.geometry.values, dtype=object)
    outside = np.zeros(len(cells), dtype=bool)
    if area is not None:
        area_m = gpd.GeoSeries([area.geometry], crs=STORAGE_CRS).to_crs(cells_m.crs).iloc[0] if area.geometry is not None else None  # fmt: skip
        outside = reaching_beyond(shapes, area_m)
    whole = whole_cells(cells["code"].to_numpy(), shapes, current["code"].to_numpy(), np.asarray(current_m.geometry.values, dtype=object))  # fmt: skip
    counted = cells.assign(members=cells["members_full"] + cells["members_probationary"])
    shown = hide_member_counts(counted, masked=not principal.may("personal"), whole=whole, outside=outside, min_shown=settings.min_count_shown)  # fmt: skip
    for column in ("members_full", "members_probationary"):
        # numbers in every format: integers, or reals where some are hidden (empty), because
        # write_frame passes nullable integers to GDAL as text
        values = pd.to_numeric(shown[column], errors="coerce")
        shown[column] = values.astype(np.int64) if values.notna().all() else values.astype(float)
    return shown.drop(columns=["members", "members_min_shown"])

"""Two plans compared (方案比较): ``GET /api/plans/compare?a=&b=`` and the printable page
``/plans/compare?a=&b=``. A side is a plan id or ``layer:LAYER``, the current grid layer.

The scores are those of :mod:`gridmap.core.plan_scores`. Figures of members follow
:mod:`.counts`: the members that change grid lie in ground no one drew whole, so for roles that
may not see personal data they are shown only from ``GRIDMAP_MIN_COUNT_SHOWN`` up, and for every
account with an area only when all of them live in it; the cells short of full members for a
branch of their own are shown only to accounts without an area that may see personal data.
"""

from __future__ import annotations

import json
from typing import Annotated

import numpy as np
import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from gridmap.api.deps import ConnDep, SettingsDep
from gridmap.api.routes.params import CHECKED
from gridmap.api.routes.plans.counts import hide_member_counts
from gridmap.api.routes.plans.frames import records
from gridmap.api.routes.plans.routing import router
from gridmap.api.security import AreaDep, PagePrincipalDep, PrincipalDep, require
from gridmap.core.plan_scores import BETWEEN, MEMBER_SCORES
from gridmap.io.geojson_text import frame_collection

SIDE_PATTERN = r"^([1-9][0-9]{0,9}|layer:[A-Za-z0-9_-]{1,64})$"
SIDE_HELP = "方案编号，或 layer:网格图层 (如 layer:party) / a plan id, or layer:LAYER"
Side = Annotated[str, Query(pattern=SIDE_PATTERN, description=SIDE_HELP)]
page_router = APIRouter(include_in_schema=False, dependencies=[*CHECKED, require("view", page=True)])  # fmt: skip


def comparison(conn, settings, principal, area, a: str, b: str) -> dict:
    """The sides' labels, the table of scores with member figures as the caller may see them,
    and the differences as a GeoJSON FeatureCollection (EPSG:4326)."""
    from gridmap.plan_tables import compare_sides

    labels, table, pieces, check = compare_sides(conn, settings, a, b, area)
    table = table.assign(hidden=None)
    masked = not principal.may("personal")
    moved = table["key"] == "members_moved"
    row = pd.DataFrame({"members": [int(table.loc[moved, "between"].iloc[0])]})
    outside = [area is not None and check["members_moved_in_area"] != row["members"].iloc[0]]
    shown = hide_member_counts(row, masked=masked, whole=[False], outside=outside, min_shown=settings.min_count_shown)  # fmt: skip
    table.loc[moved, "between"] = shown["members"].iloc[0]
    table.loc[moved, "hidden"] = shown["members_hidden"].iloc[0]
    if masked or area is not None:  # counted over every cell, members outside the area too
        rows = table["key"].isin(MEMBER_SCORES - {"members_moved"}).to_numpy()
        table.loc[rows, ["a", "b"]] = None
        table.loc[rows, "hidden"] = "role" if masked else "outside_area"
    return {
        "sides": [{"side": s, "label": label} for s, label in zip((a, b), labels, strict=True)],
        "scores": records(table.astype(object).where(table.notna(), None)),
        "differences": json.loads(frame_collection(pieces)),
        "min_shown": settings.min_count_shown,
    }


@router.get("/compare", summary="比较两个方案 (或方案与现行网格) / compare two plans (or a plan and the current layer)")  # fmt: skip
def compare(a: Side, b: Side, conn: ConnDep, settings: SettingsDep, principal: PrincipalDep, area: AreaDep) -> dict:  # fmt: skip
    """``scores``: per row ``key``, ``label_zh``, ``label_en``, the value of each side (``a``,
    ``b``) or, for what changes grid between them, ``between``; ``hidden`` says why a member
    figure is ``None``. ``differences``: the ground whose cell code differs, one piece per pair
    of codes (``a_code``, ``b_code``; ``null`` where a side has no cell) with its area in m²."""
    return comparison(conn, settings, principal, area, a, b)


@page_router.get("/plans/compare", response_class=HTMLResponse)
def compare_page(request: Request, a: Side, b: Side, conn: ConnDep, settings: SettingsDep,
                 principal: PagePrincipalDep, area: AreaDep) -> HTMLResponse:  # fmt: skip
    """The comparison printed: the table and a map of the differences, on A4."""
    from gridmap.api.routes.pages import templates
    from gridmap.api.routes.session import user_context

    found = comparison(conn, settings, principal, area, a, b)
    features = found["differences"]["features"]
    context = {**user_context(request, principal, conn), **found, "between_keys": {k for k, _, _ in BETWEEN},
               "changed_m2": float(np.sum([f["properties"]["area_m2"] for f in features]))}  # fmt: skip
    return templates.TemplateResponse(request, "compare.html", context)

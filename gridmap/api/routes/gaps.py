"""The gaps of the latest analysis: those of the map's view (GeoJSON), the gap list, and the
counts by kind of the unit the map shows."""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gridmap.api.cache import kept, kept_json, kept_soon, packed, send
from gridmap.api.deps import ConnDep
from gridmap.api.display import (
    DECIMALS,
    GEOJSON,
    Box,
    Drawn,
    display_geometry,
    drawn,
    feature_collection,
)
from gridmap.api.routes.features import STREET_ZOOM, parse_bbox
from gridmap.api.routes.params import CHECKED
from gridmap.api.security import AreaDep, PrincipalDep, require
from gridmap.io.geojson_text import EMPTY
from gridmap.permissions import Area, hidden_gap_layers, in_area

router = APIRouter(prefix="/api", tags=["features"], dependencies=[*CHECKED, require("view")])

OVERVIEW_ZOOM = 14  # below it a view shows a community or more: many users ask for the same
KindsQuery = Annotated[str | None, Query(description="问题类型, 多个用逗号分隔 / gap kinds, comma-separated")]  # fmt: skip
GridQuery = Annotated[
    str | None,
    Query(max_length=64, description="网格编号: 只列该网格内的问题 / a grid cell's code"),
]
Display = Annotated[Literal["wgs84", "gcj02"], Query(description="显示坐标系")]


def _kinds(kind: str | None) -> list[str] | None:
    return [k for k in kind.split(",") if k] if kind else None


def _stored_box(box: Box | None, display: str) -> Box | None:
    """A box the map asked in its display coordinates, in the stored WGS84."""
    if box is None or display == "wgs84":
        return box
    from gridmap.crs import gcj02_to_wgs84, shifted_box

    return shifted_box(box, gcj02_to_wgs84)


def _search_box(box: Box | None, area: Area | None) -> tuple[Box | None, bool]:
    """The box to search, narrowed to the account's area, and whether anything can be found."""
    if area is None:
        return box, True
    if area.geometry is None:
        return box, False
    (x0, y0, x1, y1), (a0, b0, a1, b1) = box or area.bbox(), area.bbox()
    narrowed = (max(x0, a0), max(y0, b0), min(x1, a1), min(y1, b1))
    return narrowed, narrowed[0] <= narrowed[2] and narrowed[1] <= narrowed[3]


@router.get("/gaps", summary="最新分析的留白与问题 (GeoJSON) / gaps of the latest analysis")
def gaps(
    request: Request,
    conn: ConnDep,
    principal: PrincipalDep,
    area: AreaDep,
    kind: KindsQuery = None,
    community: str | None = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    zoom: Annotated[
        int | None,
        Query(
            ge=0,
            le=22,
            description=(
                "地图级别: 按半像素简化; 地图在该级别不画的图层 (小区 14 级以下, 楼栋 16 级以下) 的问题不返回 / "
                "map zoom: simplified to half a pixel; gaps about features of layers the map does not "
                "draw at this zoom (compounds below 14, buildings below 16) are left out"
            ),
        ),
    ] = None,
    display: Display = "wgs84",
) -> Response:
    """Gaps with a geometry, filtered in the database by kind, community and box; the map asks
    for the gaps of its view, as it does for the layers."""

    box, possible = _search_box(_stored_box(parse_bbox(bbox), display), area)
    if not possible:
        return send(request, EMPTY, GEOJSON)
    hidden = hidden_at(zoom, principal)
    # below street level every user's view is cut from the area's gaps drawn once at the zoom;
    # a view of a few streets, or one asked while those are being drawn, is read for itself
    below = zoom is not None and zoom < STREET_ZOOM
    whole = gap_set(request, conn, kind, community, zoom, display, hidden, area) if below else None

    def view() -> str:
        if whole is not None:
            return whole.meeting(box)
        names, rows, stored = _gap_rows(conn, _kinds(kind), community, box, hidden, area)
        return feature_collection(names, rows, display_geometry(stored, zoom, display))

    if below and zoom < OVERVIEW_ZOOM:  # the view every map opens on: its very answer is kept
        key = ("gaps", kind, community, zoom, display, tuple(hidden), box)
        return send(request, kept(request, conn, key, view, area), GEOJSON)
    return send(request, packed(view()), GEOJSON)


def hidden_at(zoom: int | None, principal) -> list[str]:
    """Layers whose gaps are left out at ``zoom`` (not drawn there) or for ``principal``."""
    from gridmap.maps.layers import MIN_ZOOM

    hidden = [layer for layer, least in MIN_ZOOM.items() if zoom is not None and zoom < least]
    return hidden + hidden_gap_layers(principal)


def gap_set(request, conn, kind, community, zoom, display, hidden, area, wait=False) -> Drawn | None:  # fmt: skip
    """The gaps of the whole area drawn at a zoom below street level, kept: such a view shows
    much of the subdistrict, and every user's view there is cut from the same gaps. ``None``
    while they are being drawn in the background (unless ``wait``)."""
    where = _search_box(None, area)[0]

    def build(own) -> Drawn:
        return drawn(*_gap_rows(own, _kinds(kind), community, where, hidden, area), zoom, display)

    key = ("drawn gaps", kind, community, zoom, display, tuple(hidden))
    return kept_soon(request, conn, key, build, area, wait)


def _gap_rows(conn, kinds, community, box, hidden, area) -> tuple[list[str], list[tuple], np.ndarray]:  # fmt: skip
    """The located gaps meeting ``box`` in ``area``: column names, rows, stored geometries."""
    from gridmap.store.results import read_gaps

    frame = read_gaps(
        conn, kinds=kinds, community=community, bbox=box, leave_out_layers=hidden, located=True
    )
    frame = frame[in_area(frame, area)]
    names = [c for c in frame.columns if c != frame.geometry.name]
    values = frame[names].astype(object).where(frame[names].notna(), None)
    return names, list(values.itertuples(index=False, name=None)), frame.geometry.values


@router.get("/gaps/list", summary="问题清单: 类型、编号、名称与范围 / the gap list: kind, code, name, box")  # fmt: skip
def gap_list(
    request: Request,
    conn: ConnDep,
    principal: PrincipalDep,
    area: AreaDep,
    kind: KindsQuery = None,
    community: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 300,
    display: Display = "wgs84",
    grid: GridQuery = None,
) -> Response:
    """The first ``limit`` located gaps (in the order of ``kind``, then as found) without their
    geometry, each with its box to zoom to, and how many there are in all. With ``community``:
    that community's gaps and those placed in no community (the list of a drilled-in map); with
    ``grid``: the gaps lying in that grid cell."""
    from gridmap.store.results import latest_run

    run, kinds = latest_run(conn), _kinds(kind)
    box, possible = _search_box(None, area)
    if run is None or not possible:
        return send(request, '{"total":0,"gaps":[]}', "application/json")
    hidden = hidden_gap_layers(principal)

    def make() -> dict:
        return _gap_list(conn, run, kinds, community, limit, display, area, box, hidden, grid)

    # the same list for every account of an area: kept until the data change
    key = ("gap list", kind, community, limit, display, tuple(hidden), grid)
    return kept_json(request, conn, key, make, area)


@router.get("/gaps/counts", summary="各类问题的数量 (全部、社区或网格) / gaps by kind in the area, a community or a grid")  # fmt: skip
def gap_counts(
    request: Request,
    conn: ConnDep,
    principal: PrincipalDep,
    area: AreaDep,
    community: str | None = None,
    grid: GridQuery = None,
) -> Response:
    """How many gaps of each kind the gap list of the same ``community`` or ``grid`` holds: the
    legend of a drilled-in map."""
    from gridmap.store.results import latest_run

    run = latest_run(conn)
    if run is None or not _search_box(None, area)[1]:
        return send(request, "{}", "application/json")
    hidden = hidden_gap_layers(principal)

    def make() -> dict:
        frame = _unit_gaps(conn, run, None, community, grid, area, hidden)
        return {str(k): int(n) for k, n in frame["kind"].value_counts().sort_index().items()}

    return kept_json(request, conn, ("gap counts", community, grid, tuple(hidden)), make, area)


def _unit_gaps(conn, run, kinds, community, grid, area, hidden):
    """Every located gap of ``kinds`` in the list of ``community`` (with those of no community)
    or lying in ``grid``, within the caller's ``area``; with their boxes (and geometry when a
    shape had to be tested)."""
    from gridmap.store.areas import resolve_area
    from gridmap.store.results import gap_index

    unit = resolve_area(conn, grid) if grid else None
    shape = unit if unit is not None else area
    box = shape.bbox() if shape is not None else None
    if unit is not None and unit.level != "grid":
        box = (0.0, 0.0, 0.0, 0.0)  # not a grid: nothing lies in it
    frame = gap_index(
        conn, run, kinds, community=community, bbox=box, with_geometry=shape is not None,
        unplaced_too=unit is None, leave_out_layers=hidden,
    )  # fmt: skip
    if unit is not None:
        frame = frame[in_area(frame, unit)]
    if area is not None:
        frame = frame[in_area(frame, area)]
    return frame


def _gap_list(conn, run, kinds, community, limit, display, area, box, hidden, grid=None) -> dict:
    from gridmap.store.results import count_gaps, gap_index

    if grid:  # an empty ?grid= is no grid
        frame = _unit_gaps(conn, run, kinds, community, grid, area, hidden)
        total = len(frame)
        frame = frame.head(limit).drop(columns=frame.geometry.name)
    elif area is None:
        frame = gap_index(conn, run, kinds, community=community, limit=limit, unplaced_too=True, leave_out_layers=hidden)  # fmt: skip
        total = count_gaps(conn, run, kinds, community, unplaced_too=True, leave_out_layers=hidden)
    else:
        frame = gap_index(
            conn, run, kinds, community=community, bbox=box, with_geometry=True,
            unplaced_too=True, leave_out_layers=hidden,
        )  # fmt: skip
        frame = frame[in_area(frame, area)]
        total = len(frame)
        frame = frame.head(limit).drop(columns=frame.geometry.name)
    if display == "gcj02" and len(frame):
        from gridmap.crs import wgs84_to_gcj02

        corners = np.array(frame["bbox"].tolist())
        for x, y in ((0, 1), (2, 3)):
            corners[:, x], corners[:, y] = wgs84_to_gcj02(corners[:, x], corners[:, y])
        frame["bbox"] = corners.tolist()
    frame["bbox"] = [[round(v, DECIMALS) for v in b] for b in frame["bbox"]]
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return {"total": int(total), "gaps": records}

"""网格公示牌 from the stored layers: which grid (or every grid of a community), what lies in it,
who serves it, the stations near it — read here, drawn by :mod:`gridmap.maps.board`.

The board is of a grid the roster names: a cell of the base grid layer (``party`` unless the
latest analysis says otherwise), or of any departmental layer by its code. A unified cell
(全科网格, what the map's panel drills into) stands for the base cell holding most of it.
Whether a board shows the names of the people serving its grid or masks them is the
``board_names`` rule of :mod:`gridmap.permissions` (``show_names``, masked unless given);
personal phones are never read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import geopandas as gpd
import pandas as pd
from shapely.geometry.base import BaseGeometry

from gridmap.crs import metric_crs_for
from gridmap.errors import GridmapError, NotFoundError
from gridmap.maps.board import GridBoard, Post, boards_html
from gridmap.people_layers import GRID_WORKERS, STAFF_ROLES
from gridmap.permissions import Principal, board_names_shown, mask_name
from gridmap.store import features, results

UNIFIED = "unified"
SECRETARY_OF = ("branch", "joint_branch", "general_branch")
HOURS_KEYS = ("hours", "开放时间", "服务时间", "办公时间", "开放时段")
StaffNames = Callable[[BaseGeometry], bool]


def names_masked(_shape: BaseGeometry) -> bool:
    """The boards' default: every name masked (张*明)."""
    return False


def _base_layer(conn) -> str:
    run = results.latest_run(conn, "analyze")
    return str((results.run_summary(conn, run) or {}).get("base") or "party") if run else "party"


def _find_grids(conn, grid: str | None, community: str | None) -> gpd.GeoDataFrame:
    """The base-layer cells the boards are of (EPSG:4326), ordered by code."""
    if (grid is None) == (community is None):
        raise GridmapError(
            "请用 --grid 或 --community 指定一个网格或社区 (二选一)。",
            "Name one grid (--grid) or one community (--community).",
        )
    base = _base_layer(conn)
    cells = features.read_features(conn, "grid", grid_layer=base)
    if community is not None:
        found = cells[cells["community_code"] == community]
        if found.empty:
            raise NotFoundError(
                f"社区 {community} 没有网格。", f"Community {community} has no grid."
            )
        return found
    for layer in [base, *(n for n in features.grid_layers(conn) if n not in (base, UNIFIED))]:
        frame = cells if layer == base else features.read_features(conn, "grid", grid_layer=layer)
        if (frame["code"] == grid).any():
            return frame[frame["code"] == grid].iloc[:1]
    unified = features.read_features(conn, "grid", grid_layer=UNIFIED)
    cell = unified[unified["code"] == grid]
    if cell.empty or cells.empty:
        raise NotFoundError(f"没有编码为 {grid} 的网格。", f"No grid with code {grid}.")
    crs = metric_crs_for(cell)
    shared = cells.to_crs(crs).intersection(cell.to_crs(crs).geometry.iloc[0]).area
    return cells.iloc[[int(shared.to_numpy().argmax())]]


def _inside(frame: gpd.GeoDataFrame, shape) -> gpd.GeoDataFrame:
    if frame.empty:
        return frame
    return frame[frame.geometry.representative_point().within(shape).to_numpy()]


def _serves(staff: pd.DataFrame, codes: set[str]) -> pd.DataFrame:
    places = staff["places"].fillna("").astype(str).str.split(";")
    return staff[[bool(codes.intersection(p)) for p in places]]


def _posts(rows: pd.DataFrame, show: bool, of: dict[str, str] | None = None) -> list[Post]:
    """The people of ``rows`` in the roster's order of posts, names masked unless ``show``;
    ``of``: the names of the organisations a post may be of (a secretary's branch)."""
    order = {role: i for i, role in enumerate(STAFF_ROLES)}
    rows = rows.assign(_o=rows["role"].map(order)).sort_values(["_o", "code"])
    return [
        Post(
            STAFF_ROLES.get(r["role"], r["role"]),
            str((r["name"] if show else mask_name(r["name"])) or ""),
            "" if pd.isna(r.get("duty_phone")) else str(r["duty_phone"]),
            "、".join(of[c] for c in str(r["places"]).split(";") if c in (of or {})),
        )
        for r in rows.to_dict("records")
    ]


def _stations(stations: gpd.GeoDataFrame, shape, crs) -> gpd.GeoDataFrame:
    """The stations inside the grid, or else the nearest one; ``hours`` from the layer's
    columns where it has them (开放时间 …)."""
    if stations.empty:
        return stations
    near = _inside(stations, shape)
    if near.empty:
        metric = stations.to_crs(crs)
        here = gpd.GeoSeries([shape], crs=stations.crs).to_crs(crs).iloc[0]
        near = stations.iloc[[int(metric.distance(here).to_numpy().argmin())]]
    props = near["properties"] if "properties" in near else pd.Series([None] * len(near))
    hours = [
        next((str(p[k]) for k in HOURS_KEYS if isinstance(p, dict) and p.get(k)), "") for p in props
    ]
    return near[["code", "name", near.geometry.name]].assign(hours=hours)


def read_boards(
    conn,
    grid: str | None = None,
    community: str | None = None,
    show_names: StaffNames = names_masked,
) -> list[GridBoard]:
    """The boards of one grid or of every grid of a community, ready to draw.

    ``show_names(grid_shape)`` says whether the reader may see the names of the people serving
    that grid (else they are masked, 张*明)."""
    cells = _find_grids(conn, grid, community)
    box = tuple(cells.total_bounds)
    compounds = features.read_features(conn, "compound", bbox=box)
    buildings = features.read_features(conn, "building", bbox=box)
    stations = features.read_features(conn, "station")
    staff = features.read_features(conn, "staff", include_personal=True,
                                   columns=("name", "role", "places", "duty_phone"))  # fmt: skip
    orgs = features.read_features(conn, "org", columns=("name", "kind", "covers"))
    communities = features.read_features(conn, "community", columns=("name",))
    community_names = dict(zip(communities["code"], communities["name"], strict=True))
    crs = metric_crs_for(cells)
    boards = []
    for i in range(len(cells)):
        cell = cells.iloc[[i]]
        shape, code = cell.geometry.iloc[0], cell["code"].iloc[0]
        mine, houses = _inside(compounds, shape), _inside(buildings, shape)
        covering = orgs[orgs["kind"].isin(SECRETARY_OF)]
        covering = covering[[bool(set(mine["code"]) & set(str(c or "").split(";"))) for c in covering["covers"]]]  # fmt: skip
        show = bool(show_names(shape))
        workers = _serves(staff[staff["role"].isin(GRID_WORKERS)], {code})
        secretaries = _serves(staff[staff["role"] == "secretary"], set(covering["code"]))
        boards.append(GridBoard(
            cell, str(community_names.get(cell["community_code"].iloc[0]) or ""), mine, houses,
            _stations(stations, shape, crs), int(houses["households"].fillna(0).sum()),
            _posts(workers, show),
            _posts(secretaries, show, dict(zip(covering["code"], covering["name"], strict=True))),
        ))  # fmt: skip
    return boards


def board_page(
    conn, grid: str | None = None, community: str | None = None, size: str = "A4",
    show_names: StaffNames = names_masked,
) -> tuple[str, list[GridBoard]]:  # fmt: skip
    """The HTML of the boards of one grid or of a community's grids, and the boards."""
    if size.upper() not in ("A4", "A3"):
        raise GridmapError(f"纸张只能是 A4 或 A3，不是 {size}。", f"Paper is A4 or A3, not {size}.")
    boards = read_boards(conn, grid, community, show_names)
    return boards_html(boards, size, date.today()), boards


def names_seen(boards: list[GridBoard], show_names: StaffNames) -> dict | None:
    """What the audit trail records when names were shown: the grids and how many people
    (never a name or phone); ``None`` when every name was masked."""
    shown = [b for b in boards if show_names(b.grid.geometry.iloc[0])]
    if not shown:
        return None
    return {"board": [b.grid["code"].iloc[0] for b in shown],
            "people": sum(len(b.workers) + len(b.secretaries) for b in shown)}  # fmt: skip


def write_board(engine, output, grid=None, community=None, size="A4", actor="cli"):
    """``gridmap export board``: the boards as one HTML file, names shown (the operator has
    the whole database, as an admin) and the export recorded in the change log."""
    from pathlib import Path

    from gridmap.store.db import connect, transaction
    from gridmap.store.schema import require_current

    require_current(engine)
    show_names = board_names_shown(Principal(actor, "admin", None), None)
    with connect(engine) as conn:
        page, boards = board_page(conn, grid, community, size, show_names)
    with transaction(engine) as conn:
        features.log_change(conn, actor, "board_personal", "staff", names_seen(boards, show_names))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8")
    return output, boards

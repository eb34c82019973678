"""``gridmap export map``: one community or grid cell as a single HTML file that works offline.

The file is handed to a community secretary who has no access to the server: Leaflet, every
script and every style are inside it, and it requests nothing (no CDN, no server, no tiles).
It draws the unit's outline, its grid cells, compounds, buildings, the stations that reach it
with their walking radius, and the latest analysis's gaps by kind with Chinese popups, beside a
panel of its figures. Members appear only as counts; gaps about one member are counted, never
drawn (their point is a home).

Examples
--------
See ``tests/test_report.py`` (the file's content) and ``tests/web/test_report.py`` (opened in
Chromium with every request outside the file failing).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import folium
import geopandas as gpd
from sqlalchemy import Engine

from gridmap.config import Settings
from gridmap.crs import metric_crs_for
from gridmap.errors import GridmapError, NotFoundError
from gridmap.maps.assets import inline_assets
from gridmap.maps.controls import FitWhenPrinted, HtmlControl, LegendRow, add_print_controls
from gridmap.maps.draw import UNIT_STYLES, add_gaps, add_stations, add_units, fit_to
from gridmap.maps.labels import COUNT_LABELS, PROPOSAL_KINDS, RATE_LABELS, gap_label, percent
from gridmap.store import features, results
from gridmap.store.db import connect
from gridmap.store.schema import require_current


@dataclass
class Unit:
    """What the file shows: the community or grid cell and what lies in it."""

    level: str  # community | grid
    code: str
    name: str
    area: gpd.GeoDataFrame  # one row
    grids: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    gaps: gpd.GeoDataFrame
    figures: dict
    unchecked: list[dict]
    # the figures of each grid cell and compound drawn, by code (for their popups)
    parts: dict[str, dict] = field(default_factory=dict)


def _inside(frame: gpd.GeoDataFrame, shape) -> gpd.GeoDataFrame:
    """The features of ``frame`` whose representative point lies in ``shape``."""
    if frame.empty:
        return frame
    return frame[frame.geometry.representative_point().within(shape).to_numpy()]


def _find(frame: gpd.GeoDataFrame, code: str, what_zh: str, what_en: str) -> gpd.GeoDataFrame:
    found = frame[frame["code"] == code]
    if found.empty:
        raise NotFoundError(f"没有编码为 {code} 的{what_zh}。", f"No {what_en} with code {code}.")
    return found.iloc[:1]


def read_unit(
    engine: Engine,
    settings: Settings,
    community: str | None = None,
    grid: str | None = None,
    grid_layer: str = "unified",
) -> Unit:
    """Read one community (or one grid cell of ``grid_layer``) and all the file will show."""
    if (community is None) == (grid is None):
        raise GridmapError(
            "请用 --community 或 --grid 指定一个社区或网格 (二选一)。",
            "Name one community (--community) or one grid cell (--grid).",
        )
    require_current(engine)
    with connect(engine) as conn:
        grids = features.read_features(conn, "grid", grid_layer=grid_layer)
        if community is not None:
            area = _find(features.read_features(conn, "community"), community, "社区", "community")
        else:
            area = _find(grids, grid, f"网格 (图层 {grid_layer})", f"grid cell of {grid_layer}")
        shape = area.geometry.iloc[0]
        box = tuple(area.total_bounds)
        metric = metric_crs_for(area)
        reach = area.to_crs(metric).buffer(settings.station_radius_m).to_crs(area.crs)
        stations = features.read_features(conn, "station", bbox=tuple(reach.total_bounds))
        run = results.latest_run(conn, "analyze")
        gaps = None
        if run:
            where = {"community": community} if community is not None else {"bbox": box}
            gaps = results.read_gaps(conn, run, **where)
        level = "community" if community is not None else "grid"
        code = community if community is not None else grid
        figures = results.read_figures(conn, run) if run else None
        unit = Unit(
            level, code, str(area["name"].iloc[0] or ""), area,
            _inside(grids, shape) if community is not None else grids.iloc[:0],
            _inside(features.read_features(conn, "compound", bbox=box), shape),
            _inside(features.read_features(conn, "building", bbox=box), shape),
            stations[stations.within(reach.iloc[0]).to_numpy()] if len(stations) else stations,
            _gaps_of(gaps, shape, community),
            {}, list((results.run_summary(conn, run) or {}).get("unchecked") or []) if run else [],
        )  # fmt: skip
    if figures is not None and len(figures):
        own = figures[(figures["level"] == level) & (figures["code"] == code)]
        unit.figures = own.iloc[0].to_dict() if len(own) else {}
        drawn = set(unit.grids["code"]) | set(unit.compounds["code"])
        parts = figures[figures["level"].isin(["grid", "compound"]) & figures["code"].isin(drawn)]
        unit.parts = {r["code"]: r for r in parts.to_dict("records")}
    return unit


def _gaps_of(gaps: gpd.GeoDataFrame | None, shape, community: str | None) -> gpd.GeoDataFrame:
    """The gaps of a community (read by its code), or those meeting a grid cell's inside."""
    if gaps is None:
        return gpd.GeoDataFrame({"kind": []}, geometry=[], crs=4326)
    if community is not None or gaps.empty:
        return gaps
    # the inside only: a gap that merely touches the cell's edge belongs to its neighbour
    inner = shape.buffer(-1e-6)
    return gaps[gaps.geometry.intersects(inner).to_numpy()]


def _figures_panel(unit: Unit) -> str:
    e = html.escape
    kind_zh = {"community": "社区 community", "grid": "网格 grid cell"}[unit.level]
    head = f"<b>{e(unit.name or unit.code)}</b> <small>{kind_zh} {e(unit.code)}</small>"
    f = unit.figures
    rows = [(COUNT_LABELS[k], f.get(k)) for k in ("households", "compounds")]
    rows.append((COUNT_LABELS["buildings"], f.get("buildings", len(unit.buildings))))
    rows += [
        (COUNT_LABELS[k], f.get(k)) for k in ("members", "members_full", "members_probationary")
    ]
    rows += [((zh, en), percent(f.get(k))) for k, (zh, en, _m) in RATE_LABELS.items() if k in f]
    body = "".join(
        f"<tr><th>{e(zh)} <small>{e(en)}</small></th><td>{e(_count(v))}</td></tr>"
        for (zh, en), v in rows
        if v is not None and v == v
    )
    gaps = f"留白与问题 <small>gaps</small> <b>{len(unit.gaps)}</b>"
    if not f:
        gaps = "尚未分析，无统计与留白 <small>no analysis yet: no figures, no gaps</small>"
    unchecked = "".join(
        f"<li>{e(gap_label(u['kind'])[0])}: {e(u.get('reason_zh', ''))}</li>"
        for u in unit.unchecked
    )
    if unchecked:
        unchecked = (
            f"<p>未能检查的项目 <small>checks that could not run</small></p><ul>{unchecked}</ul>"
        )
    made = datetime.now().strftime("%Y-%m-%d")
    return (
        f"<details open><summary>{head}</summary><table>{body}</table><p>{gaps}</p>{unchecked}"
        f"<small>党员仅计数，不含个人信息 · members as counts only · 生成于 {made}</small></details>"
    )


def _count(value) -> str:
    return (
        f"{int(value)}"
        if isinstance(value, int | float) and float(value).is_integer()
        else str(value)
    )


def _households(row: dict) -> list[str]:
    return [f"户数 <small>households</small> {html.escape(_count(row.get('households')))}"]


def _part_lines(unit: Unit):
    """Popup lines of a grid cell or compound: its households, members (counts) and rates or
    the organisation proposed for it, from the latest analysis."""

    def lines(row: dict) -> list[str]:
        f = unit.parts.get(row.get("code"))
        if not f:
            return []
        out = [
            f"户数 <small>households</small> {_count(f['households'])}",
            f"党员 <small>members</small> {_count(f['members'])} "
            f"(正式 {_count(f['members_full'])} / 预备 {_count(f['members_probationary'])})",
        ]
        if f["level"] == "grid":
            out += [f"{zh} <small>{en}</small> {percent(f.get(k))}"
                    for k, (zh, en, _m) in RATE_LABELS.items()]  # fmt: skip
        elif f.get("proposal"):
            kind = PROPOSAL_KINDS.get(f["proposal"], f["proposal"])
            out.append(f"组织设置建议 <small>proposal</small> {html.escape(kind)}")
        return out

    return lines


def build_map(unit: Unit, settings: Settings) -> folium.Map:
    """The folium map of ``unit``, every asset inlined."""
    m = folium.Map(tiles=None, max_zoom=19, zoom_snap=0.25)
    m.get_root().title = html.escape(f"{unit.name or unit.code} 地图 · map of {unit.code}")
    boundary = UNIT_STYLES["boundary"]
    add_units(m, unit.area, unit.level, name="范围 boundary", style=boundary)
    legend = [LegendRow(boundary["color"], "范围", "boundary")]
    parts = _part_lines(unit)
    if len(unit.grids):
        add_units(m, unit.grids, "grid", label=True, popup_lines=parts, name="网格 grid cells")
        legend.append(LegendRow(UNIT_STYLES["grid"]["color"], "网格", "grid cell", len(unit.grids)))
    add_units(m, unit.compounds, "compound", popup_lines=parts, name="小区 compounds")
    add_units(m, unit.buildings, "building", popup_lines=_households, name="楼栋 buildings")
    legend += [
        LegendRow(UNIT_STYLES["compound"]["color"], "小区", "compound", len(unit.compounds), True),
        LegendRow(UNIT_STYLES["building"]["color"], "楼栋", "building", len(unit.buildings), True),
    ]
    legend += add_stations(m, unit.stations, settings.station_radius_m)
    legend += add_gaps(m, unit.gaps)
    fit_to(m, unit.area)
    west, south, east, north = unit.area.total_bounds
    FitWhenPrinted([[south, west], [north, east]]).add_to(m)
    HtmlControl(_figures_panel(unit), "topleft", "gm-box gm-panel").add_to(m)
    add_print_controls(m, legend)
    folium.LayerControl(collapsed=True).add_to(m)
    inline_assets(m)
    return m


def export_map(
    engine: Engine,
    output: Path,
    settings: Settings,
    community: str | None = None,
    grid: str | None = None,
    grid_layer: str = "unified",
) -> tuple[Path, Unit]:
    """Write the offline map of a community or grid cell to ``output`` (an .html file)."""
    unit = read_unit(engine, settings, community, grid, grid_layer)
    page = build_map(unit, settings).get_root().render()
    page = page.replace("<html>", '<html lang="zh-CN">', 1).replace(
        "<head>", '<head>\n<link rel="icon" href="data:,">', 1
    )
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8")
    return output, unit


def summary_counts(unit: Unit) -> dict[str, int]:
    """How many of each thing the file holds (for the command's message)."""
    return {"grids": len(unit.grids), "compounds": len(unit.compounds),
            "buildings": len(unit.buildings), "stations": len(unit.stations),
            "gaps": len(unit.gaps)}  # fmt: skip

"""网格公示牌: the printable notice every grid posts — its map, name and code, households, who
serves it (网格长 / 网格员, the branch secretary) with a photo box and the public duty phone, and
its Party service station — as one HTML file that requests nothing (web/templates/board.html).

Pure: frames in, HTML out. The map is an inline SVG drawn from the geometries in a metric CRS
(outline, compounds, buildings, stations, a scale bar and a north arrow), so it prints as shown
on any printer, offline. The people come as the caller gives them: a name the reader may not see
arrives masked; a personal phone never arrives (only ``duty_phone``, 值班电话, meant to be posted).

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point, box
>>> grid = gpd.GeoDataFrame({"code": ["G1"], "name": ["一网格"]},
...                         geometry=[box(104.0, 30.0, 104.01, 30.01)], crs=4326)
>>> none = gpd.GeoDataFrame({"code": []}, geometry=[], crs=4326)
>>> b = GridBoard(grid, "锦绣社区", none, none, none, 320, [Post("网格长", "张*明", "100-8800-0001")])
>>> page = boards_html([b])
>>> "一网格" in page and "100-8800-0001" in page and "http" not in page
True
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import shapely
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gridmap.crs import metric_crs_for
from gridmap.maps.assets import WEB

# the paper each size prints on, with the width of the drawing on it (portrait)
SIZES = {"A4": {"page": "A4 portrait", "width_mm": 186, "font_pt": 10.5},
         "A3": {"page": "A3 portrait", "width_mm": 273, "font_pt": 15}}  # fmt: skip
VIEW_W = 1000  # the SVG's own units across
ASPECT = 0.7  # its height to its width, near the map's room on the page
STYLE = {  # fill, stroke, stroke width (in the SVG's units)
    "grid": ("#fff8f6", "#b71c1c", 6), "compound": ("#c8e6c9", "#2e7d32", 2),
    "building": ("#90a4ae", "#455a64", 1), "station": ("#ffeb3b", "#c62828", 3),
}  # fmt: skip


@dataclass(frozen=True)
class Post:
    """One person on the board: the post's Chinese title, the name as the reader may see it
    (masked or not, decided by the caller) and the public duty phone (may be empty)."""

    title: str
    name: str
    duty_phone: str = ""
    of: str = ""  # the organisation or unit the post is of, where it says more than the grid


@dataclass
class GridBoard:
    """What one grid's board shows (geometries in EPSG:4326)."""

    grid: gpd.GeoDataFrame  # one row: code, name
    community: str  # the community's name
    compounds: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame  # code, name, and ``hours`` where the layer has them
    households: int
    workers: list[Post] = field(default_factory=list)  # 网格长 / 网格员
    secretaries: list[Post] = field(default_factory=list)  # branch secretaries of its compounds


def _path(geom, to_view) -> str:
    """An SVG path of a (multi)polygon, rings closed, in the view's units."""
    # Rounded plainly to 0.1 of a view unit, a ring may touch or cross itself (8 of the demo's 43
    # unified cells, 5 of 13 cells of a grid digitised with centimetre noise), which SVG still
    # fills as the ring encloses. Left so on purpose: a tenth of a unit is 0.02 mm on A4, a third
    # of a 600 dpi printer's dot, and nobody reads the path back as geometry; the files that are
    # read back are kept valid (gridmap.io.write.on_grid).
    parts = []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        for ring in (poly.exterior, *poly.interiors):
            xy = to_view(shapely.get_coordinates(ring))
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in xy) + "Z")
    return "".join(parts)


def _scale_bar(metres_across: float) -> tuple[int, float]:
    """A round length (m) near a fifth of the map's width, and its length in view units."""
    target = metres_across / 5
    steps = [n * 10**e for e in range(0, 5) for n in (1, 2, 5)]
    length = max([s for s in steps if s <= target] or [1])
    return length, length / metres_across * VIEW_W


def map_svg(board: GridBoard) -> str:
    """The grid's map as an inline SVG: compounds, buildings, the outline over them, stations
    as numbered dots, a scale bar and a north arrow (north is up: a metric CRS of the place)."""
    crs = metric_crs_for(board.grid)
    grid = board.grid.to_crs(crs)
    x0, y0, x1, y1 = grid.total_bounds
    # the grid centred in a frame of the page's proportions, with a margin for the scale bar
    across = max(x1 - x0, (y1 - y0) / ASPECT) * 1.12 + 1
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    x0, x1, y0, y1 = (
        cx - across / 2,
        cx + across / 2,
        cy - across * ASPECT / 2,
        cy + across * ASPECT / 2,
    )
    k = VIEW_W / across
    height = VIEW_W * ASPECT

    def to_view(xy):
        return [((x - x0) * k, (y1 - y) * k) for x, y in xy]

    shapes = []
    for layer in ("compound", "building"):
        frame = board.compounds if layer == "compound" else board.buildings
        fill, stroke, width = STYLE[layer]
        for geom in frame.to_crs(crs).geometry.values if len(frame) else []:
            shapes.append(f'<path d="{_path(geom, to_view)}" fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>')  # fmt: skip
    fill, stroke, width = STYLE["grid"]
    outline = _path(grid.geometry.iloc[0], to_view)
    shapes.insert(0, f'<path d="{outline}" fill="{fill}" stroke="none"/>')
    shapes.append(f'<path d="{outline}" fill="none" stroke="{stroke}" stroke-width="{width}"/>')
    fill, stroke, width = STYLE["station"]
    stations = board.stations.to_crs(crs) if len(board.stations) else board.stations
    for i, point in enumerate(stations.geometry.values if len(stations) else [], start=1):
        (x, y), = to_view([(point.x, point.y)])  # fmt: skip
        if 0 <= x <= VIEW_W and 0 <= y <= height:
            shapes.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="16" fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>'
                          f'<text x="{x:.1f}" y="{y + 7:.1f}" text-anchor="middle" font-size="20" font-weight="bold">{i}</text>')  # fmt: skip
    metres, bar = _scale_bar(x1 - x0)
    y = height - 24
    shapes.append(
        f'<g class="scale"><rect x="20" y="{y - 14:.1f}" width="{bar + 20:.1f}" height="40" fill="#fff" opacity=".8"/>'
        f'<path d="M30,{y:.1f}v10h{bar:.1f}v-10" fill="none" stroke="#222" stroke-width="3"/>'
        f'<text x="{30 + bar / 2:.1f}" y="{y - 1:.1f}" text-anchor="middle" font-size="18">{metres} 米 m</text></g>'
        f'<g class="north" transform="translate({VIEW_W - 40},50)"><path d="M0,-30L14,12L0,4L-14,12Z" fill="#222"/>'
        f'<text y="34" text-anchor="middle" font-size="20" font-weight="bold">北 N</text></g>'
    )  # fmt: skip
    label = html.escape(f"{board.grid['name'].iloc[0] or board.grid['code'].iloc[0]} 地图 map")
    return (
        f'<svg viewBox="0 0 {VIEW_W} {height:.0f}" '
        f'role="img" aria-label="{label}">{"".join(shapes)}</svg>'
    )


_env = Environment(
    loader=FileSystemLoader(str(WEB / "templates")),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _station_rows(board: GridBoard) -> list[dict]:
    rows = board.stations.drop(columns=board.stations.geometry.name) if len(board.stations) else []
    return [
        {"n": i, "name": r.get("name") or r.get("code") or "", "hours": r.get("hours") or ""}
        for i, r in enumerate(rows.to_dict("records") if len(rows) else [], start=1)
    ]


def boards_html(boards: list[GridBoard], size: str = "A4", made: date | None = None) -> str:
    """One HTML file holding every board of ``boards``, one per printed page of ``size``
    (``A4`` or ``A3``, portrait); nothing in it is fetched from anywhere."""
    paper = SIZES.get(size.upper() if isinstance(size, str) else "", SIZES["A4"])
    items = [
        {"code": b.grid["code"].iloc[0], "name": b.grid["name"].iloc[0] or b.grid["code"].iloc[0],
         "community": b.community, "households": b.households, "map": map_svg(b),
         "workers": b.workers, "secretaries": b.secretaries, "stations": _station_rows(b)}
        for b in boards
    ]  # fmt: skip
    return _env.get_template("board.html").render(
        boards=items, paper=paper, size=size.upper(), made=(made or date.today()).isoformat()
    )

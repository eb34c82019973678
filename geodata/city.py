"""The demo subdistrict 锦绣街道: communities, grids, compounds and buildings on a real town.

Built in metres (moved to CGCS2000 3-degree Gauss–Krüger CM 105E, EPSG:4544, at the end) from the
real street blocks and building footprints of ``blocks.py``. Each of the 168 compound cells holds
one compound; cells are grouped, without cutting a block's compounds apart, into Party grids of
four compounds, and grids into six communities (three of 8 grids in the north, three of 6 in the
south), by cutting each group in two along the direction that keeps both halves in one piece.
Borders therefore run along real streets or between compounds. Everything is clean here;
``plants.py`` then breaks it on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from geodata import blocks

STREET = 6.0  # compounds stand this far inside their cell (half a street, or a lane between two)
YARD = 18.0  # and no farther than this from their outermost buildings
GRIDS = (8, 8, 8, 6, 6, 6)  # Party grids per community, north-west to south-east
PER_GRID = 4  # compounds per Party grid

COMMUNITY_NAMES = ["锦绣社区", "芙蓉社区", "桂花社区", "银杏社区", "玉林社区", "望江社区"]
COMPOUND_WORDS = ["花园", "小区", "苑", "里", "家园", "雅居", "公寓", "新村"]
COMPOUND_PREFIX = [
    "锦绣", "芙蓉", "桂香", "银杏", "玉林", "望江", "紫荆", "翠竹", "金桂", "明月", "清风", "和平",
    "幸福", "阳光", "春晖", "东篱", "南苑", "西岭", "北辰", "长乐", "永安", "康宁", "兴隆", "书香",
]  # fmt: skip
DIRECTIONS = np.radians([0, 90, 30, -30, 60, -60, 15, -15, 45, -45, 75, -75])


@dataclass
class City:
    """Every feature of the demo subdistrict, in metres, with its attributes."""

    communities: list[dict] = field(default_factory=list)
    grids: list[dict] = field(default_factory=list)
    compounds: list[dict] = field(default_factory=list)
    buildings: list[dict] = field(default_factory=list)
    outline: shapely.Polygon | None = None
    cells: dict[str, shapely.Polygon] = field(default_factory=dict)  # compound code → its cell
    spare: list = field(default_factory=list)  # real footprints in no compound (valid shapes)
    beyond: list = field(default_factory=list)  # real footprints north of the subdistrict
    invalid: list = field(default_factory=list)  # (as mapped, repaired) of invalid footprints


def build_city(rng: np.random.Generator) -> City:
    """The clean city: real blocks → compound cells → grids → communities, with buildings."""
    fp = blocks.footprints()
    city = City(outline=blocks.outline(fp.valid))
    where = shapely.point_on_surface(fp.valid)
    inside = shapely.within(where, city.outline)
    street_blocks = blocks.street_blocks(city.outline, blocks.streets())
    n = sum(GRIDS) * PER_GRID
    cells = np.array(blocks.compound_cells(street_blocks, where[inside], n, rng), dtype=object)
    points = shapely.point_on_surface(cells)
    rows = _split(cells, points, np.arange(n), [sum(GRIDS[3:]) * PER_GRID, sum(GRIDS[:3]) * PER_GRID], 90)  # fmt: skip
    parts = _split(cells, points, rows[1], [g * PER_GRID for g in GRIDS[:3]], 0)
    parts += _split(cells, points, rows[0], [g * PER_GRID for g in GRIDS[3:]], 0)
    used = np.zeros(len(fp.valid), dtype=bool)
    for index, members in enumerate(parts):
        code = f"510199001{index + 1:03d}"
        city.communities.append(
            {"code": code, "name": COMMUNITY_NAMES[index],
             "geometry": shapely.union_all(cells[members], grid_size=blocks.GRID)}
        )  # fmt: skip
        grids = _bisect(cells, points, members, GRIDS[index])
        for number, grid in enumerate(_reading_order(grids, points), start=1):
            grid_code = f"DJ{index + 1}{number:02d}"
            city.grids.append(
                {"code": grid_code, "name": f"{COMMUNITY_NAMES[index]}第{number}网格",
                 "community_code": code, "geometry": shapely.union_all(cells[grid], grid_size=blocks.GRID)}
            )  # fmt: skip
            for cell in _reading_order([[i] for i in grid], points):
                _add_compound(city, rng, code, grid_code, cells[cell[0]], fp, used)
    city.spare = list(fp.valid[~used & inside])
    city.beyond = list(fp.valid[shapely.within(where, shapely.box(*blocks.NORTH))])
    broken = np.flatnonzero(~shapely.is_valid(fp.mapped))
    broken = broken[np.argsort(-shapely.area(fp.valid[broken]), kind="stable")]
    city.invalid = [(fp.mapped[i], fp.valid[i]) for i in broken]
    return city


def _split(cells, points, members: np.ndarray, sizes: list[int], prefer: float) -> list[np.ndarray]:
    """``members`` cut into consecutive runs of ``sizes`` along one direction, each in one piece.

    The preferred direction (degrees) is tried first, then others, until every run is one polygon.
    """
    xy = np.column_stack([shapely.get_x(points[members]), shapely.get_y(points[members])])
    tries = np.concatenate([[np.radians(prefer)], np.radians(prefer) + DIRECTIONS[1:]])
    best, fewest = None, np.inf
    for angle in tries:
        order = members[np.argsort(xy @ [np.cos(angle), np.sin(angle)], kind="stable")]
        runs = np.split(order, np.cumsum(sizes)[:-1])
        pieces = sum(
            len(shapely.get_parts(shapely.union_all(cells[r], grid_size=blocks.GRID))) for r in runs
        )
        if pieces == len(runs):
            return runs
        if pieces < fewest:
            best, fewest = runs, pieces
    return best


def _bisect(cells, points, members: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """``members`` cut in halves, and halves again, into ``n_groups`` groups of even size."""
    if n_groups == 1:
        return [members]
    x0, y0, x1, y1 = shapely.total_bounds(cells[members])
    half = n_groups // 2
    first = len(members) * half // n_groups
    a, b = _split(cells, points, members, [first, len(members) - first],
                  0 if x1 - x0 >= y1 - y0 else 90)  # fmt: skip
    return _bisect(cells, points, a, half) + _bisect(cells, points, b, n_groups - half)


def _reading_order(groups: list[np.ndarray], points) -> list[np.ndarray]:
    """Groups numbered as offices do: south to north in rows of two, west to east in a row."""
    xy = np.array(
        [[shapely.get_x(points[g]).mean(), shapely.get_y(points[g]).mean()] for g in groups]
    )
    by_y = np.argsort(xy[:, 1], kind="stable")
    rows = [by_y[i : i + 2] for i in range(0, len(by_y), 2)]
    return [groups[i] for row in rows for i in row[np.argsort(xy[row, 0], kind="stable")]]


def _add_compound(city: City, rng, community: str, grid: str, cell, fp, used: np.ndarray):
    n = len(city.compounds)
    code = f"XQ{n + 1:03d}"
    name = f"{COMPOUND_PREFIX[n % len(COMPOUND_PREFIX)]}{COMPOUND_WORDS[(n // 24) % len(COMPOUND_WORDS)]}"
    if any(c["name"] == name for c in city.compounds):
        name = f"{name}{n // 24 + 1}期"
    inner = cell.buffer(-STREET, join_style="mitre")
    candidates = np.flatnonzero(~used & shapely.within(shapely.point_on_surface(fp.valid), inner))
    hull = shapely.convex_hull(shapely.union_all(fp.valid[candidates]))
    outline = _largest(shapely.intersection(inner, hull.buffer(YARD, join_style="mitre")))
    outline = shapely.set_precision(outline, blocks.GRID)
    high_rise = rng.random() < 0.3
    city.compounds.append(
        {"code": code, "name": name, "community_code": community, "grid_code": grid,
         "property_company": f"{name[:2]}物业服务有限公司" if rng.random() < 0.8 else None,
         "property_has_org": True, "geometry": outline, "high_rise": high_rise}
    )  # fmt: skip
    city.cells[code] = cell
    mine = candidates[shapely.within(fp.valid[candidates], outline)]
    used[mine] = True
    _add_buildings(city, rng, code, name, mine, fp, high_rise)


def _largest(geom):
    return max(shapely.get_parts(geom), key=lambda p: p.area)


def _add_buildings(city: City, rng, compound: str, name: str, mine: np.ndarray, fp, high_rise):
    """The compound's real footprints, numbered south to north; households from floors × area."""
    where = shapely.point_on_surface(fp.valid[mine])
    order = mine[np.lexsort((shapely.get_x(where), np.round(shapely.get_y(where) / 25)))]
    for number, i in enumerate(order, start=1):
        mapped = fp.levels[i]
        floors = int(mapped) if mapped == mapped and mapped >= 1 else (
            int(rng.integers(11, 33)) if high_rise else int(rng.integers(3, 8)))  # fmt: skip
        area = fp.valid[i].area
        households = max(1, round(area * floors * 0.75 / 90 * rng.uniform(0.9, 1.1)))
        city.buildings.append(
            {"code": f"{compound}-{number:02d}", "name": f"{name}{number}栋",
             "compound_code": compound, "households": households, "floors": floors,
             "geometry": fp.mapped[i], "valid": fp.valid[i], "osm_id": fp.osm_id[i]}
        )  # fmt: skip


def balance_households(city: City, low: int = 320, high: int = 480) -> None:
    """Scale household counts so that each Party grid holds between ``low`` and ``high``."""
    by_grid: dict[str, list[dict]] = {}
    compound_grid = {c["code"]: c["grid_code"] for c in city.compounds}
    for b in city.buildings:
        by_grid.setdefault(compound_grid[b["compound_code"]], []).append(b)
    for buildings in by_grid.values():
        total = sum(b["households"] for b in buildings)
        target = min(max(total, low), high)
        for b in buildings:
            b["households"] = max(2, round(b["households"] * target / total))


def departmental_grids(city: City, rng) -> tuple[list[dict], list[dict]]:
    """综治网格 (30 cells drawn on other lines) and 城管网格 (a unit cell per compound cell).

    The 综治 office grouped the same compound cells its own way (ignoring community borders) and
    traced each cell on its own: inside the subdistrict its vertices stray by up to 3 cm, so
    neighbouring cells never share a vertex, as independently digitised grids do (within the
    snapping tolerance, so that the hairline gaps and overlaps are no findings).
    """
    cells = np.array(list(city.cells.values()), dtype=object)
    points = shapely.point_on_surface(cells)
    zongzhi = []
    for run in _reading_order(_bisect(cells, points, np.arange(len(cells)), 30), points):
        n = len(zongzhi) + 1
        shape = shapely.union_all(cells[run], grid_size=blocks.GRID)
        zongzhi.append({"code": f"ZZ{n:02d}", "name": f"综治第{n}网格",
                        "geometry": _traced(shape, city.outline, rng)})  # fmt: skip
    return zongzhi, _unit_cells(cells, points, city.outline, rng)


def _unit_cells(cells: np.ndarray, points, outline, rng) -> list[dict]:
    """城管 unit cells: one per block or part of a block, as digital urban management draws them
    along streets, traced on their own like the 综治 cells."""
    order = [i for row in _reading_order([[i] for i in range(len(cells))], points) for i in row]
    return [{"code": f"CG{n:04d}", "name": f"单元网格{n:04d}", "geometry": _traced(cells[i], outline, rng)}
            for n, i in enumerate(order, start=1)]  # fmt: skip


def _even(n: int, parts: int) -> list[int]:
    return [n // parts + (i < n % parts) for i in range(parts)]


def _traced(shape, outline, rng) -> shapely.Polygon:
    """The shape as a second office traced it: inner vertices off by up to 3 cm."""
    edge = outline.boundary

    def stray(coords: np.ndarray) -> np.ndarray:
        # one stray per vertex, so that a ring stays closed
        unique, again = np.unique(coords, axis=0, return_inverse=True)
        jitter = rng.uniform(-0.03, 0.03, size=unique.shape)[again.ravel()]
        on_edge = shapely.distance(shapely.points(coords), edge) < 0.05
        return np.where(on_edge[:, None], coords, coords + jitter)

    traced = shapely.make_valid(shapely.transform(shape, stray))
    return _largest(traced) if traced.geom_type != "Polygon" else traced


def subdistrict_outline(city: City) -> shapely.Polygon:
    return city.outline

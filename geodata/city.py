"""The fictional subdistrict 锦绣街道: geometry of communities, grids, compounds and buildings.

Built in metres (CGCS2000 3-degree Gauss–Krüger CM 105E, EPSG:4544) and converted to WGS84 at
the end. The layout is a street grid: 6 communities; each community split into Party grid cells
along streets; each cell holds 2 × 2 compounds inset from the streets; buildings stand in rows
inside compounds. Everything is clean here; ``plants.py`` then breaks it on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import Polygon, box

ORIGIN = (104.030, 30.640)  # south-west corner, lon/lat
COMMUNITY_W, COMMUNITY_H = 1000.0, 1200.0
STREET = 10.0  # compounds stand this far inside their cell quadrant (half a 20 m street)

COMMUNITY_NAMES = ["锦绣社区", "芙蓉社区", "桂花社区", "银杏社区", "玉林社区", "望江社区"]
COMPOUND_WORDS = ["花园", "小区", "苑", "里", "家园", "雅居", "公寓", "新村"]
COMPOUND_PREFIX = [
    "锦绣", "芙蓉", "桂香", "银杏", "玉林", "望江", "紫荆", "翠竹", "金桂", "明月", "清风", "和平",
    "幸福", "阳光", "春晖", "东篱", "南苑", "西岭", "北辰", "长乐", "永安", "康宁", "兴隆", "书香",
]  # fmt: skip


@dataclass
class City:
    """Every feature of the demo subdistrict, in metres, with its attributes."""

    communities: list[dict] = field(default_factory=list)
    grids: list[dict] = field(default_factory=list)
    compounds: list[dict] = field(default_factory=list)
    buildings: list[dict] = field(default_factory=list)


def community_layout() -> list[tuple[int, int, int]]:
    """(column, row, grid rows) of each community: 2 × 4 cells in the top row, 2 × 3 below."""
    return [(c, r, 4 if r == 1 else 3) for r in (1, 0) for c in range(3)]


def build_city(rng: np.random.Generator) -> City:
    """The clean city: communities → grid cells → compounds → buildings."""
    city = City()
    for index, (col, row, grid_rows) in enumerate(community_layout()):
        code = f"510199001{index + 1:03d}"
        x0, y0 = col * COMMUNITY_W, row * COMMUNITY_H
        city.communities.append(
            {"code": code, "name": COMMUNITY_NAMES[index],
             "geometry": box(x0, y0, x0 + COMMUNITY_W, y0 + COMMUNITY_H)}
        )  # fmt: skip
        _fill_community(city, rng, code, index, x0, y0, grid_rows)
    return city


def _fill_community(city: City, rng, code: str, index: int, x0: float, y0: float, rows: int):
    cell_w, cell_h = COMMUNITY_W / 2, COMMUNITY_H / rows
    for r in range(rows):
        for c in range(2):
            number = r * 2 + c + 1
            grid_code = f"DJ{index + 1}{number:02d}"
            cx, cy = x0 + c * cell_w, y0 + r * cell_h
            city.grids.append(
                {"code": grid_code, "name": f"{COMMUNITY_NAMES[index]}第{number}网格",
                 "community_code": code, "geometry": box(cx, cy, cx + cell_w, cy + cell_h)}
            )  # fmt: skip
            for q in range(4):
                qx, qy = cx + (q % 2) * cell_w / 2, cy + (q // 2) * cell_h / 2
                _add_compound(city, rng, code, grid_code, qx, qy, cell_w / 2, cell_h / 2)


def _add_compound(
    city: City, rng, community: str, grid: str, x: float, y: float, w: float, h: float
):
    n = len(city.compounds)
    code = f"XQ{n + 1:03d}"
    name = f"{COMPOUND_PREFIX[n % len(COMPOUND_PREFIX)]}{COMPOUND_WORDS[(n // 24) % len(COMPOUND_WORDS)]}"
    if any(c["name"] == name for c in city.compounds):
        name = f"{name}{n // 24 + 1}期"
    outline = box(x + STREET, y + STREET, x + w - STREET, y + h - STREET)
    high_rise = rng.random() < 0.3
    city.compounds.append(
        {"code": code, "name": name, "community_code": community, "grid_code": grid,
         "property_company": f"{name[:2]}物业服务有限公司" if rng.random() < 0.8 else None,
         "property_has_org": True, "geometry": outline, "high_rise": high_rise}
    )  # fmt: skip
    _add_buildings(city, rng, code, name, outline, high_rise)


def _add_buildings(city: City, rng, compound: str, name: str, outline: Polygon, high_rise: bool):
    """Rows of slab buildings inside the compound, about 10 of them."""
    x0, y0, x1, y1 = outline.bounds
    cols, rows = (3, 3) if high_rise else (4, 3)
    depth, gap = (18.0, 30.0) if high_rise else (13.0, 22.0)
    width = (x1 - x0 - 30.0) / cols - 12.0
    number = 0
    for r in range(rows):
        for c in range(cols):
            bx = x0 + 15.0 + c * (width + 12.0) + rng.uniform(-2, 2)
            by = y0 + 15.0 + r * (depth + gap) + rng.uniform(-2, 2)
            if by + depth > y1 - 10:
                continue
            number += 1
            floors = int(rng.integers(18, 33)) if high_rise else int(rng.integers(5, 8))
            households = int(rng.integers(60, 121)) if high_rise else int(rng.integers(6, 16))
            city.buildings.append(
                {"code": f"{compound}-{number:02d}", "name": f"{name}{number}栋",
                 "compound_code": compound, "households": households, "floors": floors,
                 "geometry": box(bx, by, bx + width, by + depth)}
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
            b["households"] = max(4, round(b["households"] * target / total))


def departmental_grids(extent: Polygon) -> tuple[list[dict], list[dict]]:
    """综治网格 (30 blocks drawn on other lines) and 城管网格 (200 m unit cells)."""
    x0, y0, x1, y1 = extent.bounds
    zongzhi = []
    xs = [x0, 430.0, 980.0, 1460.0, 2050.0, 2520.0, x1]
    ys = [y0, 470.0, 930.0, 1390.0, 1850.0, y1]
    for j in range(len(ys) - 1):
        for i in range(len(xs) - 1):
            n = len(zongzhi) + 1
            zongzhi.append(
                {"code": f"ZZ{n:02d}", "name": f"综治第{n}网格",
                 "geometry": box(xs[i], ys[j], xs[i + 1], ys[j + 1])}
            )  # fmt: skip
    chengguan = []
    for j, y in enumerate(np.arange(y0, y1, 200.0)):
        for i, x in enumerate(np.arange(x0, x1, 200.0)):
            cell = box(x, y, min(x + 200.0, x1), min(y + 200.0, y1))
            chengguan.append(
                {"code": f"CG{j:02d}{i:02d}", "name": f"单元网格{j:02d}{i:02d}", "geometry": cell}
            )
    return zongzhi, chengguan


def subdistrict_outline(city: City) -> Polygon:
    return shapely.union_all([c["geometry"] for c in city.communities])

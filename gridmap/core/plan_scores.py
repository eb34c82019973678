"""Two plans compared (方案比较): a table of scores per side and the ground that changes grid.

A side is a plan or the current grid layer: cells with ``code`` and a polygon geometry, in one
metric CRS shared with the context layers. What is scored:

- cells, and cells within, below and above the household band; households per cell min /
  median / max (buildings by representative point, as :func:`gridmap.core.plans.cell_figures`);
- compounds cut, overlaps and 留白 (area and pieces), from
  :func:`gridmap.core.plan_checks.validate`;
- compactness, Polsby–Popper ``4πA / P²`` (1 for a circle, about 0.785 for a square), min and
  median over the cells;
- cells whose full members are too few for a branch of their own (联合建), from
  :func:`gridmap.core.branches.own_branch_kind`;
- between the sides: households and members that change grid (:func:`gridmap.core.plans.diff`:
  a building's households move when the code of the cell holding it changes).

:func:`differences` gives the ground whose cell code differs between the sides, as pieces with
the code on each side.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> square = gpd.GeoDataFrame({"code": ["A"]}, geometry=[box(0, 0, 10, 10)], crs=4544)
>>> round(float(polsby_popper(square.geometry.values)[0]), 4)
0.7854
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.config import Settings
from gridmap.core import plans
from gridmap.core.branches import own_branch_kind
from gridmap.core.plan_checks import validate

# (key, Chinese label, English label), in the order of the table
SCORES = [
    ("cells", "网格数", "cells"),
    ("cells_within", "户数在范围内的网格", "cells within the band"),
    ("cells_below", "户数低于范围的网格", "cells below the band"),
    ("cells_above", "户数高于范围的网格", "cells above the band"),
    ("households_min", "每格户数 最少", "households per cell, min"),
    ("households_median", "每格户数 中位数", "households per cell, median"),
    ("households_max", "每格户数 最多", "households per cell, max"),
    ("compounds_cut", "被切分的小区", "compounds cut"),
    ("overlaps", "重叠 (处)", "overlaps (count)"),
    ("overlap_m2", "重叠面积 (平方米)", "overlap area (m²)"),
    ("uncovered", "留白 (处)", "留白, ground in no cell (pieces)"),
    ("uncovered_m2", "留白面积 (平方米)", "留白 area (m²)"),
    ("compactness_min", "紧凑度 (Polsby–Popper) 最低", "compactness (Polsby–Popper), min"),
    ("compactness_median", "紧凑度 (Polsby–Popper) 中位数", "compactness (Polsby–Popper), median"),
    ("cells_without_branch", "正式党员不足、须联合建的网格", "cells with too few full members for a branch of their own"),
]  # fmt: skip
BETWEEN = [
    ("households_moved", "改变所属网格的户数", "households that change grid"),
    ("buildings_moved", "改变所属网格的楼栋", "buildings that change grid"),
    ("members_moved", "改变所属网格的党员", "members that change grid"),
]  # fmt: skip
MEMBER_SCORES = {"cells_without_branch", "members_moved"}  # figures of members: masked roles
DIFFERENCE_COLUMNS = ["a_code", "b_code", "area_m2", "geometry"]


@dataclass(frozen=True)
class Context:
    """The layers a side is scored against (one metric CRS): communities, compounds, buildings
    (``code``, ``households``), members (``category``: full | probationary)."""

    communities: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    members: gpd.GeoDataFrame


def polsby_popper(geoms) -> np.ndarray:
    """``4πA / P²`` of each polygon (metric CRS): 1 for a circle, 0 for no area."""
    geoms = np.asarray(geoms, dtype=object)
    perimeter = shapely.length(geoms)
    area = shapely.area(geoms)
    return np.divide(4 * np.pi * area, perimeter**2, out=np.zeros(len(geoms)), where=perimeter > 0)


def side_scores(cells: gpd.GeoDataFrame, context: Context, settings: Settings) -> dict[str, float | int | None]:  # fmt: skip
    """The scores of :data:`SCORES` for one side (``None`` where a side has no cells)."""
    band = plans.Band(settings.grid_households_min, settings.grid_households_max)
    none = gpd.GeoDataFrame({"code": []}, geometry=[], crs=cells.crs)
    figures = plans.cell_figures(cells, context.buildings, context.compounds, context.members, none, band=band)  # fmt: skip
    problems = validate(cells, context.communities, context.compounds)
    kind = problems["kind"].to_numpy()
    households = figures["households"].to_numpy(dtype=np.int64)
    compact = polsby_popper(cells.geometry.values)
    overlap, uncovered = problems[kind == "plan_overlap"], problems[kind == "plan_uncovered"]
    pieces = shapely.get_num_geometries(np.asarray(uncovered.geometry.values, dtype=object))
    lacking = [own_branch_kind(int(f), int(f + p), settings) is None for f, p in zip(figures["members_full"], figures["members_probationary"], strict=True)]  # fmt: skip
    empty = len(cells) == 0
    return {
        "cells": len(cells),
        "cells_within": int((figures["band"] == "ok").sum()),
        "cells_below": int((figures["band"] == "below").sum()),
        "cells_above": int((figures["band"] == "above").sum()),
        "households_min": None if empty else int(households.min()),
        "households_median": None if empty else float(np.median(households)),
        "households_max": None if empty else int(households.max()),
        "compounds_cut": int((kind == "plan_cuts_compound").sum()),
        "overlaps": len(overlap),
        "overlap_m2": round(float(overlap["measure"].sum()), 1),
        "uncovered": int(pieces.sum()),
        "uncovered_m2": round(float(uncovered["measure"].sum()), 1),
        "compactness_min": None if empty else round(float(compact.min()), 3),
        "compactness_median": None if empty else round(float(np.median(compact)), 3),
        "cells_without_branch": int(sum(lacking)),
    }


def moved(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, context: Context) -> dict[str, int]:
    """Households, buildings and members whose cell code differs between sides ``a`` and
    ``b`` (:data:`BETWEEN`), a building's households going with the cell holding it."""
    _, moves = plans.diff(b, a, context.buildings, context.members)
    return {
        "households_moved": int(moves["households"].sum()),
        "buildings_moved": int(moves["buildings"].sum()),
        "members_moved": int(moves["members"].sum()),
    }


def compare(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, context: Context, settings: Settings) -> pd.DataFrame:  # fmt: skip
    """The table of scores: ``key``, ``label_zh``, ``label_en``, ``a``, ``b`` (the scores of
    :data:`SCORES`) and then ``between`` (those of :data:`BETWEEN`, the same for both sides).

    >>> import geopandas as gpd
    >>> from shapely import box
    >>> cells = gpd.GeoDataFrame({"code": ["A"]}, geometry=[box(0, 0, 10, 10)], crs=4544)
    >>> none = gpd.GeoDataFrame({"code": [], "households": [], "category": []}, geometry=[], crs=4544)
    >>> table = compare(cells, cells, Context(none, none, none, none), Settings())
    >>> table.set_index("key").loc[["cells", "households_moved"], ["a", "b", "between"]].values.tolist()
    [[1, 1, None], [None, None, 0]]
    """
    sa, sb = side_scores(a, context, settings), side_scores(b, context, settings)
    rows = [{"key": k, "label_zh": zh, "label_en": en, "a": sa[k], "b": sb[k], "between": None} for k, zh, en in SCORES]  # fmt: skip
    between = moved(a, b, context)
    rows += [{"key": k, "label_zh": zh, "label_en": en, "a": None, "b": None, "between": between[k]} for k, zh, en in BETWEEN]  # fmt: skip
    return pd.DataFrame(rows, dtype=object)


def differences(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, *, tolerance_m2: float = 1.0) -> gpd.GeoDataFrame:  # fmt: skip
    """The ground whose cell code differs between ``a`` and ``b``: one piece per pair of codes
    (``a_code``, ``b_code``; ``None`` where a side has no cell), with its area in m².

    >>> from shapely import box
    >>> a = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=4544)
    >>> b = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[box(0, 0, 12, 10), box(12, 0, 20, 10)], crs=4544)
    >>> differences(a, b)[["a_code", "b_code", "area_m2"]].values.tolist()
    [['B', 'A', 20.0]]
    """
    if a.empty and b.empty:
        return gpd.GeoDataFrame({c: [] for c in DIFFERENCE_COLUMNS[:-1]}, geometry=[], crs=a.crs)
    sides = [gpd.GeoDataFrame({"code": s["code"].to_numpy(dtype=object)}, geometry=shapely.make_valid(np.asarray(s.geometry.values, dtype=object)), crs=a.crs) for s in (a, b)]  # fmt: skip
    pieces = gpd.overlay(sides[0], sides[1], how="union", keep_geom_type=True)
    pieces = pieces.rename(columns={"code_1": "a_code", "code_2": "b_code"})
    pieces["a_code"] = pieces["a_code"].astype(object).where(pieces["a_code"].notna(), None)
    pieces["b_code"] = pieces["b_code"].astype(object).where(pieces["b_code"].notna(), None)
    same = pieces["a_code"] == pieces["b_code"]
    # ground that a cell of either side overlaps is in several pieces: it changes grid only
    # where no piece holds one code on both sides
    kept = shapely.union_all(np.asarray(pieces.geometry.values[same.to_numpy()], dtype=object))
    pieces = pieces[~same].set_geometry(shapely.difference(np.asarray(pieces.geometry.values[~same.to_numpy()], dtype=object), kept), crs=a.crs)  # fmt: skip
    if pieces.empty:
        return gpd.GeoDataFrame({c: [] for c in DIFFERENCE_COLUMNS[:-1]}, geometry=[], crs=a.crs)
    keys = (
        pieces["a_code"].fillna("").astype(str) + "\x1f" + pieces["b_code"].fillna("").astype(str)
    )
    merged = pieces.dissolve(by=keys.to_numpy(), aggfunc="first", as_index=False)
    merged["area_m2"] = np.round(merged.area.to_numpy(), 1)
    merged = merged[merged["area_m2"] > tolerance_m2]
    out = merged[DIFFERENCE_COLUMNS].sort_values(["a_code", "b_code"], na_position="first", kind="stable")  # fmt: skip
    return out.reset_index(drop=True)

"""Grids and plans as tables of units (单元分配表): which cell each unit of the fabric is in.

As in the redistricting tools (a plan is an assignment of base units, a district the dissolve of
its units), a grid layer or plan drawn freely is expressed by giving each unit of
:mod:`gridmap.core.fabric` to the cell holding the largest share of its ground, with what the
drawing and its units disagree on listed (:func:`residuals`); a table of unit and cell codes is
checked row by row (:func:`check_assignment`) and made into cells (:func:`cells_from_assignment`),
which tile every community because the units do. Pure functions in one metric CRS.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> units = gpd.GeoDataFrame({"code": ["U1", "U2", "U3"], "community_code": ["C1"] * 3,
...     "households": [100, 200, 150]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10),
...     box(20, 0, 30, 10)], crs=4544)
>>> cells = gpd.GeoDataFrame({"code": ["G1", "G2"]}, geometry=[box(0, 0, 14, 10),
...     box(14, 0, 30, 10)], crs=4544)
>>> assign_units(units, cells)[["unit_code", "cell_code", "share"]].values.tolist()
[['U1', 'G1', 1.0], ['U2', 'G2', 0.6], ['U3', 'G2', 1.0]]
>>> made = cells_from_assignment(units, assign_units(units, cells))
>>> made[["code", "households"]].values.tolist(), made.area.tolist()
([['G1', 100], ['G2', 350]], [100.0, 200.0])
"""

from __future__ import annotations

from itertools import pairwise

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.core.fabric import PART_MIN_M2, PART_MIN_SHARE
from gridmap.core.plans import Band, figures_of, overlap_pairs
from gridmap.core.tiling.geometry import coverage_union
from gridmap.errors import RowProblem
from gridmap.io.polygons import polygons_of

ASSIGNMENT_COLUMNS = ["unit_code", "cell_code", "community_code", "share", "households"]
RESIDUAL_COLUMNS = ["cell_code", "units", "area_drawn_m2", "area_only_drawn_m2",
                    "area_only_units_m2", "households_drawn", "households_units",
                    "households_difference"]  # fmt: skip
SUMMED = ["households", "buildings", "members_full", "members_probationary"]
MAX_LISTED = 10  # units named in one problem about a community left untiled


def assign_units(units: gpd.GeoDataFrame, cells: gpd.GeoDataFrame) -> pd.DataFrame:
    """Each unit in the cell of its own community holding the largest share of its area
    (``None``: its community has no cell).

    A cell's community is the one most of its units' ground lies in. A cell drawn across a
    community border thus keeps its own community's units, and a unit of the neighbouring
    community that lies mostly under it goes to the cell of its own community holding most of
    it, or, if none holds any, to the nearest one: a grid never crosses a community boundary.
    Returns ``ASSIGNMENT_COLUMNS`` in the order of ``units``; ``share`` is the share of the
    unit's area in that cell (0 to 1, rounded to 4 places).
    """
    unit_geoms = np.asarray(units.geometry.values, dtype=object)
    cell_geoms = np.asarray(cells.geometry.values, dtype=object)
    community = units["community_code"].to_numpy(dtype=object)
    pairs = overlap_pairs(unit_geoms, cell_geoms)
    pairs = pairs.assign(community=community[pairs["unit"].to_numpy(dtype=int)])
    by_ground = pairs.groupby(["cell", "community"])["area"].sum().reset_index()
    home = by_ground.sort_values("area", ascending=False, kind="stable").drop_duplicates("cell")
    home_of = pd.Series(home["community"].to_numpy(), index=home["cell"].to_numpy(dtype=int))
    own = pairs[pairs["community"].to_numpy() == home_of.reindex(pairs["cell"]).to_numpy()]
    best = own.sort_values(["unit", "area"], ascending=[True, False], kind="stable").drop_duplicates("unit")  # fmt: skip
    cell = np.full(len(units), -1)
    share = np.zeros(len(units))
    cell[best["unit"].to_numpy(dtype=int)] = best["cell"].to_numpy(dtype=int)
    share[best["unit"].to_numpy(dtype=int)] = best["share"].to_numpy(dtype=float)
    for u in np.flatnonzero((cell < 0) & np.isin(community, home_of.to_numpy())):
        mine = home_of.index[home_of.to_numpy() == community[u]].to_numpy(dtype=int)
        cell[u] = mine[np.argmin(shapely.distance(unit_geoms[u], cell_geoms[mine]))]
    codes = np.append(cells["code"].to_numpy(dtype=object), None)
    return pd.DataFrame({
        "unit_code": units["code"].to_numpy(dtype=object),
        "cell_code": codes[cell],
        "community_code": community,
        "share": np.round(share, 4),
        "households": units["households"].to_numpy(dtype=np.int64),
    })  # fmt: skip


def cells_from_assignment(
    units: gpd.GeoDataFrame, assignment: pd.DataFrame, names: dict | None = None
) -> gpd.GeoDataFrame:
    """The cells of an assignment: each the dissolve of its units, with their summed figures.

    ``assignment`` has ``unit_code`` and ``cell_code`` (units without a cell are left out);
    ``names`` maps cell codes to names (the code where none is given). Columns: code, name,
    community_code (of its first unit), the figures in ``units`` (see ``SUMMED``), units
    (count), geometry. In cell-code order.
    """
    cell_of = dict(zip(assignment["unit_code"], assignment["cell_code"], strict=True))
    cell = units["code"].map(cell_of).to_numpy(dtype=object)
    placed = np.flatnonzero(pd.notna(cell))
    summed = [c for c in SUMMED if c in units]
    columns = ["code", "name", "community_code", *summed, "units", "geometry"]
    if not len(placed):
        return gpd.GeoDataFrame(columns=columns, geometry="geometry", crs=units.crs)
    # cells in code order, each unit's position under its cell: arrays, not a group per cell
    # (the pandas groups cost most of the time with thousands of cells)
    inverse, codes = pd.factorize(pd.Series(cell[placed], dtype=object), sort=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(inverse, minlength=len(codes)))]
    geoms = np.asarray(units.geometry.values, dtype=object)[placed][order]
    dissolved = np.empty(len(codes), dtype=object)
    for k, (i, j) in enumerate(pairwise(bounds)):
        dissolved[k] = coverage_union(geoms[i:j])
    dissolved = np.array([polygons_of(g) for g in dissolved], dtype=object)
    first = placed[order[bounds[:-1]]]  # the first unit of each cell, in the order of ``units``
    frame = {"code": list(codes), "name": [(names or {}).get(c) or c for c in codes],
             "community_code": units["community_code"].to_numpy(dtype=object)[first]}  # fmt: skip
    for c in summed:
        frame[c] = np.bincount(inverse, weights=units[c].to_numpy(dtype=np.int64)[placed], minlength=len(codes)).astype(np.int64)  # fmt: skip
    frame["units"] = np.bincount(inverse, minlength=len(codes))
    return gpd.GeoDataFrame(frame, columns=columns, geometry=dissolved, crs=units.crs)


def residuals(
    units: gpd.GeoDataFrame,
    cells: gpd.GeoDataFrame,
    assignment: pd.DataFrame,
    buildings: gpd.GeoDataFrame,
) -> pd.DataFrame:
    """What a drawn cell and the dissolve of its units disagree on, per cell (``RESIDUAL_COLUMNS``).

    Areas in m²: ground drawn in the cell that its units do not hold, and ground of its units
    outside the drawing; households of the drawing (buildings by representative point, as the
    editor counts) against the sum of its units'. A unit in no cell is a row with no cell code.
    """
    made = cells_from_assignment(units, assignment)
    at = pd.Index(made["code"]).get_indexer(cells["code"])  # -1: a drawn cell given no unit
    drawn_geoms = np.asarray(cells.geometry.values, dtype=object)
    empty = np.array([], dtype=object)
    drawn = figures_of(
        cells["code"].to_numpy(), drawn_geoms, buildings.geometry.values,
        buildings["households"].fillna(0).to_numpy(dtype=np.int64), empty, empty, empty,
        np.array([], dtype=bool), empty, empty, band=Band(), station_radius_m=0.0,
    )  # fmt: skip
    dissolved = np.append(np.asarray(made.geometry.values, dtype=object), shapely.Polygon())[at]
    from_units = np.append(made["households"].to_numpy(dtype=np.int64), 0)[at]
    table = pd.DataFrame({
        "cell_code": cells["code"].to_numpy(dtype=object),
        "units": np.append(made["units"].to_numpy(dtype=np.int64), 0)[at],
        "area_drawn_m2": np.round(shapely.area(drawn_geoms), 1),
        "area_only_drawn_m2": np.round(shapely.area(shapely.difference(drawn_geoms, dissolved)), 1),
        "area_only_units_m2": np.round(shapely.area(shapely.difference(dissolved, drawn_geoms)), 1),
        "households_drawn": drawn["households"].to_numpy(dtype=np.int64),
        "households_units": from_units,
    })  # fmt: skip
    loose = assignment[assignment["cell_code"].isna()]
    if len(loose):
        lost = units[units["code"].isin(loose["unit_code"])]
        table.loc[len(table)] = [None, len(lost), 0.0, 0.0, round(float(lost.area.sum()), 1), 0, int(lost["households"].sum())]  # fmt: skip
    table["households_difference"] = table["households_drawn"] - table["households_units"]
    return table[RESIDUAL_COLUMNS]


def check_assignment(
    table: pd.DataFrame, rows: np.ndarray, units: pd.DataFrame
) -> list[RowProblem]:
    """Every problem of an assignment table, by row and field, with what to do.

    ``table`` has ``unit_code`` and ``cell_code`` (text, as read), ``rows`` the row number the
    user sees for each, ``units`` the fabric's ``code`` and ``community_code``. Every unit must
    exist and be assigned exactly once, every cell must lie in one community, and every unit of
    the fabric must be in the table, so that each community stays tiled.
    """
    problems: list[RowProblem] = []
    unit = table["unit_code"].fillna("").astype(str).str.strip().to_numpy()
    cell = table["cell_code"].fillna("").astype(str).str.strip().to_numpy()
    community = dict(zip(units["code"], units["community_code"], strict=True))
    first: dict[str, int] = {}
    cell_of: dict[str, str] = {}
    for row, u, c in zip(rows, unit, cell, strict=True):
        if not u:
            problems.append(RowProblem(int(row), "unit_code", "单元编号为空：填写单元底图中的单元编号，或删除此行", "no unit code: give a unit code of the fabric, or delete the row"))  # fmt: skip
        elif u not in community:
            problems.append(RowProblem(int(row), "unit_code", f"单元 {u} 不存在：核对编号 (gridmap plan units 导出现有单元)，或先运行 gridmap integrate 更新单元底图", f"unit {u} does not exist: check the code (gridmap plan units lists them), or run gridmap integrate to update the fabric"))  # fmt: skip
        elif u in first:
            problems.append(RowProblem(int(row), "unit_code", f"单元 {u} 已在第 {first[u]} 行分配：每个单元只能分配一次，删除其中一行", f"unit {u} is assigned on row {first[u]} already: a unit goes to one cell only, delete one of the rows"))  # fmt: skip
        else:
            first[u], cell_of[u] = int(row), c
        if not c:
            problems.append(RowProblem(int(row), "cell_code", "网格编号为空：填写该单元所属网格的编号", "no cell code: give the code of the cell the unit goes to"))  # fmt: skip
    problems += _cells_across_communities(first, cell_of, community)
    missing = [u for u in units["code"] if u not in first]
    for code, group in pd.Series(missing, dtype=object).groupby(pd.Series([community[u] for u in missing], dtype=object)):  # fmt: skip
        shown = "、".join(group.iloc[:MAX_LISTED]) + (" …" if len(group) > MAX_LISTED else "")
        problems.append(RowProblem(None, "unit_code", f"社区 {code} 有 {len(group)} 个单元未分配网格 ({shown})：每个单元都要有一行，否则社区会留白", f"{len(group)} unit(s) of community {code} are in no row ({shown.replace('、', ', ')}): every unit needs a row, or the community is left with 留白"))  # fmt: skip
    return problems


def _cells_across_communities(first: dict[str, int], cell_of: dict[str, str], community: dict) -> list[RowProblem]:  # fmt: skip
    """A cell whose units lie in two communities or more, named on the row of its first unit."""
    seen: dict[str, dict[str, int]] = {}
    for u, row in first.items():
        if cell_of.get(u):
            seen.setdefault(cell_of[u], {}).setdefault(community[u], row)
    out = []
    for cell, where in seen.items():
        if len(where) > 1:
            listed = "、".join(f"{c} (第 {r} 行)" for c, r in where.items())
            listed_en = ", ".join(f"{c} (row {r})" for c, r in where.items())
            out.append(RowProblem(max(where.values()), "cell_code", f"网格 {cell} 的单元分属多个社区 {listed}：一个网格只能在一个社区内，给其他社区的单元另设网格编号", f"cell {cell} holds units of several communities {listed_en}: a cell lies in one community, give the units of the others another cell code"))  # fmt: skip
    return out


def compounds_by_community(
    compounds: gpd.GeoDataFrame, communities: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """Compounds as the fabric has them: a compound across a community border as one piece per
    community holding a part of it (the fabric's rule: from ``PART_MIN_SHARE`` of it and over
    ``PART_MIN_M2``; smaller slivers stay with the rest), each with the compound's columns.

    Given to :func:`gridmap.core.plans.cell_figures` in place of the compounds, a compound held
    whole by a cell on each side of the border is whole in both, not cut: as
    :func:`gridmap.core.plans.validate` judges it, a compound across a community border belongs to
    one community's grid in each community (``compound_straddles_community`` is the analysis's
    finding about it).

    >>> import geopandas as gpd
    >>> from shapely import box
    >>> comm = gpd.GeoDataFrame({"code": ["C1", "C2"]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=4544)
    >>> xq = gpd.GeoDataFrame({"code": ["X1", "X2"]}, geometry=[box(2, 2, 14, 8), box(1, 1, 2, 2)], crs=4544)
    >>> pieces = compounds_by_community(xq, comm)
    >>> pieces["code"].tolist(), pieces.area.tolist()
    (['X1', 'X1', 'X2'], [48.0, 24.0, 1.0])
    """
    geoms = np.asarray(compounds.geometry.values, dtype=object)
    areas = np.asarray(communities.geometry.values, dtype=object)
    whole = shapely.area(geoms)
    k, c = shapely.STRtree(areas).query(geoms, predicate="intersects") if len(areas) and len(geoms) else (np.zeros(0, int), np.zeros(0, int))  # fmt: skip
    part = shapely.area(shapely.intersection(geoms[k], areas[c])) if len(k) else np.zeros(0)
    big = (part > PART_MIN_M2) & (part >= PART_MIN_SHARE * whole[k])
    split = np.flatnonzero(np.bincount(k[big], minlength=len(geoms)) > 1)
    if not len(split):
        return compounds
    rows, pieces, across = [], [], set(split.tolist())
    for i in range(len(geoms)):
        if i not in across:
            rows.append(i)
            pieces.append(geoms[i])
            continue
        mine = big & (k == i)
        holders = c[mine][np.argsort(-part[mine], kind="stable")]
        # the other communities' parts; the largest part keeps the rest, slivers included
        others = [shapely.intersection(geoms[i], areas[j]) for j in holders[1:]]
        rows += [i] * len(holders)
        pieces += [shapely.difference(geoms[i], shapely.union_all(areas[holders[1:]])), *others]
    out = compounds.iloc[rows].reset_index(drop=True)
    return out.set_geometry(
        np.array([polygons_of(g) for g in pieces], dtype=object), crs=compounds.crs
    )

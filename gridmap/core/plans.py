"""Draft grid plans (网格调整方案): live figures, validation, snapping fixes and the diff.

Pure functions on GeoDataFrames in one metric CRS (the caller projects). A plan's cells have
``code``, ``name``, ``community_code`` and a polygon geometry; the context layers have the
canonical columns of :mod:`gridmap.layers`.

What a planner sees while drawing:

- :func:`cell_figures` — per cell: households, buildings, compounds whole and cut, members
  full/probationary, stations in reach, and the household band check;
- :func:`validate` — problems a plan must not have: cells overlapping, a cell crossing a
  community boundary, a compound cut by a cell border, ground of a community left to no cell
  (留白); each with its geometry and, where one exists, a one-click fix (one check per rule in
  :mod:`gridmap.core.plan_checks`, the fixes below);
- :func:`snap_compound` — the fix for a cut compound: it goes whole to the cell holding its
  largest share, and leaves the others;
- :func:`diff` — a plan against the current layer: cells added, removed, reshaped, and the
  buildings, households and members that move from one grid to another.

Buildings are placed in cells by a representative point inside their footprint: a building
straddling a drawn border counts once, in the cell holding that point. Members are counted
where they are placed (落位, :func:`gridmap.core.assign.assign_points`): in the cell of their
building, with its households, as every other figure counts them — the placement the analysis
stored when the caller has it (``member_home``, or a ``building_code`` column of the members),
otherwise the same rule applied to the buildings given. A member placed in no building counts in
no cell, wherever their home point lies.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.core.member_homes import cells_of_homes, placed_homes, stored_homes

# the rules a plan must keep live in plan_checks; the editor's routes find them here too
from gridmap.core.plan_checks import PROBLEM_COLUMNS as PROBLEM_COLUMNS
from gridmap.core.plan_checks import overlap_pairs
from gridmap.core.plan_checks import validate as validate

CUT_SHARE = 0.01  # a compound counts as cut when more than 1 % of it lies outside its main cell


@dataclass(frozen=True)
class Band:
    """Households a grid should hold (docs/domain.md: 300–500 in towns, about 200 in villages)."""

    low: int = 300
    high: int = 500

    def check(self, households: int) -> str:
        """``ok``, ``below`` or ``above``.

        >>> Band(300, 500).check(299), Band(300, 500).check(300), Band(300, 500).check(501)
        ('below', 'ok', 'above')
        """
        return "below" if households < self.low else "above" if households > self.high else "ok"


def _points_in(cells: gpd.GeoDataFrame, points: np.ndarray) -> np.ndarray:
    """For each point, the position of the cell containing it (-1 for none; first wins)."""
    return cell_holding(np.asarray(cells.geometry.values, dtype=object), points)


def cell_holding(cell_geoms: np.ndarray, points: np.ndarray) -> np.ndarray:
    """For each point, the position in ``cell_geoms`` of the cell it lies within (-1 for none;
    the first wins where cells overlap)."""
    found = np.full(len(points), -1, dtype=np.int64)
    if len(points) == 0 or len(cell_geoms) == 0:
        return found
    pts, cell = shapely.STRtree(cell_geoms).query(points, predicate="within")
    order = np.argsort(pts, kind="stable")
    pts, cell = pts[order], cell[order]
    first = np.unique(pts, return_index=True)[1]
    found[pts[first]] = cell[first]
    return found


def cell_figures(
    cells: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    compounds: gpd.GeoDataFrame,
    members: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    *,
    band: Band = Band(),
    station_radius_m: float = 1000.0,
) -> pd.DataFrame:
    """Figures of each cell, in the order of ``cells``.

    Columns: code, households, buildings, compounds (codes held whole), compounds_cut (code and
    share inside, e.g. ``XQ017 62%``), members_full, members_probationary, members,
    stations_in_reach (codes), band (ok | below | above).
    """
    full = (members["category"] == "full").to_numpy() if "category" in members else np.zeros(len(members), bool)  # fmt: skip
    return figures_of(
        cells["code"].to_numpy(), cells.geometry.values,
        buildings.geometry.values, buildings["households"].fillna(0).to_numpy(dtype=np.int64),
        compounds["code"].to_numpy(), compounds.geometry.values,
        members.geometry.values, full,
        stations["code"].to_numpy(), stations.geometry.values,
        band=band, station_radius_m=station_radius_m, member_home=stored_homes(buildings, members),
    )  # fmt: skip


def figures_of(
    cell_codes, cell_geoms, building_geoms, households, compound_codes, compound_geoms,
    member_geoms, member_full, station_codes, station_geoms, *, band: Band, station_radius_m: float,
    member_home: np.ndarray | None = None,
) -> pd.DataFrame:  # fmt: skip
    """:func:`cell_figures` on plain arrays (metric coordinates): what the editor calls after
    each edit, without building GeoDataFrames (their overhead is most of a small request).

    ``member_home``: each member's building as a row of ``building_geoms`` (-1: none), as the
    analysis stored it; when not given, members are placed by :func:`placed_homes`."""
    cell_geoms = np.asarray(cell_geoms, dtype=object)
    n = len(cell_geoms)
    at = cell_holding(
        cell_geoms, shapely.point_on_surface(np.asarray(building_geoms, dtype=object))
    )
    households = np.asarray(households, dtype=np.int64)
    hh = np.bincount(at[at >= 0], weights=households[at >= 0], minlength=n).astype(np.int64)
    nb = np.bincount(at[at >= 0], minlength=n)
    if member_home is None:
        member_home = placed_homes(building_geoms, member_geoms)
    home = cells_of_homes(at, np.asarray(member_home, dtype=np.int64))
    full = np.asarray(member_full, dtype=bool)
    mf = np.bincount(home[(home >= 0) & full], minlength=n)
    mp = np.bincount(home[(home >= 0) & ~full], minlength=n)
    shares = overlap_pairs(np.asarray(compound_geoms, dtype=object), cell_geoms)
    codes = np.asarray(compound_codes, dtype=object)
    whole: list[list[str]] = [[] for _ in range(n)]
    cut: list[list[str]] = [[] for _ in range(n)]
    for unit, cell, share in shares[["unit", "cell", "share"]].itertuples(index=False):
        if share >= 1 - CUT_SHARE:
            whole[int(cell)].append(codes[int(unit)])
        elif share > CUT_SHARE:
            cut[int(cell)].append(f"{codes[int(unit)]} {share:.0%}")
    reach: list[list[str]] = [[] for _ in range(n)]
    station_geoms = np.asarray(station_geoms, dtype=object)
    if len(station_geoms) and n:
        s, c = shapely.STRtree(cell_geoms).query(station_geoms, predicate="dwithin", distance=station_radius_m)  # fmt: skip
        scodes = np.asarray(station_codes, dtype=object)
        for si, ci in sorted(zip(s, c, strict=True), key=lambda p: scodes[p[0]]):
            reach[ci].append(scodes[si])
    return pd.DataFrame({
        "code": np.asarray(cell_codes, dtype=object),
        "households": hh,
        "buildings": nb,
        "compounds": [";".join(sorted(w)) for w in whole],
        "compounds_cut": [";".join(sorted(c)) for c in cut],
        "members_full": mf,
        "members_probationary": mp,
        "members": mf + mp,
        "stations_in_reach": [";".join(r) for r in reach],
        "band": [band.check(int(h)) for h in hh],
    })  # fmt: skip


def snap_compound(
    cells: gpd.GeoDataFrame, compound, communities: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """The fix for a cut compound: it goes whole to the cell holding its largest share — each
    part of it in one community to the cell holding most of that part, when ``communities`` are
    given (a compound across a community border stays held by a cell on each side).

    Returns only the cells that changed (a copy), so the editor can apply them.
    """
    cells = cells.reset_index(drop=True)
    new = np.asarray(cells.geometry.values, dtype=object).copy()
    parts = [compound] if communities is None else shapely.intersection(np.asarray(communities.geometry.values), compound)  # fmt: skip
    changed: set[int] = set()
    for part in parts:
        shared = shapely.area(shapely.intersection(new, part))
        if shapely.area(part) == 0 or not (shared > 0).any():
            continue
        main = int(np.argmax(shared))
        for i in np.flatnonzero(shared > 0):
            new[i] = shapely.union(new[i], part) if i == main else shapely.difference(new[i], part)
            changed.add(int(i))
    idx = sorted(changed)
    out = cells.iloc[idx].copy()
    return out.set_geometry(shapely.make_valid(new[idx]), crs=cells.crs)


def _community_of(cell, communities: gpd.GeoDataFrame):
    """The outline of the community holding most of ``cell`` (``None`` when none holds any)."""
    shared = shapely.area(shapely.intersection(np.asarray(communities.geometry.values), cell))
    return communities.geometry.values[int(np.argmax(shared))] if (shared > 0).any() else None


def clip_to_community(cell, communities: gpd.GeoDataFrame):
    """The fix for a cell across a community boundary: keep the part in its main community."""
    community = _community_of(cell, communities)
    return cell if community is None else shapely.intersection(cell, community)


def fill_gap(cells: gpd.GeoDataFrame, gap) -> gpd.GeoDataFrame:
    """The fix for 留白: each gap piece joins the touching cell with the longest shared border.

    Returns the changed cells (a copy); pieces touching no cell are left (and stay a problem).
    """
    cells = cells.reset_index(drop=True)
    geoms = np.asarray(cells.geometry.values, dtype=object).copy()
    changed: set[int] = set()
    for piece in shapely.get_parts(gap):
        near = cells.sindex.query(piece, predicate="dwithin", distance=0.5)
        if len(near) == 0:
            continue
        border = shapely.length(shapely.intersection(shapely.buffer(geoms[near], 0.5), shapely.boundary(piece)))  # fmt: skip
        best = int(near[int(np.argmax(border))])
        geoms[best] = shapely.union(geoms[best], piece)
        changed.add(best)
    idx = sorted(changed)
    out = cells.iloc[idx].copy()
    return out.set_geometry(shapely.make_valid(geoms[idx]), crs=cells.crs)


def diff(
    plan: gpd.GeoDataFrame,
    current: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    members: gpd.GeoDataFrame,
    *,
    tolerance_m2: float = 1.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A plan against the current layer.

    Returns ``cells`` (code, change: added | removed | reshaped, area_before_m2, area_after_m2,
    changed_m2) and ``moves`` (from_code, to_code, buildings, households, members,
    building_codes), one row per pair of cells between which something moves. A move to or from
    no cell has an empty code.
    """
    before = current.set_index("code").geometry
    after = plan.set_index("code").geometry
    rows = []
    for code in sorted(set(before.index) | set(after.index)):
        if code not in before.index:
            rows.append((code, "added", 0.0, float(after[code].area), float(after[code].area)))
        elif code not in after.index:
            rows.append((code, "removed", float(before[code].area), 0.0, float(before[code].area)))
        else:
            changed = float(shapely.area(shapely.symmetric_difference(before[code], after[code])))
            if changed > tolerance_m2:
                rows.append(
                    (code, "reshaped", float(before[code].area), float(after[code].area), changed)
                )
    cells = pd.DataFrame(rows, columns=["code", "change", "area_before_m2", "area_after_m2", "changed_m2"])  # fmt: skip
    reps = shapely.point_on_surface(np.asarray(buildings.geometry.values))
    old_codes = np.append(current["code"].to_numpy(dtype=object), "")
    new_codes = np.append(plan["code"].to_numpy(dtype=object), "")
    old_cell = _points_in(current.reset_index(drop=True), reps)
    new_cell = _points_in(plan.reset_index(drop=True), reps)
    old_at, new_at = old_codes[old_cell], new_codes[new_cell]
    moved = old_at != new_at
    b = pd.DataFrame({"from_code": old_at[moved], "to_code": new_at[moved],
                      "households": buildings["households"].fillna(0).to_numpy()[moved],
                      "code": buildings["code"].to_numpy()[moved]})  # fmt: skip
    # a member moves with the building they are placed in (落位), as its households do
    homes = stored_homes(buildings, members)
    if homes is None:
        homes = placed_homes(buildings.geometry.values, members.geometry.values)
    m_old = old_codes[cells_of_homes(old_cell, homes)]
    m_new = new_codes[cells_of_homes(new_cell, homes)]
    m = pd.DataFrame({"from_code": m_old, "to_code": m_new})
    m = m[m["from_code"] != m["to_code"]].value_counts().rename("members").reset_index()
    moves = b.groupby(["from_code", "to_code"]).agg(
        buildings=("code", "size"), households=("households", "sum"),
        building_codes=("code", lambda s: ";".join(sorted(s))),
    ).reset_index()  # fmt: skip
    moves = moves.merge(m, on=["from_code", "to_code"], how="outer")
    for col in ("buildings", "households", "members"):
        moves[col] = moves[col].fillna(0).astype(int)
    moves["building_codes"] = moves["building_codes"].fillna("")
    columns = ["from_code", "to_code", "buildings", "households", "members", "building_codes"]
    return cells, moves[columns].sort_values(["from_code", "to_code"]).reset_index(drop=True)

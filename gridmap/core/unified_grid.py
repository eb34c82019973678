"""The unified grid (全科网格) built from a base grid layer: the heart of 多网合一 (the whole run,
checks and crosswalk included, is :func:`gridmap.core.integrate.integrate`).

The unified grid nests in community boundaries, never cuts a compound (a compound goes whole to
the cell holding its largest share, and the move is listed) and leaves no 留白 (gap ground joins
the neighbouring cell of the same community with the longest shared border). Cells get codes in
the style of CJ/T 349 (community code + 3-digit sequence), stable across re-runs.

Functions here work in a metric CRS; :func:`gridmap.core.integrate.integrate` converts once.
The cells' geometry is cleaned by :mod:`gridmap.core.cell_geometry`; their households and
members are counted by :func:`gridmap.core.coverage.unified_cell_figures`.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> from gridmap.config import Settings
>>> comm = gpd.GeoDataFrame({"code": ["C1"], "name": ["一社区"]}, geometry=[box(0, 0, 200, 100)], crs=4544)
>>> base = gpd.GeoDataFrame({"code": ["G1", "G2"]}, geometry=[box(0, 0, 90, 100), box(110, 0, 200, 100)], crs=4544)
>>> none = gpd.GeoDataFrame({"code": []}, geometry=[], crs=4544)
>>> cells, moves = unified_grid(comm, none, base, Settings())
>>> cells["code"].tolist(), [round(a) for a in cells.area]  # the 20 m gap joins G1 (equal borders)
(['C1001', 'C1002'], [11000, 9000])
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.config import Settings
from gridmap.core.cell_geometry import TINY_M2, has_ground, snapped_to_grid, without_hairlines
from gridmap.core.crosswalk import sorted_joins
from gridmap.core.pieces import overlay_pieces, piece_positions
from gridmap.core.topology import run_starts, self_pairs, union_by


def _clip_to_communities(
    base: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, min_area: float
) -> gpd.GeoDataFrame:
    """Base cells cut at community borders; one (multi)polygon per (community, base cell)."""
    source = base["source_codes"] if "source_codes" in base else base["code"]
    left = gpd.GeoDataFrame(
        {"source": source.to_numpy()}, geometry=base.geometry.values, crs=base.crs
    )
    right = gpd.GeoDataFrame(
        {"community_code": communities["code"].to_numpy()},
        geometry=communities.geometry.values,
        crs=base.crs,
    )
    pieces = overlay_pieces(left, right)
    # a cell poking a hair across a community border leaves no cell there, only gap ground
    # that the neighbours absorb
    pieces = pieces[has_ground(pieces.geometry.values, min_area)]
    # what dissolve does (one union_all per group, members in row order), unioning the groups
    # of one size in one call
    keys = pieces[["community_code", "source"]].reset_index(drop=True)
    group = keys.groupby(["community_code", "source"], sort=True).ngroup().to_numpy()
    named = group >= 0  # rows without a code are dropped, as groupby does
    geoms = np.asarray(pieces.geometry.values, dtype=object)[named]
    first = np.unique(group[named], return_index=True)[1]
    cells = gpd.GeoDataFrame(
        {
            "community_code": keys["community_code"].to_numpy()[named][first],
            "source": keys["source"].to_numpy()[named][first],
            "geometry": union_by(geoms, group[named], len(first)),
        },
        crs=base.crs,
    )
    return cells.sort_values(["community_code", "source"], kind="stable").reset_index(drop=True)


def _resolve_overlaps(cells: gpd.GeoDataFrame) -> None:
    """Ground claimed by two cells goes to the earlier one (by community, then source code)."""
    geoms = cells.geometry.values.copy()
    # "intersects", not "overlaps": a piece lying wholly inside another cell must go too
    left, right = self_pairs(cells)
    # cells that only touch share no ground, and never will: cells only ever shrink below
    keep = ~shapely.touches(geoms[left], geoms[right])
    for i, j in sorted(zip(left[keep].tolist(), right[keep].tolist(), strict=True)):
        if shapely.area(shapely.intersection(geoms[i], geoms[j])) > TINY_M2:
            geoms[j] = shapely.difference(geoms[j], geoms[i])
    cells.geometry = gpd.GeoSeries(geoms, crs=cells.crs, index=cells.index)


def _longest_border(piece, candidates: np.ndarray, geoms: np.ndarray) -> int | None:
    if not len(candidates):
        return None
    border = shapely.intersection(piece.boundary, shapely.buffer(geoms[candidates], 0.01))
    lengths = shapely.length(border)
    return int(candidates[int(np.argmax(lengths))]) if lengths.max() > 0 else int(candidates[0])


def _longest_borders(pieces: np.ndarray, mine: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """For every piece, the cell of ``mine`` it shares the longest border with (−1: none).

    What :func:`_longest_border` gives each piece, for all pieces of a community in a few
    vectorised calls: every cell is grown by a centimetre once, not once per piece beside it
    (independently digitised grids leave thousands of such pieces along their borders). Ties go
    to the earlier cell, and a piece that only touches its cells to the first of them.
    """
    target = np.full(len(pieces), -1)
    if not len(mine) or not len(pieces):
        return target
    tree = shapely.STRtree(geoms[mine])
    piece, cell = tree.query(shapely.buffer(pieces, 0.01), predicate="intersects")
    if not len(piece):
        return target
    used, at = np.unique(cell, return_inverse=True)
    grown = shapely.buffer(geoms[mine][used], 0.01)
    lengths = shapely.length(shapely.intersection(shapely.boundary(pieces[piece]), grown[at]))
    order = np.lexsort((cell, -lengths, piece))  # by piece, longest first, earlier cell first
    first = run_starts(piece[order])
    target[piece[order][first]] = mine[cell[order][first]]
    return target


def _fill_gaps(cells: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Merge every piece of community ground that no cell holds into its best neighbour."""
    geoms = np.asarray(cells.geometry.values, dtype=object).copy()
    rows = cells.drop(columns="geometry").to_dict("records")
    where: dict = {}  # community code → positions of its cells
    for i, row in enumerate(rows):
        where.setdefault(row["community_code"], []).append(i)
    for code, community in zip(communities["code"], communities.geometry.values, strict=True):
        mine = np.array(where.get(code, []), dtype=int)
        covered = shapely.union_all(geoms[mine]) if len(mine) else shapely.Polygon()
        pieces = shapely.get_parts(shapely.difference(community, covered))
        pieces = pieces[shapely.area(pieces) > TINY_M2]
        target = _longest_borders(pieces, mine, geoms)
        # pieces beside a cell join it, all of a cell's pieces in one union
        joined = np.unique(target[target >= 0])
        if len(joined):
            group = np.searchsorted(joined, target[target >= 0])
            members = np.concatenate([geoms[joined], pieces[target >= 0]])
            index = np.concatenate([np.arange(len(joined)), group])
            geoms[joined] = union_by(members, index, len(joined))
        for piece in pieces[target < 0]:
            mine = np.array(where.get(code, []), dtype=int)
            near = mine[shapely.intersects(geoms[mine], piece.buffer(0.01))] if len(mine) else mine
            found = _longest_border(piece, near, geoms)
            if found is None:
                # ground no cell borders becomes a cell of its own; a unique source keeps it
                # apart from its siblings when the result is integrated again
                rows.append({"community_code": code, "source": f"留白-{code}-{len(mine) + 1}"})
                single = np.empty(1, dtype=object)
                single[0] = piece
                geoms = np.append(geoms, single)
                where.setdefault(code, []).append(len(geoms) - 1)
            else:
                geoms[found] = shapely.union(geoms[found], piece)
    return gpd.GeoDataFrame(rows, geometry=list(geoms), crs=cells.crs)


def _compound_pieces(
    compounds: gpd.GeoDataFrame, communities: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    if compounds.empty:
        return gpd.GeoDataFrame(
            {"compound_code": [], "community_code": []}, geometry=[], crs=compounds.crs
        )
    left = gpd.GeoDataFrame(
        {"compound_code": compounds["code"].to_numpy()},
        geometry=compounds.geometry.values,
        crs=compounds.crs,
    )
    right = gpd.GeoDataFrame(
        {"community_code": communities["code"].to_numpy()},
        geometry=communities.geometry.values,
        crs=compounds.crs,
    )
    pieces = overlay_pieces(left, right)
    return pieces[pieces.area > TINY_M2].reset_index(drop=True)


def _keep_compounds_whole(
    cells: gpd.GeoDataFrame, pieces: gpd.GeoDataFrame, settings: Settings
) -> pd.DataFrame:
    """Give every compound piece wholly to the cell of its community with the largest share."""
    if pieces.empty:
        cells["compounds"] = ""
        return pd.DataFrame(
            columns=["compound_code", "community_code", "from_cell", "to_cell", "area_m2"]
        )
    piece, cell, area, _ = piece_positions(pieces, cells)
    same = pieces["community_code"].to_numpy()[piece] == cells["community_code"].to_numpy()[cell]
    piece, cell, area = piece[same], cell[same], area[same]
    order = np.lexsort((-area, piece))  # by piece, largest area first (stable)
    piece, cell, area = piece[order], cell[order], area[order]
    first = run_starts(piece)
    winner = np.full(len(pieces), -1)
    winner[piece[first]] = cell[first]
    lost = cell != winner[piece]
    geoms = cells.geometry.values.copy()
    piece_geoms = np.asarray(pieces.geometry.values, dtype=object)
    # every cell gives up the pieces it lost, then takes the pieces it won (one call each)
    taken, lost_by = np.unique(cell[lost], return_inverse=True)
    if len(taken):
        given = union_by(piece_geoms[piece[lost]], lost_by.ravel(), len(taken))
        geoms[taken] = shapely.difference(geoms[taken], given)
    gained, won_by = np.unique(cell[first], return_inverse=True)
    if len(gained):
        got = union_by(piece_geoms[piece[first]], won_by.ravel(), len(gained))
        geoms[gained] = shapely.union(geoms[gained], got)
    cells.geometry = gpd.GeoSeries(geoms, crs=cells.crs, index=cells.index)
    codes = pieces["compound_code"].to_numpy()
    held = pd.DataFrame({"cell": cell[first], "code": codes[piece[first]]}).drop_duplicates()
    held = held.sort_values(["cell", "code"], kind="stable")
    # each cell's codes ';'-joined, as a groupby would, without a Python call per cell
    per_cell = pd.Series(sorted_joins(held["cell"], held["code"]), dtype=held["code"].dtype)
    cells["compounds"] = pd.Series(range(len(cells)), index=cells.index).map(per_cell).fillna("")
    moved = lost & (area > settings.overlap_tolerance_m2)
    return pd.DataFrame({
        "compound_code": codes[piece[moved]],
        "community_code": pieces["community_code"].to_numpy()[piece[moved]],
        "from_cell": cell[moved],
        "to_cell": winner[piece[moved]],
        "area_m2": np.round(area[moved], 1),
    })  # fmt: skip


def _assign_codes(
    cells: gpd.GeoDataFrame, previous: gpd.GeoDataFrame | None, settings: Settings
) -> list[str]:
    """Community code + 3-digit sequence; an unchanged cell keeps its previous code."""
    codes: list[str | None] = [None] * len(cells)
    used: dict[str, set[int]] = {}
    if previous is not None and len(previous):
        prev = previous.to_crs(cells.crs)
        left, right = prev.sindex.query(cells.geometry.values, predicate="intersects")
        diff = shapely.area(
            shapely.symmetric_difference(cells.geometry.values[left], prev.geometry.values[right])
        )
        same = cells["community_code"].to_numpy()[left] == prev["community_code"].to_numpy()[right]
        close = (diff <= settings.overlap_tolerance_m2) & same
        for i, j in zip(left[close], right[close], strict=True):
            if codes[i] is None:
                codes[i] = str(prev["code"].iloc[j])
    for code, community in zip(codes, cells["community_code"], strict=True):
        if code and code.startswith(community):
            used.setdefault(community, set()).add(int(code[len(community) :] or 0))
    for i, community in enumerate(cells["community_code"]):
        if codes[i] is None:
            taken = used.setdefault(community, set())
            seq = next(n for n in range(1, 10_000) if n not in taken)
            taken.add(seq)
            codes[i] = f"{community}{seq:03d}"
    return [str(c) for c in codes]


def unified_grid(
    communities: gpd.GeoDataFrame,
    compounds: gpd.GeoDataFrame,
    base: gpd.GeoDataFrame,
    settings: Settings,
    previous: gpd.GeoDataFrame | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The unified cells (metric CRS) and the list of compound moves.

    Cells carry ``code, name, community_code, source_codes, compounds``; figures are added by
    :func:`gridmap.core.coverage.unified_cell_figures`.
    """
    cells = _clip_to_communities(base, communities, settings.gap_tolerance_m2)
    _resolve_overlaps(cells)
    # remnants no bigger than the gap tolerance (or mere hairlines: a cell drawn twice, a few
    # centimetres apart) are gap ground for the neighbours, as in the clip
    cells = cells[has_ground(cells.geometry.values, settings.gap_tolerance_m2)]
    cells = cells.reset_index(drop=True)
    cells = _fill_gaps(cells, communities)
    moves = _keep_compounds_whole(cells, _compound_pieces(compounds, communities), settings)
    cells["position"] = np.arange(len(cells))
    # a cell whittled down by the moves to a remnant joins its neighbour like any gap ground;
    # only those communities are looked at again, as the moves give every piece a cell lost to
    # another cell of its community and so leave no new gap ground anywhere else
    remnant = ~has_ground(cells.geometry.values, settings.gap_tolerance_m2)
    whittled = communities["code"].isin(cells["community_code"][remnant])
    cells = _fill_gaps(cells[~remnant].reset_index(drop=True), communities[whittled])
    cells["geometry"] = snapped_to_grid(cells.geometry.values)
    cells = without_hairlines(cells, settings.gap_tolerance_m2)
    cells["compounds"] = cells["compounds"].fillna("")
    cells = cells.rename(columns={"source": "source_codes"}).sort_values(
        ["community_code", "source_codes"], kind="stable"
    )
    keep = cells["position"].to_numpy()
    cells = cells.reset_index(drop=True)
    cells["code"] = _assign_codes(cells, previous, settings)
    names = dict(
        zip(communities["code"], communities.get("name", communities["code"]), strict=True)
    )
    cells["name"] = [
        f"{names.get(c, c)}全科网格{code[-3:]}"
        for c, code in zip(cells["community_code"], cells["code"], strict=True)
    ]
    position = {old: new for new, old in enumerate(keep)}
    code_of = cells["code"].to_numpy()
    moves["from_code"] = [
        code_of[position[i]] if i in position else "" for i in moves.pop("from_cell")
    ]
    moves["to_code"] = [code_of[position[i]] if i in position else "" for i in moves.pop("to_cell")]
    return cells[["code", "name", "community_code", "source_codes", "compounds", "geometry"]], moves

"""多网合一: one unified grid (全科网格) from a base grid layer (its crosswalk: :mod:`.crosswalk`).

The unified grid nests in community boundaries, never cuts a compound (a compound goes whole to
the cell holding its largest share, and the move is listed) and leaves no 留白 (gap ground joins
the neighbouring cell of the same community with the longest shared border). Cells get codes in
the style of CJ/T 349 (community code + 3-digit sequence), stable across re-runs.

Functions here work in a metric CRS; :func:`gridmap.core.pipeline.integrate` converts once.

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
from gridmap.core.assign import counts_by_placement
from gridmap.core.crosswalk import sorted_joins
from gridmap.core.pieces import overlay_pieces, piece_positions
from gridmap.core.topology import mean_width, run_starts, self_pairs, union_by
from gridmap.io.geometry import polygonal

TINY_M2 = 1e-4  # numeric dust from overlay; anything larger is ground someone must own
GRID_M = 1e-6  # cells are snapped to the micrometre: ~1000 × the float noise of metric coordinates
# a cell, or a part of one, narrower than this on average (2 × area / perimeter) is a hairline:
# layers digitised independently leave them along every border they nearly share (centimetres
# apart, or 1e-9 degree). The files hold 7 decimals of a degree (~1 cm): there a hairline
# collapses to a line, and a cell with one is written as a GeometryCollection, or as a line
HAIRLINE_M = 0.05


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
    pieces = pieces[_has_ground(pieces.geometry.values, min_area)]
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


def _has_ground(geoms, min_area: float) -> np.ndarray:
    """True for the cells (or pieces) that can be cells: area above ``min_area``, no hairline."""
    return (shapely.area(geoms) > min_area) & (mean_width(geoms) >= HAIRLINE_M)


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


def _snapped_to_grid(geoms: np.ndarray) -> np.ndarray:
    """Cells on a ``GRID_M`` grid, valid, polygonal, with nothing thinner than the grid left.

    Cells and communities drawn on the same lines meet only up to float noise (~1e-9 m): the
    difference and unions above then leave zero-width spikes along such borders, valid by a
    nanometre and self-intersecting once reprojected to the storage CRS. Snap-rounding (GEOS)
    removes them and moves every other vertex by less than a micrometre.

    The cells come back measured in floating point again, their coordinates staying on the grid:
    GEOS would otherwise snap-round every later overlay of a cell to that grid as well (the
    crosswalk, buildings in cells), at about four times the cost, for areas that differ by well
    under a square millimetre. It is also what a cell read back from WKB (pickled, stored) is.
    """
    snapped = shapely.set_precision(shapely.make_valid(geoms), GRID_M)
    # make_valid may leave a polygon and a line; a cell keeps its polygons
    odd = ~np.isin(shapely.get_type_id(snapped), (3, 6))
    snapped[odd] = polygonal(snapped[odd])
    return shapely.set_precision(snapped, 0.0, mode="pointwise")


def _without_hairlines(cells: gpd.GeoDataFrame, min_area: float) -> gpd.GeoDataFrame:
    """Every cell without its hairline parts; none is left with less than ``min_area``.

    Gap ground and compound pieces joined to a cell that they lie a hair's breadth from (not on)
    stay apart from it, as parts of their own, as thin as that hair. Such a part goes to the cell
    of its community along which it lies (the longest border, within a centimetre) when it
    joins that cell without a new part; otherwise its ground (narrower than ``HAIRLINE_M``)
    stays with no cell, as the files could not hold it anyway. Cells left with no more than
    ``min_area`` (only possible for a cell that was hairlines) are dropped.
    """
    geoms = np.asarray(cells.geometry.values, dtype=object).copy()
    parts, owner = shapely.get_parts(geoms, return_index=True)
    thin = (mean_width(parts) < HAIRLINE_M) | (shapely.area(parts) <= TINY_M2)
    if not thin.any():
        return cells
    broken = np.unique(owner[thin])
    kept = parts[~thin]
    held = owner[~thin]
    for i in broken:
        mine = kept[held == i]
        geoms[i] = shapely.MultiPolygon(list(mine)) if len(mine) else shapely.MultiPolygon()
    community = cells["community_code"].to_numpy()
    changed = np.zeros(len(geoms), dtype=bool)
    tree = shapely.STRtree(geoms)
    for part, i in zip(parts[thin], owner[thin], strict=True):
        near = tree.query(shapely.buffer(part, 0.01), predicate="intersects")
        near = near[(community[near] == community[i]) & ~shapely.is_empty(geoms[near])]
        if not len(near) or shapely.area(part) <= TINY_M2:
            continue
        border = shapely.length(
            shapely.intersection(part.boundary, shapely.buffer(geoms[near], 0.01))
        )
        target = int(near[int(np.argmax(border))])
        joined = shapely.union(geoms[target], part)
        if shapely.get_num_geometries(joined) <= shapely.get_num_geometries(geoms[target]):
            geoms[target] = joined
            changed[target] = True
    changed[broken] = True
    geoms[changed] = polygonal(shapely.make_valid(geoms[changed]))
    keep = pd.notna(geoms)
    keep[keep] = shapely.area(geoms[keep].astype(object)) > min_area
    out = cells.copy()
    out["geometry"] = gpd.GeoSeries(geoms, index=cells.index, crs=cells.crs)
    return out[keep].reset_index(drop=True)


def in_storage_crs(cells: gpd.GeoDataFrame, crs="EPSG:4326") -> gpd.GeoDataFrame:
    """The cells in the CRS they are stored and exported in, valid there as well.

    A straight edge in metres is slightly curved in degrees (millimetres over a kilometre), so a
    vertex within that distance of its own cell's edge can cross it once reprojected; such a
    cell is repaired there (made valid, its polygons kept).
    """
    out = cells.to_crs(crs)
    broken = ~shapely.is_valid(out.geometry.values)
    if broken.any():
        geoms = out.geometry.values.copy()
        geoms[broken] = polygonal(shapely.make_valid(geoms[broken]))
        out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs))
    return out


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
    :func:`cell_figures`.
    """
    cells = _clip_to_communities(base, communities, settings.gap_tolerance_m2)
    _resolve_overlaps(cells)
    # remnants no bigger than the gap tolerance (or mere hairlines: a cell drawn twice, a few
    # centimetres apart) are gap ground for the neighbours, as in the clip
    cells = cells[_has_ground(cells.geometry.values, settings.gap_tolerance_m2)]
    cells = cells.reset_index(drop=True)
    cells = _fill_gaps(cells, communities)
    moves = _keep_compounds_whole(cells, _compound_pieces(compounds, communities), settings)
    cells["position"] = np.arange(len(cells))
    # a cell whittled down by the moves to a remnant joins its neighbour like any gap ground;
    # only those communities are looked at again, as the moves give every piece a cell lost to
    # another cell of its community and so leave no new gap ground anywhere else
    remnant = ~_has_ground(cells.geometry.values, settings.gap_tolerance_m2)
    whittled = communities["code"].isin(cells["community_code"][remnant])
    cells = _fill_gaps(cells[~remnant].reset_index(drop=True), communities[whittled])
    cells["geometry"] = _snapped_to_grid(cells.geometry.values)
    cells = _without_hairlines(cells, settings.gap_tolerance_m2)
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


def cell_figures(
    cells: gpd.GeoDataFrame,
    building_cells: pd.Series,
    households: pd.Series,
    placed: pd.DataFrame,
) -> gpd.GeoDataFrame:
    """Add n_buildings, households, members_full and members_probationary to unified cells.

    ``building_cells`` is each building's cell (from the hierarchy), ``households`` its count;
    ``placed`` every member's placement (:func:`gridmap.core.assign.place_members`). A member
    counts in the cell of their building, as its households do (a member snapped to a building
    across a cell border counts on the building's side; one placed nowhere counts in no cell),
    so the cells hold the members the unit figures give their grid.
    """
    out = cells.copy()
    table = pd.DataFrame({"cell": building_cells.to_numpy(), "households": households.to_numpy()})
    per_cell = table.groupby("cell").agg(
        n_buildings=("cell", "size"), households=("households", "sum")
    )
    out["n_buildings"] = out["code"].map(per_cell["n_buildings"]).fillna(0).astype(int)
    out["households"] = out["code"].map(per_cell["households"]).fillna(0).astype(int)
    counts = counts_by_placement(placed, building_cells.to_numpy(dtype=object))
    for value, column in (("full", "members_full"), ("probationary", "members_probationary")):
        out[column] = out["code"].map(counts[value]).fillna(0).astype(int)
    out["area_m2"] = out.area.round(1)
    return out

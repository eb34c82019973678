"""Automatic grid proposal (自动划分网格建议): compounds grouped into grids of 300–500 households.

A draft a planner starts from, never a decision. Per community, independently:

1. **Units** (划分单元): every compound (小区) with the households of its buildings (by largest
   area share, as :mod:`gridmap.core.hierarchy` places them); buildings in no compound form one
   unit per cluster of neighbouring buildings (楼院, :func:`gridmap.core.groups.clusters`).
2. **Territories** (辖区): digitised compounds rarely touch — roads lie between them — so the
   community is first partitioned among its units: a Voronoi diagram of points sampled along
   every unit's outline, dissolved per unit and clipped to the community. Each unit keeps its own
   ground whole; roads and open ground go to the nearest unit; pieces cut off from their unit join
   the neighbour with the longest shared border (as 多网合一 does with gap ground). Territories
   tile the community, so the cells made of them do too, with no 留白, and adjacency is a shared
   border of at least ``MIN_BORDER_M`` (rook; a corner is not a border, so a cell is one polygon).
3. **Regions** (分区): max-p regions (Duque, Anselin & Rey 2012; the heuristic of Wei, Rey &
   Knaap 2020 that spopt implements): regions grown from units in random order until they reach
   the floor, units left over (enclaves) given to a neighbouring region, the construction with
   the most regions kept (then the most compact), then a local search that moves border units
   where that makes regions more compact. Max-p fits the rule better than the other
   regionalisations: it finds the number of grids itself (the most cells that each reach the
   floor, so cells sit near the floor and rarely pass the ceiling), where SKATER, AZP, Ward or
   region k-means need that number given, and SKATER's tree cuts make long, thin cells.

   It is written here rather than called from :class:`spopt.region.MaxPHeuristic` (spopt 0.7):
   (a) spopt's annealing never ends when no movable unit borders another region — three
   compounds of 200 households in a row and a floor of 300 are enough (pysal/spopt#506, fixed
   after 0.7.0); (b) it knows no ceiling; (c) on one community of 2,000 compounds its solve alone
   takes 4–9 times as long as this whole proposal, most of it in a local search that rebuilds
   sparse matrices for every candidate move (``benchmarks/bench_propose.py`` compares the two on
   the same units). Here regions grow towards the free neighbour nearest their centroid that
   keeps them under the ceiling, enclaves go to the nearest region with room, and moves never
   push a region over the ceiling.

   A region still above the ceiling is cut in two along a spanning tree of its units (the minimum
   spanning tree of centroid distances first, for compact parts; seeded random trees next), the
   part cut off within the band and the rest at least at the floor, again until it fits; a region
   too small to cut in two hands border units to neighbouring regions that have room. Same inputs
   and ``seed``, same proposal (a ``numpy.random.Generator`` of its own; NumPy's global one is
   left alone).

What cannot be satisfied is reported, never hidden (``PROBLEM_KINDS``): a compound above the
ceiling becomes a cell of its own; a community below the floor becomes one cell; ground or units
with no neighbour (an exclave, 飞地) are joined to the nearest unit (the cell is then not one
polygon); units hemmed in by compounds above the ceiling that cannot reach the floor form a cell of
their own; a region no cut or move brings under the ceiling stays as it is. Inputs in one metric
CRS.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> comm = gpd.GeoDataFrame({"code": ["C1"], "name": ["一社区"]}, geometry=[box(0, 0, 400, 100)], crs=4544)
>>> xq = gpd.GeoDataFrame({"code": ["X1", "X2", "X3", "X4"]},
...                       geometry=[box(10 + 100 * i, 10, 90 + 100 * i, 90) for i in range(4)], crs=4544)
>>> ld = gpd.GeoDataFrame({"code": ["B1", "B2", "B3", "B4"], "households": [200, 150, 180, 170]},
...                       geometry=[box(20 + 100 * i, 20, 80 + 100 * i, 80) for i in range(4)], crs=4544)
>>> result = propose_grids(xq, ld, comm)
>>> result.cells[["code", "name", "households", "compounds"]].values.tolist()
[['C1001', '一社区第1网格', 350, 'X1;X2'], ['C1002', '一社区第2网格', 350, 'X3;X4']]
>>> len(result.problems)
0
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components, minimum_spanning_tree

from gridmap.core.groups import clusters
from gridmap.core.topology import piece_shares
from gridmap.errors import CRSError, GridmapError, NotFoundError

SAMPLE_SPACING_M = 20.0  # outline points of the territory diagram: finer only costs time
MIN_BORDER_M = 1.0  # a shared border shorter than this is a corner, not a neighbour
DUST_M2 = 1e-3  # numeric dust of overlays; larger pieces are ground someone must own
FUZZ_M = 1e-4  # borders this close count as shared (overlays leave them not noded alike) …
GRID_M = 1e-3  # … and the union of a cell snaps to this grid, so such borders close up
SMOOTHING_M = 10.0  # territory borders are straightened within this (Visvalingam–Whyatt)
JITTER_M = 1e-3  # breaks the co-circular points of regular outlines that GEOS's Voronoi mishandles
SPLIT_TREES = 8  # spanning trees tried when cutting a region above the ceiling
MAXP_CONSTRUCTIONS = 30  # tried per group of units; the most regions, then most compact, wins
IMPROVE_SWEEPS = 20  # local-search sweeps at most (they stop earlier when no move helps)

PROBLEM_KINDS: dict[str, str] = {
    "over_ceiling": "小区户数超过上限，单独划为一个网格",
    "under_floor": "社区总户数不足下限，整个社区划为一个网格",
    "floor_not_reached": "只与超上限小区相邻的单元凑不足下限，单独成格",
    "ceiling_exceeded": "网格户数超过上限，找不到可行的拆分或调整",
    "island": "与社区其余部分不相邻 (飞地)，并入最近的单元",
    "compound_within_compound": "小区与另一小区重复或位于其内，随其划入网格",
    "compound_straddles_community": "小区跨社区，按最大占比归入一个社区",
    "compound_outside_community": "小区不在任何社区内，未划入网格",
    "building_outside_community": "楼栋不在任何小区和社区内，未划入网格",
}
PROBLEM_COLUMNS = ["kind", "community_code", "cell_code", "codes", "measure", "message_zh", "message_en"]  # fmt: skip


@dataclass
class Proposal:
    """A proposed grid (网格划分建议) and what it could not satisfy.

    ``cells``: code, name, community_code, households, compounds (";"-joined), loose_buildings
    (buildings in no compound, ";"-joined), geometry. ``units``: every compound or cluster of loose
    buildings with its territory (辖区) and cell_code. ``problems``: ``PROBLEM_COLUMNS``.
    """

    cells: gpd.GeoDataFrame
    units: gpd.GeoDataFrame
    problems: pd.DataFrame


@dataclass
class _Note:
    kind: str
    community: str | None
    units: list[int]  # positions in the unit frame; the cell is the one holding the first
    measure: float
    codes: str = ""  # for notes about things outside every unit
    cell: int | None = None
    near: int | None = None  # the unit an island was joined to
    ground: bool = False  # an exclave with no unit of its own


def propose_grids(
    compounds: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    *,
    floor: int = 300,
    ceiling: int = 500,
    seed: int = 0,
    community: str | None = None,
) -> Proposal:
    """Group compounds into contiguous, compact grids of ``floor``–``ceiling`` households.

    Parameters
    ----------
    compounds, buildings, communities : GeoDataFrame
        Layers with the columns of :mod:`gridmap.layers`, in one metric CRS.
    floor, ceiling : int
        The household band of a grid (``settings.grid_households_min`` / ``_max``).
    seed : int
        Same inputs and seed, same proposal.
    community : str, optional
        Propose for this community only; pass every community all the same, so that compounds
        are placed by their largest share among all of them.

    Returns
    -------
    Proposal
        Cells coded community code + 3-digit sequence in reading order (north-west first), named
        「XX社区第N网格」; every unit's territory; the problems (see ``PROBLEM_KINDS``).
    """
    _check(compounds, buildings, communities, floor, ceiling)
    units, notes = _units(compounds, buildings, communities)
    seeds, households = units.geometry.values, units["households"].to_numpy()
    territory = np.full(len(units), None, dtype=object)
    cell_of = np.full(len(units), -1)
    cells: list[dict] = []
    chosen = communities if community is None else communities[communities["code"] == community]
    if community is not None and chosen.empty:
        raise NotFoundError(f"没有社区 {community}。", f"No community {community}.")
    for code, area in zip(chosen["code"], chosen.geometry.values, strict=True):
        mine = np.flatnonzero(units["community_code"].to_numpy() == code)
        if not len(mine):
            cells.append({"community_code": code, "geometry": area})
            notes.append(_Note("under_floor", code, [], 0.0, cell=len(cells) - 1))
            continue
        terr, detached = _territories(area, _disjoint(seeds[mine]))
        graph, islands = _join_islands(_adjacency(terr), seeds[mine])
        centres = shapely.centroid(np.where(shapely.is_empty(terr), seeds[mine], terr))
        xy = shapely.get_coordinates(centres)
        labels, found = _regions(households[mine], graph, xy, floor, ceiling, seed)
        territory[mine], cell_of[mine] = terr, len(cells) + labels
        for r in range(labels.max() + 1):
            cells.append({"community_code": code, "geometry": _union(terr[labels == r], area)})
        notes += [_Note(k, code, list(mine[u]), m) for k, u, m in found]
        notes += [_Note("compound_within_compound" if shapely.is_empty(terr[u]).all() else "island",
                        code, list(mine[u]), d, near=mine[v]) for u, v, d in islands]  # fmt: skip
        notes += [_Note("island", code, [mine[u]], a, ground=True) for u, a in detached]
    frame = _cell_frame(cells, cell_of, units, communities)
    codes = frame["code"].to_numpy()
    if community is not None:  # what lies in other communities, or in none, is not asked about
        notes = [n for n in notes if n.community == community]
    problems = _problems(notes, codes, units, cell_of, floor, ceiling)
    units = units.assign(cell_code=np.where(cell_of >= 0, codes[cell_of], None))
    units = units.set_geometry(gpd.GeoSeries(territory, crs=units.crs, index=units.index))
    units = units[cell_of >= 0].reset_index(drop=True)
    return Proposal(frame.sort_values("code", ignore_index=True), units, problems)


def _check(compounds, buildings, communities, floor: int, ceiling: int) -> None:
    crs = {str(f.crs) for f in (compounds, buildings, communities)}
    if len(crs) != 1 or communities.crs is None or not communities.crs.is_projected:
        raise CRSError(
            f"自动划分网格需要同一个米制坐标系的图层，收到: {', '.join(sorted(crs))}。",
            f"Proposing grids needs all layers in one metric CRS; got: {', '.join(sorted(crs))}.",
        )
    if not 0 < floor <= ceiling:
        raise GridmapError(
            f"网格户数下限 {floor} 和上限 {ceiling} 不合理 (需 0 < 下限 ≤ 上限)。",
            f"Household floor {floor} and ceiling {ceiling} make no band (need 0 < floor ≤ ceiling).",
        )


# --- units: compounds and clusters of loose buildings, each in one community ---------------


def _largest_share(children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame):
    """Each child's parent position by largest area share (-1: none) and that share."""
    parent, share = np.full(len(children), -1), np.zeros(len(children))
    if len(children) and len(parents):

        def numbered(f):  # positions, not codes: duplicate codes are a finding, not a crash
            return gpd.GeoDataFrame(
                {"code": np.arange(len(f))}, geometry=f.geometry.values, crs=f.crs
            )

        shares = piece_shares(numbered(children), numbered(parents))
        shares = shares.sort_values(["child", "area"], ascending=[True, False], kind="stable")
        shares = shares.drop_duplicates("child")
        parent[shares["child"].to_numpy(dtype=int)] = shares["parent"].to_numpy(dtype=int)
        share[shares["child"].to_numpy(dtype=int)] = shares["share"].to_numpy(dtype=float)
    return parent, share


def _units(compounds, buildings, communities) -> tuple[gpd.GeoDataFrame, list[_Note]]:
    """Compounds (clipped to their community) and clusters of loose buildings, with households."""
    notes: list[_Note] = []
    areas, comm_codes = communities.geometry.values, communities["code"].to_numpy()
    households = buildings["households"].fillna(0).to_numpy(dtype=np.int64)
    home, share = _largest_share(compounds, communities)
    in_compound, _ = _largest_share(buildings, compounds)
    held = in_compound >= 0
    per_compound = np.bincount(in_compound[held], households[held], minlength=len(compounds))
    codes = compounds["code"].astype(str).to_numpy()
    rows = []
    for i in np.flatnonzero(home < 0):
        notes.append(_Note("compound_outside_community", None, [], float(per_compound[i]), codes=codes[i]))  # fmt: skip
    for i in np.flatnonzero(home >= 0):
        seed = compounds.geometry.values[i]
        if share[i] < 1.0:
            seed = _polygonal(shapely.intersection(seed, areas[home[i]]))
            if shapely.area(compounds.geometry.values[i]) - shapely.area(seed) > 1.0:
                notes.append(_Note("compound_straddles_community", comm_codes[home[i]], [len(rows)], round(1 - share[i], 4)))  # fmt: skip
        rows.append({"code": codes[i], "kind": "compound", "community_code": comm_codes[home[i]],
                     "households": int(per_compound[i]), "compounds": codes[i], "loose_buildings": "",
                     "geometry": seed})  # fmt: skip
    loose = buildings[~held]
    where, _ = _largest_share(loose, communities)
    b_codes = loose["code"].astype(str).to_numpy()
    for i in np.flatnonzero(where < 0):
        notes.append(_Note("building_outside_community", None, [], float(households[~held][i]), codes=b_codes[i]))  # fmt: skip
    for c in np.unique(where[where >= 0]):
        mine = np.flatnonzero(where == c)
        for group in np.unique(label := clusters(loose.iloc[mine])):
            members = mine[label == group]
            rows.append({"code": b_codes[members[0]], "kind": "buildings", "community_code": comm_codes[c],
                         "households": int(households[~held][members].sum()), "compounds": "",
                         "loose_buildings": ";".join(b_codes[members]),
                         "geometry": _polygonal(shapely.intersection(shapely.union_all(loose.geometry.values[members]), areas[c]))})  # fmt: skip
    columns = ["code", "kind", "community_code", "households", "compounds", "loose_buildings", "geometry"]  # fmt: skip
    return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=communities.crs), notes


def _polygonal(geom):
    """The polygons of an overlay result: no lines or points where shapes only touch, and no dust
    (pieces or holes of ``DUST_M2`` or less, left where two borders are not noded alike)."""
    if geom.geom_type == "Polygon" and not len(geom.interiors) and geom.area > DUST_M2:
        return geom
    parts = shapely.get_parts(shapely.get_parts(geom))  # a collection may hold multipolygons
    kept = [
        shapely.Polygon(p.exterior, [r for r in p.interiors if shapely.Polygon(r).area > DUST_M2])
        for p in parts
        if p.geom_type == "Polygon" and p.area > DUST_M2
    ]
    if len(kept) > 1:
        return shapely.union_all(kept)
    return kept[0] if kept else shapely.Polygon()


def _union(geoms: np.ndarray, area):
    """The union of territories as one cell, hairline seams closed, inside the community."""
    return _polygonal(shapely.intersection(shapely.union_all(geoms, grid_size=GRID_M), area))


def _coverage_union(geoms: np.ndarray):
    """The union of polygons that tile without overlap (fast), or the general one if they do not."""
    try:
        return shapely.coverage_union_all(geoms)
    except shapely.errors.GEOSException:
        return shapely.union_all(geoms)


def _disjoint(seeds: np.ndarray) -> np.ndarray:
    """Overlapping units (a digitising error) give the shared ground to the earlier one."""
    seeds = seeds.copy()
    # "intersects", not "overlaps": a duplicate or a compound drawn inside another must go too
    left, right = shapely.STRtree(seeds).query(seeds, predicate="intersects")
    for i, j in sorted(zip(left, right, strict=True)):
        if i < j and shapely.area(shapely.intersection(seeds[i], seeds[j])) > DUST_M2:
            seeds[j] = _polygonal(shapely.difference(seeds[j], seeds[i]))
    return seeds


# --- territories and adjacency -------------------------------------------------------------


def _territories(area, seeds: np.ndarray) -> tuple[np.ndarray, list[tuple[int, float]]]:
    """The community partitioned among its units (nearest outline wins); detached ground."""
    solid = np.flatnonzero(~shapely.is_empty(seeds))
    terr = np.array([shapely.Polygon()] * len(seeds), dtype=object)
    if len(solid) <= 1:
        terr[solid[0] if len(solid) else 0] = area
        return terr, []
    origin = np.asarray(shapely.centroid(area).coords[0])  # GEOS's Voronoi is exact near 0
    outline = shapely.segmentize(shapely.boundary(seeds[solid]), SAMPLE_SPACING_M)
    coords, owner = shapely.get_coordinates(outline, return_index=True)
    coords, first = np.unique(coords - origin, axis=0, return_index=True)
    coords += np.random.default_rng(0).uniform(-JITTER_M, JITTER_M, coords.shape)
    frame = shapely.transform(area, lambda c: c - origin)
    diagram = shapely.voronoi_polygons(shapely.multipoints(coords), extend_to=frame, ordered=True)
    cells = shapely.transform(shapely.get_parts(diagram), lambda c: c + origin)
    owner = solid[owner[first]]
    order = np.argsort(owner, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(owner, minlength=len(seeds)))]
    for i in solid:
        terr[i] = _coverage_union(cells[order[bounds[i] : bounds[i + 1]]])
    terr = np.array([_polygonal(g) for g in shapely.intersection(terr, area)], dtype=object)
    # straighten the zigzag between outline points; the community border stays exact
    with contextlib.suppress(shapely.errors.GEOSException):
        terr = shapely.coverage_simplify(terr, SMOOTHING_M, simplify_boundary=False)
    _give_seeds_back(terr, seeds)
    return terr, _reattach_cut_off(terr, seeds)


def _give_seeds_back(terr: np.ndarray, seeds: np.ndarray) -> None:
    """A unit's own ground is its own, even where a neighbour's outline point was nearer."""
    t, s = shapely.STRtree(seeds).query(terr, predicate="intersects")
    t, s = t[t != s], s[t != s]
    hit = shapely.area(shapely.intersection(terr[t], seeds[s])) > DUST_M2
    for i in np.unique(t[hit]):
        terr[i] = _polygonal(
            shapely.difference(terr[i], shapely.union_all(seeds[s[hit & (t == i)]]))
        )
    for j in np.unique(s[hit]):
        terr[j] = _polygonal(shapely.union(terr[j], seeds[j]))


def _reattach_cut_off(terr: np.ndarray, seeds: np.ndarray) -> list[tuple[int, float]]:
    """Pieces of a territory cut off from their unit join the neighbour with the longest border."""
    detached = []
    for i in np.flatnonzero(shapely.get_num_geometries(terr) > 1):
        parts = shapely.get_parts(terr[i])
        own = shapely.area(shapely.intersection(parts, seeds[i])) > DUST_M2
        if not own.any():
            own[np.argmax(shapely.area(parts))] = True
        terr[i] = shapely.union_all(parts[own])
        for piece in parts[~own]:
            touching = np.flatnonzero(shapely.intersects(terr, piece.buffer(FUZZ_M)))
            touching = touching[touching != i]
            border = shapely.length(
                shapely.intersection(piece.boundary, shapely.buffer(terr[touching], FUZZ_M))
            )
            if len(touching) and border.max() > 0:
                j = touching[np.argmax(border)]
                terr[j] = _polygonal(shapely.union(terr[j], piece))
            else:  # ground no other unit borders stays with the nearest (the Voronoi owner)
                terr[i] = shapely.union(terr[i], piece)
                if piece.area > 1.0:
                    detached.append((i, float(piece.area)))
    return detached


def _adjacency(terr: np.ndarray):
    """Rook adjacency of territories as a CSR matrix of shared border lengths (m)."""
    n = len(terr)
    left, right = shapely.STRtree(terr).query(terr, predicate="intersects")
    left, right = left[left < right], right[left < right]
    edges = shapely.boundary(terr)
    length = shapely.length(shapely.intersection(edges[left], edges[right]))
    fuzzy = length < MIN_BORDER_M  # borders not noded alike after the overlays
    length[fuzzy] = shapely.length(
        shapely.intersection(edges[left[fuzzy]], shapely.buffer(terr[right[fuzzy]], FUZZ_M))
    )
    keep = length >= MIN_BORDER_M
    left, right, length = left[keep], right[keep], length[keep]
    graph = coo_matrix(
        (np.r_[length, length], (np.r_[left, right], np.r_[right, left])), shape=(n, n)
    )
    graph = graph.tocsr()
    graph.sort_indices()
    return graph


def _join_islands(graph, seeds: np.ndarray):
    """Connect every group of units with no neighbour outside it to the nearest other unit."""
    islands = []
    n_parts, part = connected_components(graph, directed=False)
    graph = graph.tolil()
    while n_parts > 1:
        sizes = np.bincount(part)
        inside = np.flatnonzero(part == np.argmin(sizes))
        outside = np.flatnonzero(part != np.argmin(sizes))
        (a, b), dist = shapely.STRtree(seeds[outside]).query_nearest(
            seeds[inside], return_distance=True, all_matches=False
        )
        k = int(np.argmin(dist)) if len(dist) else None
        u, v = (inside[a[k]], outside[b[k]]) if k is not None else (inside[0], outside[0])
        graph[u, v] = graph[v, u] = 1e-6  # no border: a tie to the nearest unit
        islands.append(
            (np.flatnonzero(part == part[u]), v, float(dist[k]) if k is not None else 0.0)
        )
        n_parts, part = connected_components(graph.tocsr(), directed=False)
    graph = graph.tocsr()
    graph.sort_indices()
    return graph, islands


# --- regions: max-p for the floor, cuts and moves for the ceiling --------------------------


def _regions(households, graph, xy, floor: int, ceiling: int, seed: int):
    """Region label of every unit (0, 1, …) and notes ``(kind, unit positions, measure)``."""
    n = len(households)
    if households.sum() < floor:
        return np.zeros(n, dtype=int), [("under_floor", np.arange(n), float(households.sum()))]
    labels = np.full(n, -1)
    big = np.flatnonzero(households > ceiling)
    labels[big] = np.arange(len(big))
    notes = [("over_ceiling", np.array([i]), float(households[i])) for i in big]
    rest = np.flatnonzero(households <= ceiling)
    n_parts, part = connected_components(graph[rest][:, rest], directed=False)
    rng = np.random.default_rng(seed)
    pockets = []
    for p in range(n_parts):
        idx = rest[part == p]
        hh, sub = households[idx], graph[idx][:, idx]
        if hh.sum() < floor:
            pockets.append(idx)
            continue
        local = _maxp(hh, sub, xy[idx], floor, ceiling, rng) if hh.sum() >= 2 * floor else np.zeros(len(idx), dtype=int)  # fmt: skip
        local, over = _fit_ceiling(local, hh, sub, xy[idx], floor, ceiling, rng)
        labels[idx] = labels.max() + 1 + local
        notes += [("ceiling_exceeded", idx[local == r], float(hh[local == r].sum())) for r in over]
    for idx in pockets:  # units hemmed in by compounds above the ceiling
        rows = graph[idx].tocoo()
        border = pd.Series(rows.data).groupby(labels[rows.col]).sum().drop(-1, errors="ignore")
        if households[idx].sum() == 0 and len(border):
            labels[idx] = border.idxmax()
        else:
            labels[idx] = labels.max() + 1
            notes.append(("floor_not_reached", idx, float(households[idx].sum())))
    return labels, notes


def _maxp(households, graph, xy, floor: int, ceiling: int, rng) -> np.ndarray:
    """Max-p regions of one connected group of units (the best of ``MAXP_CONSTRUCTIONS``), improved."""
    neighbours = np.split(graph.indices, graph.indptr[1:-1])
    best, best_key = None, None
    for _ in range(MAXP_CONSTRUCTIONS):
        labels = _construct(households, neighbours, xy, floor, ceiling, rng)
        key = (-(labels.max() + 1), _dispersion(labels, xy))
        if best_key is None or key < best_key:
            best, best_key = labels, key
    return _improve(best, households, neighbours, xy, floor, ceiling)


def _dispersion(labels, xy) -> float:
    """Sum of squared distances of unit centroids to their region's centroid (smaller: compact)."""
    count = np.bincount(labels)
    centre = np.stack([np.bincount(labels, xy[:, d]) / count for d in (0, 1)], 1)
    return float(((xy - centre[labels]) ** 2).sum())


def _construct(households, neighbours, xy, floor: int, ceiling: int, rng) -> np.ndarray:
    """One max-p construction: regions grown from units in random order until they reach the floor.

    A region takes the free neighbour nearest its centroid that keeps it under the ceiling (any
    nearest one if none does); units of a region that cannot reach the floor are enclaves, given
    afterwards to the neighbouring region with room nearest to them.
    """
    labels, free = np.full(len(households), -1), np.ones(len(households), dtype=bool)
    grown = []
    for seed_unit in rng.permutation(len(households)):
        if free[seed_unit]:
            members, total = _grow(seed_unit, households, neighbours, xy, free, floor, ceiling)
            if total >= floor:
                labels[members] = len(grown)
                grown.append((len(members), total, *xy[members].sum(0)))
    count, totals, sx, sy = (np.array(column, dtype=float) for column in zip(*grown, strict=True))
    pending = np.flatnonzero(labels < 0)
    while len(pending):  # enclaves, one by one: each changes the totals the next one sees
        for u in pending:
            regions = np.unique(labels[neighbours[u]])
            regions = regions[regions >= 0]
            if len(regions):
                near = (sx[regions] / count[regions] - xy[u, 0]) ** 2 + (sy[regions] / count[regions] - xy[u, 1]) ** 2  # fmt: skip
                r = regions[np.lexsort((near, totals[regions] + households[u] > ceiling))[0]]
                labels[u] = r
                count[r], totals[r] = count[r] + 1, totals[r] + households[u]
                sx[r], sy[r] = sx[r] + xy[u, 0], sy[r] + xy[u, 1]
        if (labels[pending] < 0).all():
            raise AssertionError(
                "enclaves out of every region's reach: the units are not connected"
            )
        pending = pending[labels[pending] < 0]
    return labels


def _grow(seed_unit: int, households, neighbours, xy, free, floor: int, ceiling: int):
    """A region grown from ``seed_unit`` over ``free`` units (marked taken) until the floor."""
    members, total, centre_sum = [seed_unit], households[seed_unit], xy[seed_unit].copy()
    free[seed_unit] = False
    frontier = {u for u in neighbours[seed_unit] if free[u]}
    while total < floor and frontier:
        cand = np.fromiter(sorted(frontier), dtype=int, count=len(frontier))
        near = ((xy[cand] - centre_sum / len(members)) ** 2).sum(1)
        v = cand[np.lexsort((near, total + households[cand] > ceiling))[0]]
        members.append(v)
        free[v] = False
        total, centre_sum = total + households[v], centre_sum + xy[v]
        frontier = (frontier | {u for u in neighbours[v] if free[u]}) - {v}
    return members, total


def _connected_without(members: np.ndarray, u: int, neighbours) -> bool:
    """Whether ``members`` stay one connected group when ``u`` leaves."""
    rest = set(members.tolist()) - {u}
    if not rest:
        return False
    start = next(iter(rest))
    seen, todo = {start}, [start]
    while todo:
        for v in neighbours[todo.pop()]:
            if v in rest and v not in seen:
                seen.add(v)
                todo.append(v)
    return len(seen) == len(rest)


def _improve(labels, households, neighbours, xy, floor: int, ceiling: int) -> np.ndarray:
    """Local search: move border units where that makes regions more compact, within the band.

    A unit moves from region r to a neighbouring region s when r keeps the floor and stays
    connected, s stays under the ceiling, and the dispersion falls; sweeps repeat until no move
    helps (the dispersion falls with every move, so this ends).
    """
    labels = labels.copy()
    k = labels.max() + 1
    count = np.bincount(labels, minlength=k).astype(float)
    totals = np.bincount(labels, households, minlength=k)
    sums = np.stack([np.bincount(labels, xy[:, d], minlength=k) for d in (0, 1)], 1)
    for _ in range(IMPROVE_SWEEPS):
        moved = False
        for u in range(len(labels)):
            r = labels[u]
            if count[r] < 2 or totals[r] - households[u] < floor:
                continue
            others = [s for s in np.unique(labels[neighbours[u]]) if s != r and totals[s] + households[u] <= ceiling]  # fmt: skip
            if not others:
                continue
            loss = count[r] / (count[r] - 1) * ((xy[u] - sums[r] / count[r]) ** 2).sum()
            gain = [loss - count[s] / (count[s] + 1) * ((xy[u] - sums[s] / count[s]) ** 2).sum() for s in others]  # fmt: skip
            best = int(np.argmax(gain))
            if gain[best] <= 1e-9 * max(loss, 1.0):
                continue
            if not _connected_without(np.flatnonzero(labels == r), u, neighbours):
                continue
            s = others[best]
            labels[u] = s
            count[r], count[s] = count[r] - 1, count[s] + 1
            totals[r], totals[s] = totals[r] - households[u], totals[s] + households[u]
            sums[r], sums[s] = sums[r] - xy[u], sums[s] + xy[u]
            moved = True
        if not moved:
            break
    return labels


def _fit_ceiling(labels, households, graph, xy, floor: int, ceiling: int, rng):
    """Cut or lighten regions above the ceiling; returns the labels and the regions still above."""
    labels = labels.copy()
    changed = True
    while changed:
        changed = False
        sums = np.bincount(labels, households)
        for r in np.flatnonzero(sums > ceiling):
            part = _cut(np.flatnonzero(labels == r), households, graph, xy, floor, ceiling, rng)
            if part is not None:
                labels[part] = labels.max() + 1
            elif not _shed(r, labels, households, graph, xy, floor, ceiling):
                continue
            changed = True
            break
    return labels, np.flatnonzero(np.bincount(labels, households) > ceiling)


def _cut(members, households, graph, xy, floor: int, ceiling: int, rng):
    """A connected part of ``members`` in the band whose remainder keeps the floor, or None.

    Cut along a spanning tree: the minimum spanning tree of centroid distances first (compact
    parts), then random trees; the part closest to an even share of the region wins.
    """
    hh, total = households[members], households[members].sum()
    if total < 2 * floor:
        return None
    target = total / np.ceil(total / ceiling)
    sub = graph[members][:, members].tocoo()
    keep = sub.row < sub.col
    rows, cols = sub.row[keep], sub.col[keep]
    distance = np.hypot(*(xy[members][rows] - xy[members][cols]).T) + 1e-9
    for attempt in range(SPLIT_TREES):
        weight = distance if attempt == 0 else rng.random(len(rows)) + 1e-9
        tree = minimum_spanning_tree(coo_matrix((weight, (rows, cols)), shape=(len(members),) * 2))
        order, parent = breadth_first_order(tree, 0, directed=False)
        if len(order) < len(members):
            return None
        below = hh.astype(float)
        for v in order[:0:-1]:
            below[parent[v]] += below[v]
        part = np.stack([below, total - below])[:, order[1:]]  # subtree, or the rest
        ok = (part >= floor) & (part <= ceiling) & (total - part >= floor)
        if not ok.any():
            continue
        side, k = np.unravel_index(
            np.argmin(np.where(ok, np.abs(part - target), np.inf)), part.shape
        )
        inside = np.zeros(len(members), dtype=bool)
        inside[order[1:][k]] = True
        for v in order:
            inside[v] |= v != order[0] and inside[parent[v]]
        return members[inside if side == 0 else ~inside]
    return None


def _shed(r: int, labels, households, graph, xy, floor: int, ceiling: int) -> bool:
    """Move one border unit of region ``r`` to a neighbouring region with room, if one can go."""
    sums = np.bincount(labels, households)
    centres = np.stack([np.bincount(labels, xy[:, d]) / np.bincount(labels) for d in (0, 1)], 1)
    members = np.flatnonzero(labels == r)
    best, best_key = None, None
    for u in members[(households[members] > 0) & (sums[r] - households[members] >= floor)]:
        for s in set(labels[graph.indices[graph.indptr[u] : graph.indptr[u + 1]]]) - {r}:
            if sums[s] + households[u] > ceiling:
                continue
            key = (sums[r] - households[u] > ceiling, float(np.hypot(*(xy[u] - centres[s]))))
            if best_key is not None and key >= best_key:
                continue
            left = members[members != u]
            if connected_components(graph[left][:, left], directed=False)[0] == 1:
                best, best_key = (u, s), key
    if best is None:
        return False
    labels[best[0]] = best[1]
    return True


# --- output ----------------------------------------------------------------------------------


def _cell_frame(cells: list[dict], cell_of, units, communities) -> gpd.GeoDataFrame:
    """Cells with codes in reading order per community, names, households and member lists."""
    frame = gpd.GeoDataFrame(cells, columns=["community_code", "geometry"], geometry="geometry", crs=communities.crs)  # fmt: skip
    table = pd.DataFrame({"cell": cell_of, "households": units["households"].to_numpy(),
                          "compounds": units["compounds"].to_numpy(), "loose": units["loose_buildings"].to_numpy()})  # fmt: skip
    joined = lambda s: ";".join(sorted(c for v in s for c in v.split(";") if c))  # noqa: E731
    per_cell = table.groupby("cell").agg(households=("households", "sum"), compounds=("compounds", joined), loose=("loose", joined))  # fmt: skip
    frame["households"] = per_cell["households"].reindex(range(len(frame)), fill_value=0).to_numpy(dtype=int)  # fmt: skip
    frame["compounds"] = per_cell["compounds"].reindex(range(len(frame)), fill_value="").to_numpy()
    frame["loose_buildings"] = per_cell["loose"].reindex(range(len(frame)), fill_value="").to_numpy()  # fmt: skip
    names = dict(zip(communities["code"], communities.get("name", communities["code"]).fillna(communities["code"]), strict=True))  # fmt: skip
    areas = dict(zip(communities["code"], communities.geometry.values, strict=True))
    centre = shapely.get_coordinates(shapely.point_on_surface(frame.geometry.values))
    codes, labels = np.empty(len(frame), dtype=object), np.empty(len(frame), dtype=object)
    for code, group in frame.groupby("community_code", sort=False).groups.items():
        pos = np.asarray(group)  # the frame's index is its positions
        top, band = areas[code].bounds[3], np.sqrt(areas[code].area / len(pos)) or 1.0
        order = pos[np.lexsort((centre[pos, 0], np.floor((top - centre[pos, 1]) / band)))]
        for seq, i in enumerate(order, start=1):
            codes[i], labels[i] = f"{code}{seq:03d}", f"{names[code]}第{seq}网格"
    frame.insert(0, "code", codes)
    frame.insert(1, "name", labels)
    return frame[["code", "name", "community_code", "households", "compounds", "loose_buildings", "geometry"]]  # fmt: skip


def _problems(notes: list[_Note], codes, units, cell_of, floor: int, ceiling: int) -> pd.DataFrame:
    rows = []
    unit_codes = units["code"].to_numpy()
    for note in notes:
        cell = (
            note.cell if note.cell is not None else (cell_of[note.units[0]] if note.units else None)
        )
        code = codes[cell] if cell is not None else None
        what = note.codes or ";".join(unit_codes[note.units])
        zh, en = _messages(note, code, what, floor, ceiling, unit_codes)
        rows.append({"kind": note.kind, "community_code": note.community, "cell_code": code,
                     "codes": what, "measure": note.measure, "message_zh": zh, "message_en": en})  # fmt: skip
    table = pd.DataFrame(rows, columns=PROBLEM_COLUMNS)
    return table.astype({"community_code": object, "cell_code": object}).replace({np.nan: None})


def _messages(
    note: _Note, cell, what: str, floor: int, ceiling: int, unit_codes
) -> tuple[str, str]:
    m, c = note.measure, note.community
    if note.ground:
        return (f"社区 {c} 有一块 {m:.0f} 平方米的飞地不与任何单元相邻，并入最近的 {what} 所在网格 {cell}，该网格因此不连续",
                f"A {m:.0f} m² exclave of community {c} borders no unit: joined to the nearest, {what}, in grid {cell}, which is therefore not one piece")  # fmt: skip
    if note.kind == "compound_within_compound":
        near = unit_codes[note.near]
        return (f"{what} 与 {near} 重复或位于其内，没有自己的辖区，随 {near} 划入网格 {cell}",
                f"{what} duplicates or lies inside {near}: no ground of its own, placed with {near} in grid {cell}")  # fmt: skip
    if note.kind == "island":
        near = unit_codes[note.near]
        return (f"{what} 与社区其余部分不相邻 (飞地)，并入最近的 {near} (相距 {m:.0f} 米) 所在网格 {cell}，该网格因此不连续",
                f"{what} borders nothing else in the community (an exclave): joined to the nearest unit, {near} ({m:.0f} m away), in grid {cell}, which is therefore not one piece")  # fmt: skip
    texts = {
        "over_ceiling": (f"小区 {what} 有 {m:.0f} 户，超过上限 {ceiling} 户，单独划为网格 {cell} (可考虑按楼栋拆分)",
                         f"Compound {what} has {m:.0f} households, above the ceiling of {ceiling}: grid {cell} on its own (consider splitting it by buildings)"),
        "under_floor": (f"社区 {c} 共 {m:.0f} 户，不足下限 {floor} 户，整个社区划为一个网格 {cell}",
                        f"Community {c} has {m:.0f} households, below the floor of {floor}: one grid, {cell}"),
        "floor_not_reached": (f"网格 {cell} ({what}) 只有 {m:.0f} 户，不足下限 {floor} 户：这些单元只与超过上限的小区相邻",
                              f"Grid {cell} ({what}) has {m:.0f} households, below the floor of {floor}: its units border only compounds above the ceiling"),
        "ceiling_exceeded": (f"网格 {cell} ({what}) 有 {m:.0f} 户，超过上限 {ceiling} 户：没有两部分都在范围内的拆分，相邻网格也无余量",
                             f"Grid {cell} ({what}) has {m:.0f} households, above the ceiling of {ceiling}: no cut leaves both parts in the band and no neighbour has room"),
        "compound_straddles_community": (f"小区 {what} 跨社区，{m:.0%} 的面积在社区 {c} 之外，按最大占比归入网格 {cell}，社区外部分归所在社区的网格",
                                         f"Compound {what} straddles communities ({m:.0%} of it outside {c}): placed in grid {cell} by its largest share; the part outside goes to the grids of the other community"),
        "compound_outside_community": (f"小区 {what} 不在任何社区内，其 {m:.0f} 户未划入网格",
                                       f"Compound {what} lies in no community: its {m:.0f} households are in no grid"),
        "building_outside_community": (f"楼栋 {what} 不在任何小区和社区内，其 {m:.0f} 户未划入网格",
                                       f"Building {what} lies in no compound and no community: its {m:.0f} households are in no grid"),
    }  # fmt: skip
    return texts[note.kind]

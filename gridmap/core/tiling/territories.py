"""Territories of the units (辖区) and the graph of who borders whom.

The community is partitioned among its units by a Voronoi diagram of points sampled along every
unit's outline, dissolved per unit and clipped to the community; each unit keeps its own ground,
and pieces cut off from their unit join the neighbour with the longest shared border. Adjacency is
a shared border of at least ``MIN_BORDER_M`` (rook); groups of units bordering nothing else (飞地)
are tied to the nearest unit.

Examples
--------
>>> import numpy as np
>>> from shapely import box
>>> seeds = np.array([box(10, 10, 90, 90), box(110, 10, 190, 90)], dtype=object)
>>> terr, detached = territories(box(0, 0, 200, 100), seeds)
>>> [round(t.area) for t in terr], detached  # each unit takes the ground nearest to it
([10000, 10000], [])
>>> adjacency(terr).toarray().round(3).tolist()  # a shared border of 100 m
[[0.0, 100.0], [100.0, 0.0]]
"""

from __future__ import annotations

import contextlib

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridmap.core.tiling.geometry import DUST_M2, FUZZ_M, coverage_union
from gridmap.io.polygons import polygons_of

SAMPLE_SPACING_M = 20.0  # outline points of the territory diagram: finer only costs time
MIN_BORDER_M = 1.0  # a shared border shorter than this is a corner, not a neighbour
SMOOTHING_M = 10.0  # territory borders are straightened within this (Visvalingam–Whyatt)
JITTER_M = 1e-3  # breaks the co-circular points of regular outlines that GEOS's Voronoi mishandles


def territories(area, seeds: np.ndarray) -> tuple[np.ndarray, list[tuple[int, float]]]:
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
        terr[i] = coverage_union(cells[order[bounds[i] : bounds[i + 1]]])
    terr = np.array(
        [polygons_of(g, min_area_m2=DUST_M2) for g in shapely.intersection(terr, area)],
        dtype=object,
    )
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
        terr[i] = polygons_of(
            shapely.difference(terr[i], shapely.union_all(seeds[s[hit & (t == i)]])),
            min_area_m2=DUST_M2,
        )
    for j in np.unique(s[hit]):
        terr[j] = polygons_of(shapely.union(terr[j], seeds[j]), min_area_m2=DUST_M2)


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
                terr[j] = polygons_of(shapely.union(terr[j], piece), min_area_m2=DUST_M2)
            else:  # ground no other unit borders stays with the nearest (the Voronoi owner)
                terr[i] = shapely.union(terr[i], piece)
                if piece.area > 1.0:
                    detached.append((i, float(piece.area)))
    return detached


def adjacency(terr: np.ndarray):
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


def join_islands(graph, seeds: np.ndarray):
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

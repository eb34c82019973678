"""Welding: a border two cells share made one line, with the same vertices on both sides (焊接).

Cells painted from units meet in T-junctions, and a cut, a merge or a drawn cell leaves new corners
on the neighbours' borders; such a corner could not be dragged without opening 留白 or an overlap.

- :func:`weld_all` — the whole plan once, when the editor opens it: each corner of a cell lying
  on a neighbour's edge is put on that edge as a vertex too, so that no cell's ground changes;
- :func:`weld` — after an edit, the cells around the edited ones snapped to each other's
  vertices, as QGIS's topological editing does.

Pure functions on GeoDataFrames with ``code`` and polygon geometries, in any CRS, with a tolerance
in its units. Re-exported by :mod:`gridmap.core.coverage_edit`, which checks the edits.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import shapely


def _by_code(cells: gpd.GeoDataFrame) -> dict[str, object]:
    return {str(c): g for c, g in zip(cells["code"], cells.geometry.values, strict=True)}


def _snap(geom, points, tolerance: float):
    """``geom`` snapped to ``points``, of its own type: GEOS gives a one-part MultiPolygon (as
    plans store cells) back as a Polygon, which would count as a change."""
    welded = shapely.snap(geom, points, tolerance)
    if geom.geom_type == "MultiPolygon" and welded.geom_type == "Polygon":
        welded = shapely.MultiPolygon([welded])
    return welded


def weld(
    cells: gpd.GeoDataFrame, codes: Iterable[str], tolerance: float, *, fixed: Iterable[str] = ()
) -> dict[str, object]:
    """The cells around ``codes`` with their neighbours' vertices that lie on their borders.

    A vertex of a cell within ``tolerance`` (in the CRS's units) of a neighbour's border is made
    a vertex of the neighbour, and a neighbour's vertex that near one of the cell's vertices
    becomes that vertex: a border shared by two cells then has the same vertices on both sides,
    so dragging one moves both (a cut, a merge or a drawn cell leaves new corners on the
    neighbours' borders). Returns code → geometry for the cells whose outline gained or moved a
    vertex; the others, and the cells in ``fixed`` (locked ones, which only lend their
    vertices), are unchanged.

    >>> from shapely import box, Polygon
    >>> cells = gpd.GeoDataFrame({"code": ["A1", "A2", "B"]}, geometry=[
    ...     box(0, 0, 4, 1.5), box(0, 1.5, 4, 3), Polygon([(4, 0), (9, 1), (8, 4), (4, 3)])])
    >>> weld(cells, ["A1", "A2"], 1e-9)["B"].wkt
    'POLYGON ((4 0, 9 1, 8 4, 4 3, 4 1.5, 4 0))'
    """
    geoms = _by_code(cells)
    touched = {str(c) for c in codes if str(c) in geoms}
    if not touched:
        return {}
    around = shapely.union_all([b for b in (shapely.buffer(geoms[c], tolerance) for c in touched) if b is not None])  # fmt: skip
    near = [c for c, g in geoms.items() if g is not None and not g.is_empty and shapely.intersects(g, around)]  # fmt: skip
    # the edited cells take their neighbours' vertices first, then the neighbours theirs: each
    # cell is snapped to the others as already welded, so two near vertices become one, not swap
    order = sorted(near, key=lambda c: c not in touched)
    out = {}
    for code in [c for c in order if c not in {str(f) for f in fixed}]:
        others = np.array([geoms[c] for c in order if c != code], dtype=object)
        if not len(others):
            continue
        welded = _snap(geoms[code], shapely.multipoints(shapely.get_coordinates(others)), tolerance)  # fmt: skip
        if not shapely.equals_exact(welded, geoms[code], 0.0) and shapely.is_valid(welded):
            out[code] = geoms[code] = welded
    return out


def weld_all(
    cells: gpd.GeoDataFrame, tolerance: float, *, fixed: Iterable[str] = ()
) -> dict[str, object]:
    """Every cell given the corners of its neighbours that lie on its border: the whole plan
    once, when the editor opens it. Cells painted from units meet in T-junctions (one cell's
    corner on a neighbour's edge without being its vertex), and such a corner could not be
    dragged without opening 留白; welded, it is a vertex of both (to within ``tolerance``, as
    the editor matches vertices). Unlike :func:`weld` no vertex moves: a corner is put on the
    edge at its foot, so each cell keeps its ground exactly (GEOS's snapping would move near
    vertices together and can fold an outline; its coverage cleaning resolves hair-thin
    overlaps, changing areas by parts per million). The corners near each cell's border are
    found for the whole plan at once, with a spatial index and array operations. Returns code → geometry for the cells that gained a vertex; cells in ``fixed`` only lend
    theirs.

    >>> from shapely import box
    >>> cells = gpd.GeoDataFrame({"code": ["A1", "A2", "B"]},
    ...                          geometry=[box(0, 0, 4, 1.5), box(0, 1.5, 4, 3), box(4, 0, 8, 3)])
    >>> weld_all(cells, 1e-9)["B"].wkt
    'POLYGON ((8 0, 8 3, 4 3, 4 1.5, 4 0, 8 0))'
    >>> weld_all(cells, 1e-9, fixed=["B"])
    {}
    """
    geoms = {c: g for c, g in _by_code(cells).items() if g is not None and not g.is_empty}
    codes = list(geoms)
    if len(codes) < 2:
        return {}
    arr = np.array([geoms[c] for c in codes], dtype=object)
    locked = {str(f) for f in fixed}
    free = np.array([c not in locked for c in codes])
    cell, corners = _corners_on_borders(arr, free, tolerance)
    if not len(cell):
        return {}
    welded = {codes[i]: g for i, g in sorted(_on_edges(arr, cell, corners, tolerance).items())}
    valid = shapely.is_valid(np.array(list(welded.values()), dtype=object))
    return {c: g for (c, g), ok in zip(welded.items(), valid, strict=True) if ok}


def _corners_on_borders(arr: np.ndarray, free: np.ndarray, tolerance: float):
    """``(cell, corner)``: for each cell in ``free``, the corners of the other cells lying within
    ``tolerance`` of its border, by cell and then by x and y, each once (``corner`` holds their
    coordinates). A corner that is one of the cell's own vertices is left out when the cell is
    one ring: it can never be put on an edge. A cell of several rings keeps it, as another of its
    rings may pass within ``tolerance`` of it.

    Found for the whole plan at once: the distinct vertices of all cells, those in each cell's
    bounding box from a spatial index, the cell's own ones set aside, and only the few left
    tested against the cell's border — the test one cell at a time would make. A corner of a
    cell that near a border makes its cell a neighbour within ``tolerance`` (the distance
    between two cells is at most that of a corner of one to the border of the other).
    """
    n = len(arr)
    xy, owner = shapely.get_coordinates(arr, return_index=True)
    order = np.lexsort((xy[:, 1], xy[:, 0]))
    fresh = np.r_[True, np.any(xy[order[1:]] != xy[order[:-1]], axis=1)]
    points_xy = xy[order[fresh]]  # the distinct vertices, sorted by x then y
    where = np.empty(len(xy), dtype=np.int64)
    where[order] = np.cumsum(fresh) - 1
    held = np.sort(where * n + owner)  # (vertex, cell holding it), sorted by vertex
    held = held[np.r_[True, held[1:] != held[:-1]]]
    holders = np.bincount(held // n, minlength=len(points_xy))
    x0, y0, x1, y1 = shapely.bounds(arr).T
    pad = 2 * tolerance
    boxes = shapely.box(x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    cell, vertex = shapely.STRtree(shapely.points(points_xy)).query(boxes)
    parts, part_of = shapely.get_parts(arr, return_index=True)
    rings = np.bincount(part_of, 1 + shapely.get_num_interior_rings(parts), minlength=n)
    own = _sorted_isin(vertex * n + cell, held)
    keep = free[cell] & (holders[vertex] > own) & ((rings[cell] > 1) | ~own)
    cell, vertex = cell[keep], vertex[keep]
    on = shapely.dwithin(shapely.points(points_xy[vertex]), shapely.boundary(arr)[cell], tolerance)  # fmt: skip
    cell, vertex = cell[on], vertex[on]
    by = np.lexsort((vertex, cell))
    return cell[by], points_xy[vertex[by]]


def _sorted_isin(keys: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    at = np.minimum(np.searchsorted(sorted_set, keys), max(len(sorted_set) - 1, 0))
    return sorted_set[at] == keys if len(sorted_set) else np.zeros(len(keys), dtype=bool)


def _on_edges(arr: np.ndarray, cell: np.ndarray, corners: np.ndarray, tolerance: float) -> dict:
    """The cells ``arr[cell]`` with each of ``corners`` within ``tolerance`` of one of their
    edges (and not of one of their vertices) put on the nearest such edge at its foot, by index
    into ``arr``; the cells that gain none are left out. All corners are measured at once, each
    against the segments of its cell's rings near it (from a spatial index); a ring's new
    vertices go in along it, by edge and then by how far along the edge, as the corners came
    for a tie."""
    cells = np.unique(cell)
    parts, part_cell = shapely.get_parts(arr[cells], return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    ring_cell = part_cell[ring_part]
    seg = np.flatnonzero(np.r_[ring_of[1:] == ring_of[:-1], False])  # each segment's first vertex
    seg_ring = ring_of[seg]
    # rows: (corner, segment of its cell near it), by corner and then by ring and segment; the
    # segments farther than the tolerance could neither hold a corner nor start at a vertex near it
    a, b = xy[seg], xy[seg + 1]
    pad = 2 * tolerance
    lo, hi = np.minimum(a, b) - pad, np.maximum(a, b) + pad
    boxes = shapely.box(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1])
    near_corner, near_seg = shapely.STRtree(boxes).query(shapely.points(corners))
    mine = ring_cell[seg_ring[near_seg]] == np.searchsorted(cells, cell)[near_corner]
    near_corner, near_seg = near_corner[mine], near_seg[mine]
    if not len(near_seg):
        return {}
    by = np.lexsort((near_seg, near_corner))
    row_corner, row_seg = near_corner[by], near_seg[by]
    row_ring = seg_ring[row_seg]
    # pairs (corner, ring): the rows of each, in a run
    fresh = np.r_[True, (row_corner[1:] != row_corner[:-1]) | (row_ring[1:] != row_ring[:-1])]
    starts, row_pair = np.flatnonzero(fresh), np.cumsum(fresh) - 1
    pair_ring = row_ring[starts]
    c, a = corners[row_corner], xy[seg[row_seg]]
    ab = xy[seg[row_seg] + 1] - a
    length2 = np.maximum(ab[:, 0] ** 2 + ab[:, 1] ** 2, 1e-300)
    t = np.clip(((c[:, 0] - a[:, 0]) * ab[:, 0] + (c[:, 1] - a[:, 1]) * ab[:, 1]) / length2, 0, 1)
    foot = a + t[:, None] * ab
    gap = np.hypot(c[:, 0] - foot[:, 0], c[:, 1] - foot[:, 1])
    least = np.minimum.reduceat(gap, starts)
    first = np.minimum.reduceat(np.where(gap == least[row_pair], np.arange(len(gap)), len(gap)), starts)  # fmt: skip
    vertex = np.minimum.reduceat(np.hypot(c[:, 0] - a[:, 0], c[:, 1] - a[:, 1]), starts)
    take = np.flatnonzero((least <= tolerance) & (vertex > tolerance))
    if not len(take):
        return {}
    row, ring = first[take], pair_ring[take]
    at = row_seg[row] - np.searchsorted(seg_ring, ring)
    order = np.lexsort((t[row], at, ring))  # stable: corners in their order for a tie
    position = np.searchsorted(ring_of, ring) + at + 1
    xy = np.insert(xy, position[order], foot[row][order], axis=0)
    ring_of = np.insert(ring_of, position[order], ring[order])
    polygons = shapely.polygons(shapely.linearrings(xy, indices=ring_of), indices=ring_part)
    multi = shapely.multipolygons(polygons, indices=part_cell)
    first_part = np.searchsorted(part_cell, np.arange(len(cells)))
    out = {}
    for k in np.unique(ring_cell[ring]):
        i = int(cells[k])
        out[i] = multi[k] if arr[i].geom_type == "MultiPolygon" else polygons[first_part[k]]
    return out

"""The household ceiling: groups of units above it are cut in two or lightened.

The grid proposal cuts its regions with it (:mod:`gridmap.core.propose.regions`), and the unit
fabric the buildings of a compound above the ceiling (:func:`gridmap.core.fabric.building_groups`).

A region above the ceiling is cut along a spanning tree of its units (the minimum spanning tree of
centroid distances first, then seeded random trees) into a part within the band and a rest at
least at the floor, again until it fits; a region too small to cut in two hands border units to
neighbouring regions that have room. Regions that neither fixes are returned as still above.

Examples
--------
>>> import numpy as np
>>> from scipy.sparse import diags
>>> graph = diags([1.0, 1.0], [-1, 1], shape=(4, 4), format="csr")  # four units in a row
>>> xy = np.array([[50.0, 50.0], [150.0, 50.0], [250.0, 50.0], [350.0, 50.0]])
>>> rng = np.random.default_rng(0)
>>> labels, over = fit_ceiling(np.zeros(4, dtype=int), np.full(4, 200), graph, xy, 300, 500, rng)
>>> labels.tolist(), over.tolist()
([0, 0, 1, 1], [])
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components, minimum_spanning_tree

SPLIT_TREES = 8  # spanning trees tried when cutting a region above the ceiling


def fit_ceiling(labels, households, graph, xy, floor: int, ceiling: int, rng):
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

"""Regions of the grid proposal (分区): max-p regions that reach the household floor.

Compounds above the ceiling are cells of their own; every other connected group of units is
grouped by max-p (the best of ``MAXP_CONSTRUCTIONS`` constructions, then a local search that moves
border units where that makes regions more compact), and regions still above the ceiling go to
:func:`gridmap.core.tiling.ceiling.fit_ceiling`. Units hemmed in by compounds above the ceiling
form a region of their own. Cells still out of the band are then balanced
(:func:`gridmap.core.propose.balance.balance`); those that stay out are noted.

Examples
--------
>>> import numpy as np
>>> from scipy.sparse import diags
>>> graph = diags([1.0, 1.0], [-1, 1], shape=(4, 4), format="csr")  # four units in a row
>>> xy = np.array([[50.0, 50.0], [150.0, 50.0], [250.0, 50.0], [350.0, 50.0]])
>>> labels, notes = regions(np.array([200, 150, 180, 170]), graph, xy, 300, 500, seed=0)
>>> labels.tolist(), notes  # two regions of 350 households
([1, 1, 0, 0], [])
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import connected_components

from gridmap.core.propose.balance import balance, connected_without
from gridmap.core.tiling.ceiling import fit_ceiling

MAXP_CONSTRUCTIONS = 30  # tried per group of units; the most regions, then most compact, wins
IMPROVE_SWEEPS = 20  # local-search sweeps at most (they stop earlier when no move helps)


def regions(households, graph, xy, floor: int, ceiling: int, seed: int):
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
        local, _over = fit_ceiling(local, hh, sub, xy[idx], floor, ceiling, rng)
        labels[idx] = labels.max() + 1 + local
    locked = set(labels[big].tolist())
    for idx in pockets:  # units hemmed in by compounds above the ceiling
        rows = graph[idx].tocoo()
        border = pd.Series(rows.data).groupby(labels[rows.col]).sum().drop(-1, errors="ignore")
        if households[idx].sum() == 0 and len(border):
            labels[idx] = border.idxmax()
        else:
            labels[idx] = labels.max() + 1
            locked.add(int(labels[idx[0]]))
            notes.append(("floor_not_reached", idx, float(households[idx].sum())))
    labels = balance(labels, households, graph, xy, floor, ceiling, seed, locked)
    sums = np.bincount(labels, households)  # the labels are numbered afresh: locked ones again
    fixed = {int(labels[i]) for i in big} | {int(labels[p[0]]) for p in pockets}
    for r in range(len(sums)):
        if r in fixed or floor <= sums[r] <= ceiling:
            continue
        kind = "ceiling_exceeded" if sums[r] > ceiling else "below_floor"
        notes.append((kind, np.flatnonzero(labels == r), float(sums[r])))
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
            adjacent = np.unique(labels[neighbours[u]])
            adjacent = adjacent[adjacent >= 0]
            if len(adjacent):
                near = (sx[adjacent] / count[adjacent] - xy[u, 0]) ** 2 + (sy[adjacent] / count[adjacent] - xy[u, 1]) ** 2  # fmt: skip
                r = adjacent[np.lexsort((near, totals[adjacent] + households[u] > ceiling))[0]]
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
            if not connected_without(np.flatnonzero(labels == r), u, neighbours):
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

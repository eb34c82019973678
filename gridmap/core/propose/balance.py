"""Balancing the proposal's cells into the household band (网格户数均衡).

Max-p regions and the ceiling cuts of :mod:`gridmap.core.propose.regions` can leave cells out of
the band where the units allow a grouping inside it: max-p keeps the most regions its greedy
constructions reach, and a region of 540 households is too small to cut in two (each part would be
under the floor) while no single unit can leave it for a neighbour that has room. This local search
takes the cells out of the band one by one and tries, in order:

1. **moves**: a unit on the border moves to (or, for a cell below the floor, from) a neighbouring
   cell, the one that lowers the cells' distance from the band most;
2. **recombination** (as ReCom does in redistricting): the cell and one neighbouring cell, then
   the cell and two, are merged and cut again along spanning trees of their units
   (:func:`gridmap.core.tiling.ceiling.fit_ceiling`), into as many cells as the band needs.

A change is kept only when it adds no cell out of the band and lowers the distance of the cells
from the band (households below the floor or above the ceiling, summed, a whole number): no cell
in the band is taken out of it for good, and the search ends. Every cell stays one connected group of
units (a move never disconnects the cell it leaves; cuts follow spanning trees). Cells in
``locked`` (a unit above the ceiling on its own, units hemmed in by such units) take and give no
units. Same inputs and seed, same result.

Examples
--------
>>> import numpy as np
>>> from scipy.sparse import diags
>>> graph = diags([1.0, 1.0], [-1, 1], shape=(6, 6), format="csr")  # six units in a row
>>> xy = np.c_[np.arange(6.0) * 100, np.zeros(6)]
>>> households = np.array([200, 200, 150, 100, 100, 150])
>>> start = np.array([0, 0, 0, 1, 1, 1])  # 550 | 350
>>> balance(start, households, graph, xy, 300, 500, seed=0).tolist()  # 400 | 500
[0, 0, 1, 1, 1, 1]
"""

from __future__ import annotations

import numpy as np

from gridmap.core.tiling.ceiling import fit_ceiling

BALANCE_ROUNDS = 2000  # changes kept at most (each lowers what is out of the band)
RECUT_TRIES = 3  # cuts of a merged group tried (each draws new spanning trees)


def connected_without(members: np.ndarray, u: int, neighbours) -> bool:
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


def _off(total, floor: int, ceiling: int):
    """Households below the floor or above the ceiling (0 in the band)."""
    return np.maximum(floor - total, 0) + np.maximum(total - ceiling, 0)


def balance(labels, households, graph, xy, floor: int, ceiling: int, seed: int = 0, locked=()):
    """Region labels (0, 1, …) with the cells out of the band brought into it where moves and
    recombinations of neighbouring cells can; see the module's description."""
    labels = labels.copy()
    neighbours = np.split(graph.indices, graph.indptr[1:-1])
    locked = set(int(r) for r in locked)
    rng = np.random.default_rng(seed)
    stuck: set[int] = set()  # cells that found no change, until one happens next to them
    for _ in range(BALANCE_ROUNDS):
        sums = np.bincount(labels, households)
        present = np.unique(labels)
        out = [r for r in present[_off(sums[present], floor, ceiling) > 0] if r not in locked | stuck]  # fmt: skip
        changed = False
        for r in sorted(out, key=lambda r: (-_off(sums[r], floor, ceiling), r)):
            new = _move(r, labels, households, neighbours, xy, floor, ceiling, locked)
            if new is None:
                new = _recombine(r, labels, households, graph, neighbours, xy, floor, ceiling, locked, rng)  # fmt: skip
            if new is None:
                stuck.add(int(r))
                continue
            moved = np.flatnonzero(new != labels)
            near = np.concatenate([moved, *(neighbours[u] for u in moved)])
            stuck -= {int(c) for c in np.r_[labels[near], new[near]]}
            labels, changed = new, True
            break
        if not changed:
            break
    _, labels = np.unique(labels, return_inverse=True)
    return labels


def _score(labels, households, floor: int, ceiling: int) -> tuple[int, float]:
    off = _off(np.bincount(labels, households)[np.unique(labels)], floor, ceiling)
    return int((off > 0).sum()), float(off.sum())


def _better(score: tuple[int, float], before: tuple[int, float]) -> bool:
    """No more cells out of the band, and less out of it: a cell in the band stays in it."""
    return score[0] <= before[0] and score[1] < before[1]


def _adjacent_cells(r, members, labels, neighbours, locked) -> list[int]:
    found = {int(labels[v]) for u in members for v in neighbours[u]}
    return sorted(found - {int(r)} - locked)


def _move(r, labels, households, neighbours, xy, floor: int, ceiling: int, locked):
    """The best single move of a border unit out of ``r`` (above the ceiling) or into it (below
    the floor) that scores better, as new labels; None if none does."""
    before = _score(labels, households, floor, ceiling)
    members = np.flatnonzero(labels == r)
    best, best_key = None, None
    for s in _adjacent_cells(r, members, labels, neighbours, locked):
        giver, taker = (r, s) if households[members].sum() > ceiling else (s, r)
        given = np.flatnonzero(labels == giver)
        if len(given) < 2:
            continue
        centre = xy[labels == taker].mean(0)
        for u in given:
            if households[u] == 0 or not any(labels[v] == taker for v in neighbours[u]):
                continue
            trial = labels.copy()
            trial[u] = taker
            score = _score(trial, households, floor, ceiling)
            if not _better(score, before):
                continue
            key = (score, float(((xy[u] - centre) ** 2).sum()), int(u))
            if (best_key is None or key < best_key) and connected_without(given, u, neighbours):
                best, best_key = trial, key
    return best


def _recombine(r, labels, households, graph, neighbours, xy, floor: int, ceiling: int, locked, rng):  # fmt: skip
    """``r`` merged with one neighbouring cell (then two) and cut again, as new labels if that
    scores better; None if no merge does."""
    before = _score(labels, households, floor, ceiling)
    members = np.flatnonzero(labels == r)
    groups = [[s] for s in _adjacent_cells(r, members, labels, neighbours, locked)]
    pairs = list(groups)
    for (s,) in pairs:
        merged = np.flatnonzero((labels == r) | (labels == s))
        groups += [[s, t] for t in _adjacent_cells(r, merged, labels, neighbours, locked) if t > s or [t] not in pairs]  # fmt: skip
    for group in groups:
        idx = np.flatnonzero(np.isin(labels, [r, *group]))
        sub = graph[idx][:, idx]
        for _ in range(RECUT_TRIES):
            local, _over = fit_ceiling(np.zeros(len(idx), dtype=int), households[idx], sub, xy[idx], floor, ceiling, rng)  # fmt: skip
            trial = labels.copy()
            trial[idx] = labels.max() + 1 + local
            if _better(_score(trial, households, floor, ceiling), before):
                return trial
    return None

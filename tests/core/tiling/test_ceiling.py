"""The household ceiling shared by the unit fabric and the grid proposal: a group of units above
it is cut in two within the band, or lightened by a border unit when too small to cut."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix

from gridmap.core.tiling.ceiling import fit_ceiling


def test_a_region_above_the_ceiling_is_cut_or_lightened():
    path = coo_matrix((np.ones(7), (np.arange(7), np.arange(1, 8))), shape=(8, 8))
    graph = (path + path.T).tocsr()
    xy = np.c_[np.arange(8.0), np.zeros(8)]
    rng = np.random.default_rng(0)
    labels, over = fit_ceiling(np.zeros(8, dtype=int), np.full(8, 100), graph, xy, 300, 500, rng)
    assert labels.tolist() == [0, 0, 0, 0, 1, 1, 1, 1] and len(over) == 0
    households = np.array([100, 100, 100, 120, 120, 120, 100, 100])
    start = np.array([0, 0, 0, 1, 1, 1, 1, 1])  # 300 | 560: too small to cut, one unit moves
    labels, over = fit_ceiling(start, households, graph, xy, 300, 500, rng)
    assert labels.tolist() == [0, 0, 0, 0, 1, 1, 1, 1] and len(over) == 0

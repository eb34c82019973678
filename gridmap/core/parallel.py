"""Large vectorised GEOS calls on two cores (threads: shapely leaves the GIL during GEOS work).

Rows are split in two halves, the second computed in a worker thread, and joined in order: the
result is exactly that of one call. GEOS prepared geometries must never be used from two threads
at once (that crashed an earlier attempt), so a prepared predicate gives the worker its own
prepared copies of the parents it needs; unprepared geometries are only read, which GEOS allows.
Small inputs, and machines with one core, run in the calling thread.

Examples
--------
>>> import numpy as np
>>> from shapely import box
>>> by_rows(shapely.area, np.array([box(0, 0, 1, 1), box(0, 0, 2, 2)])).tolist()
[1.0, 4.0]
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import shapely

MIN_GEOMETRIES = 10_000  # below this, starting the second half costs more than it saves
_POOL: dict[int, ThreadPoolExecutor] = {}  # by process id: a forked child starts its own


def _second_core() -> ThreadPoolExecutor | None:
    if (os.cpu_count() or 1) < 2:
        return None
    pid = os.getpid()
    if pid not in _POOL:
        _POOL.clear()
        _POOL[pid] = ThreadPoolExecutor(1, thread_name_prefix="gridmap-geos")
    return _POOL[pid]


def by_rows(func: Callable, *arrays: np.ndarray, **kwargs) -> np.ndarray:
    """``func(*arrays, **kwargs)`` for row-wise functions, the second half of the rows in a thread.

    Only for geometries that are not prepared, or whose prepared form ``func`` does not use
    (unions, differences, validity …; not predicates).
    """
    rows = len(arrays[0])
    pool = _second_core()
    if pool is None or rows < 2 or np.size(arrays[0]) < MIN_GEOMETRIES:
        return func(*arrays, **kwargs)
    half = rows // 2
    later = pool.submit(func, *(a[half:] for a in arrays), **kwargs)
    first = func(*(a[:half] for a in arrays), **kwargs)
    return np.concatenate([first, later.result()])


def _copied_predicate(name: str, parents: np.ndarray, right: np.ndarray, children: np.ndarray):
    needed, where = np.unique(right, return_inverse=True)
    copies = shapely.from_wkb(shapely.to_wkb(parents[needed]))
    shapely.prepare(copies)
    return getattr(shapely, name)(copies[where.ravel()], children)


def prepared_predicate(
    name: str, parents: np.ndarray, right: np.ndarray, children: np.ndarray, left: np.ndarray
) -> np.ndarray:
    """``shapely.<name>(parents[right], children[left])`` with ``parents`` prepared.

    The worker thread tests the second half of the pairs against its own prepared copies (from
    WKB, the same coordinates) of the parents it needs.
    """
    shapely.prepare(parents)
    pool = _second_core()
    if pool is None or len(left) < MIN_GEOMETRIES:
        return getattr(shapely, name)(parents[right], children[left])
    half = len(left) // 2
    later = pool.submit(_copied_predicate, name, parents, right[half:], children[left[half:]])
    first = getattr(shapely, name)(parents[right[:half]], children[left[:half]])
    return np.concatenate([first, later.result()])

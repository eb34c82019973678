"""Work on two cores: large vectorised GEOS calls on two threads, whole steps in two processes.

Threads first (shapely leaves the GIL during GEOS work): rows are split in two halves, the second
computed in a worker thread, and joined in order: the result is exactly that of one call. GEOS
prepared geometries must never be used from two threads at once (that crashed an earlier
attempt), so a prepared predicate gives the worker its own prepared copies of the parents it
needs; unprepared geometries are only read, which GEOS allows. Small inputs, and machines with
one core, run in the calling thread.

Steps whose Python (pandas) work would contend for the GIL run in a forked process instead
(:func:`forked`): the child inherits its inputs without copying and sends back its result.

Examples
--------
>>> import numpy as np
>>> from shapely import box
>>> by_rows(shapely.area, np.array([box(0, 0, 1, 1), box(0, 0, 2, 2)])).tolist()
[1.0, 4.0]
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import shapely

MIN_GEOMETRIES = 10_000  # below this, starting the second half costs more than it saves
MIN_FORK_GEOMETRIES = 50_000  # below this, a second process costs more than it saves
_POOL: dict[int, ThreadPoolExecutor] = {}  # by process id: a forked child starts its own


def use_one_core() -> None:
    """Keep every later step in the calling thread and process (in this process).

    For a worker of a cluster that runs one task per core: a second thread or process would
    take the core of the task next to it, and a forked copy would double the worker's memory.
    """
    global MIN_GEOMETRIES, MIN_FORK_GEOMETRIES
    MIN_GEOMETRIES = MIN_FORK_GEOMETRIES = sys.maxsize


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


def can_fork(geometries: int) -> bool:
    """True when steps over this many geometries are worth a second process (Linux, 2+ cores)."""
    return (
        geometries >= MIN_FORK_GEOMETRIES
        and (os.cpu_count() or 1) >= 2
        and sys.platform == "linux"
        and not multiprocessing.current_process().daemon  # a daemon may have no children
    )


def _send_each(send, steps: Callable[..., Iterator], args: tuple) -> None:
    # sent from a thread: the pipe holds 64 KiB, and the next item is made while the caller
    # has not yet taken the last one
    with ThreadPoolExecutor(1, thread_name_prefix="gridmap-send") as sender:
        try:
            for item in steps(*args):
                sender.submit(send.send_bytes, pickle.dumps(item, pickle.HIGHEST_PROTOCOL))
        except BaseException:  # the caller makes the missing items again and raises there
            pass
    send.close()


@contextmanager
def forked(
    steps: Callable[..., Iterator], *args, geometries: int
) -> Iterator[Callable[[], object]]:
    """The items of the generator ``steps(*args)``, one per call of the function the block gets.

    For inputs of at least ``MIN_FORK_GEOMETRIES`` geometries (on Linux, with two cores) the
    generator runs in a forked process while the block goes on: the child inherits ``args`` as
    they are (nothing is copied or pickled on the way in) and sends each item back pickled, as
    soon as it is made. Otherwise each item is made here when it is asked for. Should the child
    fail (an error, a crash), the missing items are made here, raising here if making them
    raises. The child is ended and reaped when the block ends, whatever happens in it.

    >>> def count(n):
    ...     yield from range(n)
    >>> with forked(count, 3, geometries=0) as item:
    ...     [item(), item(), item()]
    [0, 1, 2]
    """
    if not can_fork(geometries):
        yield steps(*args).__next__
        return
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_send_each, args=(send, steps, args), name="gridmap-steps")
    # what exists now is left out of garbage collections until the block ends, as the gc module
    # advises before a fork: the child's collections then neither walk the inherited objects
    # nor write to (and so copy) their memory pages, and this process's walk fewer objects
    gc.freeze()
    try:
        child.start()
        send.close()
        yield _received(receive, steps, args)
    finally:
        send.close()
        receive.close()
        if child.pid is not None:
            if child.is_alive():
                child.terminate()
            child.join()
        gc.unfreeze()


def _received(receive, steps: Callable[..., Iterator], args: tuple) -> Callable[[], object]:
    """The next item sent by the child; once it has failed, the next item made here."""
    received, here = 0, None

    def item():
        nonlocal received, here
        if here is None:
            try:
                value = pickle.loads(receive.recv_bytes())
                received += 1
                return value
            except EOFError:  # the child failed: make the items again, skip those received
                here = steps(*args)
                for _ in range(received):
                    next(here)
        return next(here)

    return item

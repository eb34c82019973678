"""A file's geometries checked a chunk at a time: repaired, reprojected to EPSG:4326 and
bound-checked (:func:`checked_arrays`), in a second thread from the moment the file is read
(:class:`CheckAhead`), and what a read with ``defer_geometry`` leaves to check
(:class:`PendingGeometry`). :mod:`gridmap.io.read` puts the checked chunks into its frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridmap.errors import CRSError
from gridmap.io.geometry import outside_china, repair_geometries, resolve_crs, to_storage_crs
from gridmap.io.sources import RawTable
from gridmap.layers import LayerSpec


class CheckAhead:
    """A vector file's geometries checked ``chunk_rows`` at a time in a second thread, started
    as soon as the file is read: GEOS releases the GIL while it checks and repairs, so the
    checks run alongside the reading of the fields and the writing of the chunks before.

    Each chunk's check depends on its own rows only, so a chunk checked ahead equals the same
    chunk checked when asked for.
    """

    def __init__(self, geoms: np.ndarray, rows: np.ndarray, crs, family: str, chunk_rows: int):
        from concurrent.futures import ThreadPoolExecutor

        self.resolved = None  # (crs, warnings) as resolve_crs gave them
        self.rows = rows
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="gridmap-check")
        self._chunks = {
            (start, start + chunk_rows): self._pool.submit(
                checked_arrays,
                geoms[start : start + chunk_rows].copy(),
                rows[start : start + chunk_rows],
                crs,
                family,
            )
            for start in range(0, len(geoms), chunk_rows)
        }

    def take(self, start: int, stop: int, rows: np.ndarray):
        """The chunk's checked arrays if it was checked ahead for these rows, else None."""
        future = self._chunks.pop((start, stop), None)
        if future is None or not np.array_equal(self.rows[start:stop], rows):
            return None
        return future.result()

    def close(self) -> None:
        """Chunks not started are dropped; the one being checked is waited for."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._chunks.clear()


def check_ahead(raw: RawTable, spec: LayerSpec, crs_option, chunk_rows: int) -> CheckAhead | None:
    """Start checking a vector file's geometries in a second thread (None for tables, whose
    geometries come from columns, and for a CRS that cannot be resolved: that error is raised
    where it always was)."""
    if raw.geometry is None or spec.geometry in ("none", "point"):
        return None
    geoms = np.asarray(raw.geometry, dtype=object)
    try:
        resolved = resolve_crs(raw.crs, crs_option, geoms)
    except CRSError:
        return None
    ahead = CheckAhead(geoms, raw.row_numbers, resolved[0], spec.geometry, chunk_rows)
    ahead.resolved = resolved
    return ahead


@dataclass
class PendingGeometry:
    """The geometries of a file whose other fields have passed, still to be checked and repaired
    (``read_layer_file(…, defer_geometry=True)``): checked a chunk at a time with
    :func:`check_chunk`, so that a loader can write one chunk while the next is checked."""

    geoms: np.ndarray | None  # as read, in the file's CRS
    crs: object
    family: str
    excused: set[int]  # rows whose missing geometry an address makes up for
    ahead: CheckAhead | None = None  # chunks checked in a second thread

    def close(self) -> None:
        """Stop checking ahead (when the load ends early)."""
        if self.ahead is not None:
            self.ahead.close()


def checked_arrays(geoms: np.ndarray, rows: np.ndarray, crs, family: str):
    """Repaired geometries in EPSG:4326, repair notes, repair problems, rows outside China."""
    geoms, notes, problems = repair_geometries(geoms, family, rows)
    usable = pd.notna(geoms)
    geoms[usable] = to_storage_crs(geoms[usable], crs)
    return geoms, notes, problems, outside_china(geoms, rows)

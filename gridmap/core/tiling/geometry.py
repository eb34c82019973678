"""Overlay tolerances and the fast union shared by the unit fabric and the grid proposal
(:mod:`gridmap.core.tiling`).

Overlays of digitised polygons leave slivers and pin holes where two borders are not noded alike:
pieces and holes of ``DUST_M2`` or less are dropped as dust
(``gridmap.io.polygons.polygons_of(geom, min_area_m2=DUST_M2)``), and borders within ``FUZZ_M``
count as shared. Polygons that tile are unioned quickly.

Examples
--------
>>> import numpy as np
>>> from shapely import box
>>> coverage_union(np.array([box(0, 0, 10, 10), box(10, 0, 20, 10)])).area  # they tile
200.0
"""

from __future__ import annotations

import numpy as np
import shapely

DUST_M2 = 1e-3  # numeric dust of overlays; larger pieces are ground someone must own
FUZZ_M = 1e-4  # borders this close count as shared (overlays leave them not noded alike)


def coverage_union(geoms: np.ndarray):
    """The union of polygons that tile without overlap (fast), or the general one if they do not."""
    try:
        return shapely.coverage_union_all(geoms)
    except shapely.errors.GEOSException:
        return shapely.union_all(geoms)

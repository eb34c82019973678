"""Overlay clean-up shared by the unit fabric and the grid proposal (:mod:`gridmap.core.tiling`).

Overlays of digitised polygons leave lines and points where shapes only touch, slivers and pin
holes where two borders are not noded alike. These helpers keep the polygons, drop the dust below
``DUST_M2``, and union polygons that tile quickly.

Examples
--------
>>> from shapely import box
>>> overlay_polygons(box(0, 0, 10, 10).intersection(box(10, 0, 20, 10))).is_empty  # they only touch
True
"""

from __future__ import annotations

import numpy as np
import shapely

DUST_M2 = 1e-3  # numeric dust of overlays; larger pieces are ground someone must own
FUZZ_M = 1e-4  # borders this close count as shared (overlays leave them not noded alike)


def overlay_polygons(geom):
    """The polygons of an overlay result: no lines or points where shapes only touch, and no dust
    (pieces or holes of ``DUST_M2`` or less, left where two borders are not noded alike)."""
    if geom.geom_type == "Polygon" and not len(geom.interiors) and geom.area > DUST_M2:
        return geom
    parts = shapely.get_parts(shapely.get_parts(geom))  # a collection may hold multipolygons
    kept = [
        shapely.Polygon(p.exterior, [r for r in p.interiors if shapely.Polygon(r).area > DUST_M2])
        for p in parts
        if p.geom_type == "Polygon" and p.area > DUST_M2
    ]
    if len(kept) > 1:
        return shapely.union_all(kept)
    return kept[0] if kept else shapely.Polygon()


def coverage_union(geoms: np.ndarray):
    """The union of polygons that tile without overlap (fast), or the general one if they do not."""
    try:
        return shapely.coverage_union_all(geoms)
    except shapely.errors.GEOSException:
        return shapely.union_all(geoms)

"""The polygons of a geometry: what overlays, repairs and readers leave, kept to its polygons.

Overlays and ``make_valid`` leave lines and points where shapes only touch, collections (inside
collections too) and, where two borders are not noded alike, slivers and pin holes. The one place
that keeps the polygons of such a result:

- :func:`polygonal` — every geometry of an array as a MultiPolygon of its polygons, or None where
  it has none: what the layers and plans store (MULTIPOLYGON only);
- :func:`polygons_of` — one geometry as its polygons of positive area (a polygon, a multipolygon
  or an empty polygon), with ``min_area_m2`` also without the dust of an overlay: what the
  editor's checks, the unit fabric and the grid proposal work on.

Examples
--------
>>> from shapely import GeometryCollection, LineString, box
>>> touching = box(0, 0, 10, 10).intersection(box(10, 0, 20, 10))  # they only touch: a line
>>> polygons_of(touching).is_empty, polygonal(np.array([touching]))[0] is None
(True, True)
>>> odd = GeometryCollection([box(0, 0, 1, 1), LineString([(1, 1), (2, 2)])])
>>> polygons_of(odd).wkt, polygonal(np.array([odd]))[0].wkt
('POLYGON ((1 0, 1 1, 0 1, 0 0, 1 0))', 'MULTIPOLYGON (((1 0, 1 1, 0 1, 0 0, 1 0)))')
"""

from __future__ import annotations

import numpy as np
import shapely


def leaf_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The single parts (points, lines, polygons) of every geometry at any depth, and whose."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    while (nested := np.isin(shapely.get_type_id(parts), (4, 5, 6, 7))).any():
        inner, at = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], inner])
        index = np.concatenate([index[~nested], index[nested][at]])
    return parts, index


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """Every geometry as a MultiPolygon of its polygons at any depth (None where it has none).

    Overlays can leave a GeometryCollection of a polygon and a line, or collections inside
    collections; the layers store MULTIPOLYGON only.

    >>> from shapely import GeometryCollection, LineString, MultiPolygon, box
    >>> odd = GeometryCollection([box(0, 0, 1, 1), LineString([(1, 1), (2, 2)]),
    ...                           MultiPolygon([box(2, 2, 3, 3)])])
    >>> [g.wkt[:14] if g is not None else None for g in polygonal(np.array([odd, LineString([(0, 0), (1, 1)])]))]
    ['MULTIPOLYGON (', None]
    >>> len(polygonal(np.array([odd]))[0].geoms)
    2

    Geometries without a polygon may come anywhere, first and between the others:

    >>> line = LineString([(0, 0), (1, 1)])
    >>> [g is None for g in polygonal(np.array([line, odd, line, box(0, 0, 1, 1)]))]
    [True, False, True, False]
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.full(len(geoms), None, dtype=object)
    # a plain polygon (almost every footprint) is its own only part: wrapped as it is
    simple = (shapely.get_type_id(geoms) == 3) & ~shapely.is_empty(geoms)
    if simple.any():
        out[simple] = shapely.multipolygons(geoms[simple], indices=np.arange(simple.sum()))
    if simple.all():
        return out
    rest = np.flatnonzero(~simple)
    parts, index = leaf_parts(geoms[rest])
    index = rest[index]
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    if keep.any():
        order = np.argsort(index[keep], kind="stable")  # parts of one geometry together, in order
        # shapely.multipolygons wants indices 0 … n-1 without a hole: geometries that keep no
        # polygon (a footprint make_valid turned into a line) would leave one, so the geometries
        # that do keep one are numbered afresh, and the results put back at their positions
        present, dense = np.unique(index[keep][order], return_inverse=True)
        out[present] = shapely.multipolygons(parts[keep][order], indices=dense.ravel())
    return out


def polygons_of(geom, *, min_area_m2: float | None = None):
    """The polygons of positive area of one geometry, at any depth: a polygon, a multipolygon
    or an empty polygon (where borders only touch, overlays leave lines, points and polygons of
    no area).

    Without ``min_area_m2`` the polygons are returned as they are, every vertex kept, so cells
    that tiled before still tile. With it the dust of an overlay goes too: pieces and holes of
    ``min_area_m2`` or less, which overlays leave where two borders are not noded alike; the
    pieces kept are then unioned, so a collection whose pieces overlap comes back valid.

    >>> from shapely import MultiPolygon, Polygon, box
    >>> holed = Polygon(box(0, 0, 10, 10).exterior, [box(2, 2, 2.01, 2.01).exterior])
    >>> dusty = MultiPolygon([holed, box(20, 0, 20.01, 0.01)])
    >>> kept = polygons_of(dusty)  # polygons of any area above 0, as they are
    >>> kept.geom_type, len(kept.geoms), len(kept.geoms[0].interiors)
    ('MultiPolygon', 2, 1)
    >>> polygons_of(dusty, min_area_m2=1e-3).wkt  # the sliver and the pin hole are dust
    'POLYGON ((10 0, 10 10, 0 10, 0 0, 10 0))'
    """
    plain = geom.geom_type == "Polygon" and not len(geom.interiors)
    if min_area_m2 is not None and plain and geom.area > min_area_m2:  # nothing to drop
        return geom
    parts, _ = leaf_parts(np.array([geom], dtype=object))
    least = 0.0 if min_area_m2 is None else min_area_m2
    parts = parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) > least)]
    if min_area_m2 is None:
        return parts[0] if len(parts) == 1 else shapely.multipolygons(parts) if len(parts) else shapely.Polygon()  # fmt: skip
    kept = [
        shapely.Polygon(p.exterior, [r for r in p.interiors if shapely.Polygon(r).area > least])
        for p in parts
    ]
    if len(kept) > 1:
        return shapely.union_all(kept)
    return kept[0] if kept else shapely.Polygon()

"""Geometry as the map displays it, and its GeoJSON text.

Stored geometry is WGS84 at full precision; the map gets it shifted for a GCJ-02 basemap, rounded
to about 0.1 m and simplified to half a pixel at its zoom (:func:`display_geometry`), written as
GeoJSON text by the one writer (:mod:`gridmap.io.geojson_text`), and, for views below street level that every
user asks alike, drawn once and kept with a spatial index to cut any box from (:class:`Drawn`).
The layer route (``routes/features.py``) and the gap routes (``routes/gaps.py``) share it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from gridmap.errors import InputFileError
from gridmap.io.geojson_text import MEDIA_TYPE, collection, feature_texts
from gridmap.io.geojson_text import feature_collection as feature_collection  # the routes'

DECIMALS = 6  # about 0.1 m: finer than any screen shows, and a third fewer bytes than 15 digits
GEOJSON = MEDIA_TYPE
Box = tuple[float, float, float, float]


def display_geometry(geoms, zoom: int | None, display: str):
    """Geometry as the map needs it: shifted, rounded, simplified to half a pixel at ``zoom``.

    Simplification keeps topology of each feature (no self-intersections); at zoom 17 and above
    nothing is simplified. ``display="gcj02"`` shifts coordinates for a GCJ-02 basemap.
    """
    geoms = np.asarray(geoms, dtype=object)
    if display == "gcj02":
        from gridmap.crs import geometries_from_wgs84

        geoms = geometries_from_wgs84(geoms, "gcj02")
    # Plain rounding can make a ring touch itself; only those few are snap-rounded, which keeps them
    # valid (snap-rounding every feature cost more than the whole query). Simplification then only
    # drops vertices, so its output stays on the rounded grid.
    rounded = shapely.transform(geoms, lambda c: np.round(c, DECIMALS))
    broken = ~shapely.is_valid(rounded) & ~shapely.is_missing(geoms)
    if broken.any():
        try:
            rounded[broken] = shapely.set_precision(geoms[broken], 10.0**-DECIMALS)
        except shapely.errors.GEOSException:
            # a stored geometry that is itself invalid, which GEOS cannot snap-round: shown
            # repaired rather than failing the whole layer
            rounded[broken] = shapely.make_valid(rounded[broken])
    if zoom is not None and zoom < 17:
        half_pixel = 360.0 / (256 * 2**zoom) / 2
        rounded = shapely.simplify(rounded, half_pixel, preserve_topology=True)
    return rounded


def refuse_more_than(limit: int, n: int) -> None:
    """More than ``limit`` features in a box is a clear 400: the map should zoom in."""
    if n > limit:
        raise InputFileError(
            f"范围内要素超过 {limit} 个，请放大地图或缩小 bbox。",
            f"More than {limit} features in the box; zoom in or narrow the bbox.",
        )


@dataclass(frozen=True)
class Drawn:
    """Features ready to draw (their GeoJSON texts, in the order read) and their stored
    geometries in a spatial index, to answer the features meeting any box at once."""

    texts: np.ndarray
    tree: shapely.STRtree
    nbytes: int

    def meeting(self, box: Box | None, at_most: int | None = None) -> str:
        """The FeatureCollection of the features meeting ``box`` (all without one); more than
        ``at_most`` of them is a 400."""
        if box is None:
            return collection(self.texts)
        found = self.tree.query(shapely.box(*box), predicate="intersects")
        if at_most is not None:
            refuse_more_than(at_most, len(found))
        return collection(self.texts[np.sort(found)])


def drawn(names: list[str], rows: list[tuple], stored, zoom: int | None, display: str) -> Drawn:
    """Features (``rows`` of ``names`` with their ``stored`` geometries) drawn at ``zoom``."""
    texts = feature_texts(names, rows, display_geometry(stored, zoom, display))
    weight = sum(map(len, texts)) + int(shapely.get_num_coordinates(stored).sum()) * 16
    return Drawn(np.array(texts, dtype=object), shapely.STRtree(stored), weight)

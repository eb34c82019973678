"""Checks of a coverage (cells or units that tile the ground) shared by the fabric tests."""

from __future__ import annotations

import numpy as np
import shapely


def neighbours(geoms: np.ndarray, distance: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of the shapes within ``distance`` of each other (touching at 0)."""
    i, j = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=distance)
    return i[i < j], j[i < j]


def t_junctions(geoms: np.ndarray) -> list[tuple[float, float]]:
    """Corners of one shape lying on a neighbour's border without being its vertex (the
    editor's welding would leave them, and painting would open 留白 there)."""
    out = []
    for a, b in zip(*neighbours(geoms), strict=True):
        for one, other in ((geoms[a], geoms[b]), (geoms[b], geoms[a])):
            corners = shapely.get_coordinates(one)
            on = shapely.intersects(shapely.points(corners), other.boundary)
            held = {tuple(xy) for xy in shapely.get_coordinates(other)}
            out += [tuple(xy) for xy in corners[on] if tuple(xy) not in held]
    return out

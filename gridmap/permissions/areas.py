"""An account's area (范围) and what lies in it: the place's side of every decision.

An area is the subdistrict, community or grid an account's code names (read from the store by
:func:`gridmap.store.areas.resolve_area`). Admins have no area (``None``: everything). Anyone else
sees figures, gaps, proposals and members of their area only; a code that names no place gives
an empty area, never the whole database. Outside it, things read as absent (404).

Examples
--------
>>> from shapely import box
>>> a = Area("community", "C1", frozenset({"C1"}), box(0, 0, 1, 1))
>>> a.holds_community("C1"), a.holds_community("C2"), a.holds_community(None)
(True, False, False)
>>> Area.nothing("X").holds_community("X")
False
>>> may_see_unit(a, "grid", "G1", "C1"), may_see_unit(a, "community", "C2", "C2"), may_see_unit(None, "grid", "G9", None)
(True, False, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from gridmap.errors import NotFoundError

Level = Literal["subdistrict", "community", "grid", "none"]
UNIT_LEVELS = ("subdistrict", "community", "grid")  # the levels an area and a figure are of


@dataclass(frozen=True)
class Area:
    """Where an account may look: its level, code, communities and outline (WGS84).

    The same shape names a place asked for (:func:`gridmap.store.places.find_place`: also a
    compound or a building), so that :func:`holds_place` can say whether it lies in an area."""

    level: Level
    code: str
    communities: frozenset[str]
    geometry: BaseGeometry | None

    @classmethod
    def nothing(cls, code: str) -> Area:
        return cls("none", code, frozenset(), None)

    def holds_community(self, code: str | None) -> bool:
        return code is not None and code in self.communities

    def holds_unit(self, level: str, code: str, community: str | None) -> bool:
        """Whether a unit of the analysis (its level, code, community) lies in this area.

        A grid account sees its own grid only; a community account its community and what lies
        in it; a subdistrict account everything of its communities and the subdistrict itself.
        """
        if self.level == "grid":
            return level == "grid" and code == self.code
        if level == "subdistrict":  # a database holds one subdistrict (its figures may lack a code)
            return self.level == "subdistrict"
        if level == "community":
            return code in self.communities
        return self.holds_community(community)

    def bbox(self) -> tuple[float, float, float, float] | None:
        return None if self.geometry is None else tuple(self.geometry.bounds)

    def covers(self, geoms):
        """For each geometry: does it lie in the area (its representative point inside)?"""
        if self.geometry is None:
            return np.zeros(len(geoms), dtype=bool)
        points = shapely.point_on_surface(np.asarray(geoms, dtype=object))
        shapely.prepare(self.geometry)
        return shapely.covers(self.geometry, points)


def may_see_unit(area: Area | None, level: str, code: str, community: str | None) -> bool:
    """Whether a unit of the analysis lies in ``area`` (every unit for ``None``, admins)."""
    return area is None or area.holds_unit(level, code, community)


def holds_place(area: Area | None, place: Area) -> bool:
    """Whether a place asked for lies in ``area``: a subdistrict, community or grid by its code
    (:meth:`Area.holds_unit`), a compound or building by its outline (:meth:`Area.covers`)."""
    if area is None:
        return True
    if place.level in UNIT_LEVELS:
        community = next(iter(place.communities), None) if place.level == "grid" else None
        return area.holds_unit(place.level, place.code, community)
    return bool(area.covers(np.array([place.geometry], dtype=object))[0])


def holds_shape(area: Area | None, shape: BaseGeometry) -> bool:
    """Whether one shape (a grid cell drawn on a board …) lies in ``area`` by its outline."""
    return area is None or bool(area.covers(np.array([shape], dtype=object))[0])


def in_area(frame, area: Area | None):
    """A boolean mask of the rows of ``frame`` that lie in ``area`` (all of them for ``None``).

    A row lies in the area when its geometry's representative point does; a row without a
    geometry, by its ``community_code`` (and never for a grid account, whose area is smaller
    than a community).
    """
    if area is None:
        return np.ones(len(frame), dtype=bool)
    geoms = frame.geometry.values if hasattr(frame, "geometry") else np.full(len(frame), None)
    present = ~shapely.is_missing(np.asarray(geoms, dtype=object))
    mask = np.zeros(len(frame), dtype=bool)
    if present.any():
        mask[present] = area.covers(np.asarray(geoms, dtype=object)[present])
    if "community_code" in frame and area.level != "grid":
        codes = frame["community_code"].to_numpy(dtype=object)
        mask[~present] = [area.holds_community(c) for c in codes[~present]]
    return mask


def outside_area(what_zh: str, what_en: str) -> NotFoundError:
    """The 404 for something outside the caller's area: the same as for something absent."""
    return NotFoundError(f"没有{what_zh}。", f"No {what_en}.")

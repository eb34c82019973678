"""An account's area (范围): the code of a subdistrict, community or grid, read from the store.

Admins have no area (everything). Anyone else sees figures, gaps, proposals and members of
their area only; a code that names no place gives an empty area, never the whole database.

Examples
--------
>>> from shapely import box
>>> a = Area("community", "C1", frozenset({"C1"}), box(0, 0, 1, 1))
>>> a.holds_community("C1"), a.holds_community("C2"), a.holds_community(None)
(True, False, False)
>>> Area.nothing("X").holds_community("X")
False
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, func, select

from gridmap.store.models import table_for

Level = Literal["subdistrict", "community", "grid", "none"]


@dataclass(frozen=True)
class Area:
    """Where an account may look: its level, code, communities and outline (WGS84)."""

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
        import numpy as np

        if self.geometry is None:
            return np.zeros(len(geoms), dtype=bool)
        points = shapely.point_on_surface(np.asarray(geoms, dtype=object))
        shapely.prepare(self.geometry)
        return shapely.covers(self.geometry, points)


def _geometry(conn: Connection, table, *where) -> BaseGeometry | None:
    wkb = conn.execute(select(func.ST_AsBinary(table.c.geom)).where(*where).limit(1)).scalar()
    return shapely.from_wkb(bytes(wkb)) if wkb is not None else None


def resolve_area(conn: Connection, code: str) -> Area:
    """The area a code names: a subdistrict, a community, or a grid (the unified grid first)."""
    subdistrict, community, grid = (table_for(n) for n in ("subdistrict", "community", "grid"))
    if conn.execute(select(subdistrict.c.id).where(subdistrict.c.code == code)).first():
        codes = conn.execute(select(community.c.code).where(community.c.subdistrict_code == code))
        return Area("subdistrict", code, frozenset(codes.scalars()),
                    _geometry(conn, subdistrict, subdistrict.c.code == code))  # fmt: skip
    geometry = _geometry(conn, community, community.c.code == code)
    if geometry is not None:
        return Area("community", code, frozenset({code}), geometry)
    row = conn.execute(
        select(grid.c.community_code, func.ST_AsBinary(grid.c.geom).label("wkb"))
        .where(grid.c.code == code)
        .order_by((grid.c.layer != "unified"), grid.c.layer)
        .limit(1)
    ).first()
    if row is not None and row.wkb is not None:
        return Area("grid", code, frozenset({row.community_code} - {None}),
                    shapely.from_wkb(bytes(row.wkb)))  # fmt: skip
    return Area.nothing(code)


def places(conn: Connection) -> list[tuple[str, str | None]]:
    """The code and name of every subdistrict and community, in code order (grids not listed:
    there are hundreds); empty while nothing is loaded."""
    rows = []
    for name in ("subdistrict", "community"):
        table = table_for(name)
        rows += conn.execute(select(table.c.code, table.c.name).order_by(table.c.code)).all()
    return [(r.code, r.name) for r in rows]


def in_area(frame, area: Area | None):
    """A boolean mask of the rows of ``frame`` that lie in ``area`` (all of them for ``None``).

    A row lies in the area when its geometry's representative point does; a row without a
    geometry, by its ``community_code`` (and never for a grid account, whose area is smaller
    than a community).
    """
    import numpy as np

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

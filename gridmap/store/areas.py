"""Reading an account's area (范围) from the store: the subdistrict, community or grid its code
names, with its communities and outline; and the places an account may be given.

What lies in an area, and what an account may see there, is decided by :mod:`gridmap.permissions`.
"""

from __future__ import annotations

import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, func, select

from gridmap.permissions import Area
from gridmap.store.models import table_for


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

"""A place typed as a person types it: a name (锦绣社区, 锦绣花园, 玉林一网格) or a code.

:func:`find_place` answers with an :class:`Area` — a subdistrict, community or grid as
:func:`gridmap.store.areas.resolve_area` gives it, or a compound or building with its outline
and its community — and the place's name written for people: ``锦绣社区（510199001001）``.
A text that names no place, or several, is a :class:`PlaceNotFound` listing the places whose
name or code it matches, so that a page can offer them.
"""

from __future__ import annotations

import shapely
from sqlalchemy import Connection, func, select

from gridmap.errors import NotFoundError
from gridmap.permissions import Area
from gridmap.store.areas import resolve_area
from gridmap.store.features import search_features
from gridmap.store.models import table_for

# the layers a place may be typed from, larger first; stations hold no one
PLACE_LAYERS = ("community", "grid", "compound", "building")


class PlaceNotFound(NotFoundError):
    """No place, or no single place, of that name or code; ``candidates`` are the places whose
    name or code it matches (``layer``, ``code``, ``name``), larger first."""

    def __init__(self, text: str, candidates: list[dict]):
        self.candidates = candidates
        if candidates:
            super().__init__(f"“{text}”可指几个地点，请从下面选一个。", f"“{text}” matches several places: choose one below.")  # fmt: skip
        else:
            super().__init__(
                f"没有名称或编号为“{text}”的地点，或它不在您的范围内。请输入社区、网格、小区或楼栋的名称或编号。",
                f"No place is named or coded “{text}”, or it lies outside your area. Type the name or code of a community, grid, compound or building.",
            )  # fmt: skip


def labelled(name: str | None, code: str) -> str:
    """A place as people read it: the name first, the code in brackets.

    >>> labelled("锦绣社区", "510199001001"), labelled(None, "XQ001"), labelled("XQ001", "XQ001")
    ('锦绣社区（510199001001）', 'XQ001', 'XQ001')
    """
    return f"{name}（{code}）" if name and name != code else code


def _named_area(conn: Connection, layer: str, code: str) -> Area:
    """A compound or building as an area: its outline and the community it lies in."""
    table = table_for(layer)
    if layer == "building":  # a building's community is its compound's
        compound = table_for("compound")
        community = select(compound.c.community_code).where(compound.c.code == table.c.compound_code)  # fmt: skip
        community = community.scalar_subquery()
    else:
        community = table.c.community_code
    row = conn.execute(
        select(func.ST_AsBinary(table.c.geom).label("wkb"), community.label("community"))
        .where(table.c.code == code)
        .limit(1)
    ).first()
    if row is None or row.wkb is None:
        return Area.nothing(code)
    communities = frozenset({row.community} - {None})
    return Area(layer, code, communities, shapely.from_wkb(bytes(row.wkb)))  # type: ignore[arg-type]


def _subdistrict_code(conn: Connection, text: str) -> str | None:
    table = table_for("subdistrict")
    return conn.execute(select(table.c.code).where(table.c.name == text).limit(1)).scalar()


def name_of(conn: Connection, area: Area) -> str | None:
    """The name of the place ``area`` is (the unified grid's cell first for a grid code)."""
    if area.level == "none":
        return None
    table = table_for(area.level)
    query = select(table.c.name).where(table.c.code == area.code)
    if area.level == "grid":
        query = query.order_by(table.c.layer != "unified", table.c.layer)
    return conn.execute(query.limit(1)).scalar()


def find_place(conn: Connection, text: str) -> tuple[Area, str]:
    """The place ``text`` names and its label (:func:`labelled`).

    A code is taken first (a subdistrict, community or grid code as :func:`resolve_area` takes
    it, then a compound's or building's), then a name equal to ``text``, then the one place
    whose name holds ``text``. Raises :class:`PlaceNotFound` otherwise.
    """
    text = text.strip()
    area = resolve_area(conn, _subdistrict_code(conn, text) or text) if text else None
    if area is not None and area.level != "none":
        return area, labelled(name_of(conn, area), area.code)
    hits = [h for h in search_features(conn, text, limit=20) if h["layer"].split(":")[0] in PLACE_LAYERS] if text else []  # fmt: skip
    exact = [h for h in hits if text in (h["code"], h["name"])]
    chosen = exact[0] if exact else hits[0] if len(hits) == 1 else None
    if chosen is None:
        raise PlaceNotFound(text, hits[:8])
    layer = chosen["layer"].split(":")[0]
    area = resolve_area(conn, chosen["code"]) if layer in ("community", "grid") else _named_area(conn, layer, chosen["code"])  # fmt: skip
    return area, labelled(chosen["name"], chosen["code"])


def first_subdistrict(conn: Connection, area: Area | None) -> dict | None:
    """The code and name of the subdistrict the map is of (a database usually holds one): the
    area's own for a subdistrict account, else the first by code; ``None`` when there is none."""
    table = table_for("subdistrict")
    query = select(table.c.code, table.c.name).order_by(table.c.code).limit(1)
    if area is not None and area.level == "subdistrict":
        query = query.where(table.c.code == area.code)
    row = conn.execute(query).first()
    return {"code": row.code, "name": row.name} if row else None

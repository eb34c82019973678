"""Store the unit fabric (单元底图): replaced whole by each integration run, read by community.

Geometries are kept as MULTIPOLYGON in EPSG:4326 like every layer, on the grid of the 8 decimals
the editor keeps (about a millimetre): the units are snap-rounded there together when they are
stored (:func:`gridmap.io.geojson_text.rounded_coverage`), so that every reader (the fabric route,
painting, plan imports, a GIS tool rounding what it was sent) gets units that are valid on that
grid, do not overlap and share their borders vertex for vertex. Rounded each alone, 31 of the
demo's 170 units were invalid at 8 decimals (41 at 7): the overlays leave vertices and parts a
hair apart, which rounding puts on one point.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select

from gridmap.core.branches import BRANCH_KINDS
from gridmap.errors import NotFoundError
from gridmap.io.geojson_text import EDITOR_DECIMALS, rounded_coverage
from gridmap.io.polygons import polygonal
from gridmap.layers import STORAGE_CRS
from gridmap.store.features import bbox_clause, with_wkb_geometry
from gridmap.store.models import SRID, FabricUnit, table_for

COLUMNS = ["code", "community_code", "compound_code", "kind", "households", "buildings",
           "members_full", "members_probationary", "building_codes", "area_m2"]  # fmt: skip


def save_fabric(conn: Connection, units: gpd.GeoDataFrame | None, run_id: int | None) -> None:
    """Replace the stored fabric by ``units`` (columns of :func:`gridmap.core.fabric.as_table`,
    any CRS; nothing is done for ``None``, a run that made no fabric), snapped to the grid
    (:func:`on_grid`)."""
    if units is None:
        return
    table = FabricUnit.__table__
    conn.execute(delete(table))
    if units.empty:
        return
    if "area_m2" not in units:
        raise ValueError("units need area_m2 (gridmap.core.fabric.as_table)")
    units = units.to_crs(STORAGE_CRS)
    data = pd.DataFrame(units[COLUMNS]).astype(object)
    records = data.where(data.notna(), None).to_dict("records")
    for record, wkb in zip(records, shapely.to_wkb(polygonal(on_grid(units.geometry.values))), strict=True):  # fmt: skip
        record.update(run_id=run_id, wkb=wkb)
    values = {c: bindparam(c) for c in ("run_id", *COLUMNS)}
    values["geom"] = func.ST_GeomFromWKB(bindparam("wkb"), SRID)
    conn.execute(insert(table).values(values), records)


def on_grid(units) -> np.ndarray:
    """The units (EPSG:4326) snap-rounded together to ``EDITOR_DECIMALS``: valid there, none
    overlapping (ground two held goes to the first), borders shared vertex for vertex. The
    figures and ``area_m2`` stay those of the units as made (the borders move by a millimetre at
    most). A unit narrower than the grid everywhere, which would be left without ground, is
    kept as it was."""
    units = np.asarray(units, dtype=object)
    snapped = rounded_coverage(units, EDITOR_DECIMALS, exclusive=True)
    lost = shapely.is_empty(snapped)
    snapped[lost] = units[lost]
    return snapped


def read_fabric(
    conn: Connection, community: str | None = None, codes: list[str] | None = None
) -> gpd.GeoDataFrame:
    """The stored units (EPSG:4326), of one community or of the given codes, in code order."""
    table = FabricUnit.__table__
    query = select(*[table.c[c] for c in COLUMNS], func.ST_AsBinary(table.c.geom).label("wkb"))
    if community is not None:
        query = query.where(table.c.community_code == community)
    if codes is not None:
        query = query.where(table.c.code.in_(list(codes)))
    # plain tuples: pandas builds the frame several times faster than from row mappings
    rows = list(map(tuple, conn.execute(query.order_by(table.c.code))))
    frame = with_wkb_geometry(pd.DataFrame(rows, columns=[*COLUMNS, "wkb"]))
    for column in ("households", "buildings", "members_full", "members_probationary"):
        frame[column] = frame[column].to_numpy(dtype=np.int64)
    return frame


def require_fabric(conn: Connection) -> gpd.GeoDataFrame:
    """The whole stored fabric, or a clear error saying how to make it."""
    units = read_fabric(conn)
    if units.empty:
        raise NotFoundError(
            "还没有单元底图：请先运行 gridmap integrate (或 gridmap analyze)。",
            "No unit fabric yet: run gridmap integrate (or gridmap analyze) first.",
        )
    return units


def compound_parts(conn: Connection, compounds: list[str]) -> pd.DataFrame:
    """Every unit that is a building group of one of ``compounds`` (``compound_part``): code,
    community_code, compound_code, kind, households — what a cell holding some of them lacks."""
    table = FabricUnit.__table__
    columns = ["code", "community_code", "compound_code", "kind", "households"]
    if not compounds:
        return pd.DataFrame(columns=columns)
    query = select(*[table.c[c] for c in columns]).where(
        table.c.kind == "compound_part", table.c.compound_code.in_(sorted(set(compounds)))
    )
    return pd.DataFrame(conn.execute(query).all(), columns=columns)


LIKE_MAX = 50  # compounds looked up by pattern; for more, every branch's list is read


def branch_covered(conn: Connection, compounds: list[str]) -> set[str] | None:
    """Which of ``compounds`` an existing branch, joint branch or general branch covers
    (覆盖小区); ``None`` when no organisation table is loaded, so coverage cannot be judged."""
    table = table_for("org")
    if conn.execute(select(table.c.code).limit(1)).first() is None:
        return None
    wanted = set(compounds)
    query = select(table.c.covers).where(table.c.kind.in_(BRANCH_KINDS), table.c.covers.is_not(None))  # fmt: skip
    if 0 < len(wanted) <= LIKE_MAX:  # a pattern only narrows the rows: the lists are split below
        query = query.where(or_(*[table.c.covers.contains(c, autoescape=True) for c in sorted(wanted)]))  # fmt: skip
    found: set[str] = set()
    for (covers,) in conn.execute(query):
        found.update(c.strip() for c in str(covers).split(";"))
    return found & wanted


def stations_in_box(conn: Connection, bbox: tuple[float, float, float, float]):
    """The codes and points (EPSG:4326) of the Party service stations in a lon/lat box."""
    table = table_for("station")
    rows = conn.execute(select(table.c.code, func.ST_AsBinary(table.c.geom)).where(bbox_clause(conn, table, bbox))).all()  # fmt: skip
    codes = np.array([r[0] for r in rows], dtype=object)
    return codes, shapely.from_wkb(np.array([bytes(r[1]) for r in rows], dtype=object)) if rows else np.array([], dtype=object)  # fmt: skip

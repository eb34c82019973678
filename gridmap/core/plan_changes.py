"""Which cells of a plan a planner changed outside their area (a planner may change only the
cells of their area). Pure functions; see :mod:`gridmap.core.plans` for the rest of a plan."""

from __future__ import annotations

import geopandas as gpd
import shapely


def changes_outside(
    old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, area, tolerance: float = 1e-10
) -> list[str]:
    """Cells added, removed or reshaped from ``old`` to ``new`` that do not lie in ``area``.

    A planner may change the cells of their area only: a cell counts as in the area when its
    representative point is (before and after the change). Both frames are in one CRS, and
    ``tolerance`` is the area (in its units²) below which two outlines are the same cell — the
    default, 1e-10 degree², is about one square metre. New cells without a code are named by
    their position in ``new``.

    >>> from shapely import box
    >>> old = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)])
    >>> new = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 3, 1)])
    >>> changes_outside(old, new, box(0, 0, 1.2, 1)), changes_outside(old, new, box(0, 0, 9, 1))
    (['B'], [])
    """
    shapely.prepare(area)

    def inside(geom) -> bool:
        return geom is not None and bool(shapely.covers(area, shapely.point_on_surface(geom)))

    before = {c: g for c, g in zip(old["code"], old.geometry.values, strict=True) if c is not None}
    out: list[str] = []
    for i, (code, geom) in enumerate(zip(new["code"], new.geometry.values, strict=True)):
        was = before.pop(code, None) if code is not None else None
        same = was is not None and shapely.area(shapely.symmetric_difference(was, geom)) < tolerance
        if not same and not (inside(geom) and (was is None or inside(was))):
            out.append(code if code is not None else f"#{i + 1}")
    out += [code for code, was in before.items() if not inside(was)]  # removed
    return out

"""The unified cells' geometry made storable: snapped to a micrometre grid, without hairline
parts, and valid in the storage CRS too.

Independently digitised layers meet only up to float noise and leave hairlines along every
border they nearly share; :mod:`gridmap.core.unified_grid` cleans its cells with these before
giving them codes.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> thin = box(0, 0, 100, 0.01)  # a centimetre-wide strip: a hairline, not ground
>>> has_ground([box(0, 0, 100, 100), thin], min_area=1.0).tolist()
[True, False]
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.core.topology import mean_width
from gridmap.io.polygons import polygonal

TINY_M2 = 1e-4  # numeric dust from overlay; anything larger is ground someone must own
GRID_M = 1e-6  # cells are snapped to the micrometre: ~1000 × the float noise of metric coordinates
# a cell, or a part of one, narrower than this on average (2 × area / perimeter) is a hairline:
# layers digitised independently leave them along every border they nearly share (centimetres
# apart, or 1e-9 degree). The files hold 7 decimals of a degree (~1 cm): there a hairline
# collapses to a line, and a cell with one is written as a GeometryCollection, or as a line
HAIRLINE_M = 0.05


def has_ground(geoms, min_area: float) -> np.ndarray:
    """True for the cells (or pieces) that can be cells: area above ``min_area``, no hairline."""
    return (shapely.area(geoms) > min_area) & (mean_width(geoms) >= HAIRLINE_M)


def snapped_to_grid(geoms: np.ndarray) -> np.ndarray:
    """Cells on a ``GRID_M`` grid, valid, polygonal, with nothing thinner than the grid left.

    Cells and communities drawn on the same lines meet only up to float noise (~1e-9 m): the
    difference and unions above then leave zero-width spikes along such borders, valid by a
    nanometre and self-intersecting once reprojected to the storage CRS. Snap-rounding (GEOS)
    removes them and moves every other vertex by less than a micrometre.

    The cells come back measured in floating point again, their coordinates staying on the grid:
    GEOS would otherwise snap-round every later overlay of a cell to that grid as well (the
    crosswalk, buildings in cells), at about four times the cost, for areas that differ by well
    under a square millimetre. It is also what a cell read back from WKB (pickled, stored) is.
    """
    snapped = shapely.set_precision(shapely.make_valid(geoms), GRID_M)
    # make_valid may leave a polygon and a line; a cell keeps its polygons
    odd = ~np.isin(shapely.get_type_id(snapped), (3, 6))
    snapped[odd] = polygonal(snapped[odd])
    return shapely.set_precision(snapped, 0.0, mode="pointwise")


def without_hairlines(cells: gpd.GeoDataFrame, min_area: float) -> gpd.GeoDataFrame:
    """Every cell without its hairline parts; none is left with less than ``min_area``.

    Gap ground and compound pieces joined to a cell that they lie a hair's breadth from (not on)
    stay apart from it, as parts of their own, as thin as that hair. Such a part goes to the cell
    of its community along which it lies (the longest border, within a centimetre) when it
    joins that cell without a new part; otherwise its ground (narrower than ``HAIRLINE_M``)
    stays with no cell, as the files could not hold it anyway. Cells left with no more than
    ``min_area`` (only possible for a cell that was hairlines) are dropped.
    """
    geoms = np.asarray(cells.geometry.values, dtype=object).copy()
    parts, owner = shapely.get_parts(geoms, return_index=True)
    thin = (mean_width(parts) < HAIRLINE_M) | (shapely.area(parts) <= TINY_M2)
    if not thin.any():
        return cells
    broken = np.unique(owner[thin])
    kept = parts[~thin]
    held = owner[~thin]
    for i in broken:
        mine = kept[held == i]
        geoms[i] = shapely.MultiPolygon(list(mine)) if len(mine) else shapely.MultiPolygon()
    community = cells["community_code"].to_numpy()
    changed = np.zeros(len(geoms), dtype=bool)
    tree = shapely.STRtree(geoms)
    for part, i in zip(parts[thin], owner[thin], strict=True):
        near = tree.query(shapely.buffer(part, 0.01), predicate="intersects")
        near = near[(community[near] == community[i]) & ~shapely.is_empty(geoms[near])]
        if not len(near) or shapely.area(part) <= TINY_M2:
            continue
        border = shapely.length(
            shapely.intersection(part.boundary, shapely.buffer(geoms[near], 0.01))
        )
        target = int(near[int(np.argmax(border))])
        joined = shapely.union(geoms[target], part)
        if shapely.get_num_geometries(joined) <= shapely.get_num_geometries(geoms[target]):
            geoms[target] = joined
            changed[target] = True
    changed[broken] = True
    geoms[changed] = polygonal(shapely.make_valid(geoms[changed]))
    keep = pd.notna(geoms)
    keep[keep] = shapely.area(geoms[keep].astype(object)) > min_area
    out = cells.copy()
    out["geometry"] = gpd.GeoSeries(geoms, index=cells.index, crs=cells.crs)
    return out[keep].reset_index(drop=True)


def in_storage_crs(cells: gpd.GeoDataFrame, crs="EPSG:4326") -> gpd.GeoDataFrame:
    """The cells in the CRS they are stored and exported in, valid there as well.

    A straight edge in metres is slightly curved in degrees (millimetres over a kilometre), so a
    vertex within that distance of its own cell's edge can cross it once reprojected; such a
    cell is repaired there (made valid, its polygons kept).
    """
    out = cells.to_crs(crs)
    broken = ~shapely.is_valid(out.geometry.values)
    if broken.any():
        geoms = out.geometry.values.copy()
        geoms[broken] = polygonal(shapely.make_valid(geoms[broken]))
        out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs))
    return out

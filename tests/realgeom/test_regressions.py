"""Defects the real-geometry corpus found, each pinned by the smallest case that shows it."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import shapely
from shapely import box

from gridmap.io.polygons import polygonal
from gridmap.io.write import write_frame


def test_polygonal_with_geometries_that_keep_no_polygon_anywhere_in_the_array():
    """``shapely.multipolygons`` wants indices without holes: ``Index N is missing``."""
    line = shapely.LineString([(0, 0), (1, 1)])
    geoms = np.array([line, box(0, 0, 1, 1), line, line, box(2, 2, 3, 3), shapely.Point(0, 0)])
    out = polygonal(geoms)
    assert [g is None for g in out] == [True, False, True, True, False, True]
    assert out[4].equals(shapely.MultiPolygon([box(2, 2, 3, 3)]))


def test_geojson_keeps_polygons_polygons_when_a_part_is_thinner_than_its_7_decimals(tmp_path):
    """GDAL's GeoJSON writer rounds to 7 decimals and writes what collapses: a cell with a part
    5 mm wide came out as a GeometryCollection, a cell 4 mm wide as a LineString, while the
    database held MultiPolygons for both."""
    x, y = 104.0, 30.0
    appendix = shapely.union(box(x, y, x + 1e-3, y + 1e-3), box(x + 1e-3, y, x + 2e-3, y + 5e-8))
    thin_part = shapely.MultiPolygon(
        [box(x, y + 3e-3, x + 1e-3, y + 4e-3), box(x + 2e-3, y + 3e-3, x + 2.00003e-3, y + 4e-3)]
    )
    cells = gpd.GeoDataFrame({"code": ["a", "b"]}, geometry=[appendix, thin_part], crs=4326)
    path = write_frame(cells, tmp_path / "unified_grid.geojson", "geojson", "unified_grid")
    written = json.loads(path.read_text(encoding="utf-8"))["features"]
    assert [f["geometry"]["type"] for f in written] == ["Polygon", "MultiPolygon"]
    back = gpd.read_file(path)
    assert back.is_valid.all()
    # what was written is the stored shape but the parts narrower than the rounding (~0.5 m²)
    difference = shapely.symmetric_difference(back.geometry.values, cells.geometry.values)
    assert (shapely.area(difference) < 1e-10).all()

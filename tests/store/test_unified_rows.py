"""A unified cell that the overlays left as a polygon plus a line is stored as its polygon."""

from __future__ import annotations

import geopandas as gpd
from shapely import GeometryCollection, LineString, box

from gridmap.runs import FIGURES, unified_rows
from gridmap.store.features import read_features, upsert_features


def test_geometry_collection_cell_is_stored_as_its_polygons(engine):
    x, y, d = 104.06, 30.66, 0.001
    odd = GeometryCollection([box(x, y, x + d, y + d), LineString([(x + d, y), (x + 2 * d, y)])])
    unified = gpd.GeoDataFrame(
        {"code": ["C01001", "C01002"], "name": ["一", "二"], "community_code": ["C01", "C01"],
         **{f: [1, 2] for f in FIGURES}},
        geometry=[odd, box(x + d, y, x + 2 * d, y + d)], crs=4326,
    )  # fmt: skip
    rows = unified_rows(unified)
    assert list(rows.geometry.geom_type) == ["MultiPolygon", "MultiPolygon"]
    with engine.begin() as conn:
        upsert_features(conn, "grid", rows, grid_layer="unified")
    with engine.connect() as conn:
        stored = read_features(conn, "grid", grid_layer="unified").set_index("code")
    assert stored.geometry["C01001"].equals(box(x, y, x + d, y + d))

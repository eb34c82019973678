"""The plans routes write GeoJSON through the one writer (:mod:`gridmap.io.geojson_text`): what
they answer parses to what geopandas' ``to_json`` gave before, for the values cells and problems
carry (text, missing values, numbers, lists, multi-part outlines at full precision)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import shapely

from gridmap.api.routes.plans.editing import geojson
from gridmap.api.routes.plans.frames import features_of


def frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": ["DJ101", "NEW-1"], "name": [None, "玉林一网格"], "households": [412, 0],
         "measure": [0.1, np.nan], "codes": [["DJ101", "DJ102"], []]},
        geometry=[shapely.MultiPolygon([shapely.box(104.1, 30.123456789012345, 104.2, 30.3)]),
                  shapely.Polygon([(104.0, 30.0), (104.0 + 1 / 3, 30.0), (104.0, 30.1)])],
        crs=4326,
    )  # fmt: skip


def before(f: gpd.GeoDataFrame) -> dict:
    return json.loads(f.to_json(na="null", drop_id=True, ensure_ascii=False))


def test_cells_and_problems_parse_as_before():
    f = frame()
    assert features_of(f) == before(f)
    answer = geojson(f)
    assert answer.media_type == "application/geo+json"
    assert json.loads(answer.body) == before(f)


def test_a_metric_frame_is_written_in_lon_lat_and_an_empty_one_as_an_empty_collection():
    f = frame()
    metric = f.to_crs(32648)
    written = features_of(metric)["features"][0]["geometry"]["coordinates"][0][0][0]
    assert np.allclose(written, [104.2, 30.123456789012345], atol=1e-9)
    empty = f.iloc[:0]
    assert features_of(empty) == before(empty) == {"type": "FeatureCollection", "features": []}

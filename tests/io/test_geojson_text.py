"""The one GeoJSON text writer: what the routes, the OGC API and the report maps send."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
from shapely.geometry import Point, Polygon

from gridmap.io.geojson_text import collection, feature_texts, frame_collection, script_safe, spaced

RING = Polygon([(104.0, 30.0), (104.002, 30.0), (104.001, 30.0013), (104.0005, 30.0021)])


def test_a_frame_reads_back_as_geopandas_writes_it_with_missing_values_as_null():
    frame = gpd.GeoDataFrame(
        {
            "kind": ["branch", None],
            "full_members": [3, np.nan],
            "details": [{"buildings": ["B1"]}, None],
        },
        geometry=[RING, Point(104.1, 30.2)],
        crs=4326,
    )
    ours = json.loads(frame_collection(frame, spaced))
    theirs = json.loads(frame.to_json(na="null", drop_id=True, ensure_ascii=False))
    assert ours == theirs
    assert ours["features"][1]["properties"] == {
        "kind": None,
        "full_members": None,
        "details": None,
    }


def test_a_missing_geometry_is_null_and_odd_values_are_written_as_text():
    from datetime import date

    (text,) = feature_texts(["code", "on"], [("网格1", date(2026, 3, 1))], [None])
    assert json.loads(text) == {"type": "Feature", "properties": {"code": "网格1", "on": "2026-03-01"}, "geometry": None}  # fmt: skip
    assert "网格1" in text  # not \\u-escaped


def test_other_members_of_a_collection_come_before_the_features():
    text = collection(['{"type":"Feature"}'], {"numberMatched": 1, "links": [{"rel": "self"}]})
    assert list(json.loads(text)) == ["type", "numberMatched", "links", "features"]
    assert json.loads(collection("")) == {"type": "FeatureCollection", "features": []}


def test_text_inside_a_script_cannot_close_it():
    safe = script_safe(
        collection(feature_texts(["popup"], [("</script><b>&</b>",)], [Point(0, 0)]))
    )
    assert "</script>" not in safe and "&" not in safe
    assert json.loads(safe)["features"][0]["properties"]["popup"] == "</script><b>&</b>"

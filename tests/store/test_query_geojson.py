"""OGC items as the database writes them (:func:`query_geojson`): the features, properties and
rounding of the rows the store reads, and the page's counts, on SpatiaLite and PostGIS alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import box

from gridmap.store.db import transaction
from gridmap.store.features import upsert_features
from gridmap.store.query import query_features, query_geojson

NAMES = ["引号\"和'单引号", "line\nbreak\ttab", "back\\slash", None]


def compounds() -> gpd.GeoDataFrame:
    """Four compounds with awkward text, every boolean state and coordinates finer than 1 cm."""
    return gpd.GeoDataFrame(
        {
            "code": [f"C{i}" for i in range(4)],
            "name": NAMES,
            "community_code": ["S1", None, "S1", "S2"],
            "property_company": ["锦绣物业", None, "", "x"],
            "property_has_org": pd.array([True, False, None, True], dtype="boolean"),
        },
        geometry=[
            shapely.MultiPolygon([box(104 + i / 1e3 + 1.23456789e-8, 30.000000049, 104.0005 + i / 1e3, 30.0005)])
            for i in range(4)
        ],
        crs=4326,
    )  # fmt: skip


@pytest.fixture
def stored(engine):
    with transaction(engine) as conn:
        upsert_features(conn, "compound", compounds(), source="小区.gpkg")
    return engine


def _features(text: str) -> list[dict]:
    return json.loads("[" + text + "]")


def test_items_text_carries_the_stored_rows_rounded_to_a_centimetre_with_utc_times(stored):
    with stored.connect() as conn:
        page = query_geojson(conn, "compound", limit=10)
        rows = query_features(conn, "compound", limit=10).frame
    features = _features(page.features)
    assert (page.number_returned, page.number_matched) == (4, 4)
    assert [f["id"] for f in features] == ["C0", "C1", "C2", "C3"]
    assert all(f["type"] == "Feature" for f in features)
    names = [f["properties"]["name"] for f in features]
    assert names == NAMES
    assert [f["properties"]["property_has_org"] for f in features] == [True, False, None, True]
    assert [f["properties"]["property_company"] for f in features] == ["锦绣物业", None, "", "x"]
    assert set(features[0]["properties"]) == set(rows.columns) - {"id", "geometry"}
    for feature, updated in zip(features, rows["updated_at"], strict=True):
        moment = updated if updated.tzinfo else updated.replace(tzinfo=UTC)
        assert feature["properties"]["updated_at"] == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")  # fmt: skip
    for feature, geom in zip(features, rows.geometry, strict=True):
        assert feature["geometry"]["type"] == "MultiPolygon"
        got = np.array(feature["geometry"]["coordinates"][0][0])
        assert np.array_equal(got, np.round(shapely.get_coordinates(geom), 7))
    assert [104.0, 30.0] in features[0]["geometry"]["coordinates"][0][0]  # 1.2e-8 and 4.9e-8 off


def test_a_page_is_counted_in_the_same_statement_and_filters_apply(stored):
    first_three = (103.9999, 29.9999, 104.0025, 30.001)
    later = datetime.now(UTC) + timedelta(days=1)
    with stored.connect() as conn:
        page = query_geojson(conn, "compound", bbox=first_three, limit=2, offset=1)
        beyond = query_geojson(conn, "compound", bbox=first_three, limit=2, offset=5)
        with_org = query_geojson(conn, "compound", filters={"property_has_org": "true"})
        none_yet = query_geojson(conn, "compound", updated=(later, None))
        one = query_geojson(conn, "compound", filters={"code": "C2"}, limit=1)
    assert [f["id"] for f in _features(page.features)] == ["C1", "C2"]
    assert (page.number_returned, page.number_matched) == (2, 3)
    assert (beyond.features, beyond.number_returned, beyond.number_matched) == ("", 0, 3)
    assert [f["id"] for f in _features(with_org.features)] == ["C0", "C3"]
    assert (none_yet.features, none_yet.number_matched) == ("", 0)
    assert json.loads(one.features)["properties"]["name"] == "back\\slash"

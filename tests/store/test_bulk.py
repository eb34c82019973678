"""Bulk writes of :mod:`gridmap.store.bulk`: COPY text that PostGIS reads back exactly."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import box

from gridmap.store.bulk import copy_text, ewkb_hex
from gridmap.store.db import transaction
from gridmap.store.features import read_features, upsert_features

AWKWARD = ["tab\there", "line\nbreak", "back\\slash", "\\N", "", None, "引号\"和'单引号"]


def test_ewkb_hex_is_what_geos_writes_with_an_srid():
    geoms = np.array([
        shapely.MultiPolygon([box(104, 30, 104.001, 30.001)]), shapely.Point(1, 2),
        shapely.Point(1, 2, 3), shapely.from_wkt("POLYGON EMPTY"), None,
    ])  # fmt: skip
    expected = [
        None if g is None
        else shapely.to_wkb(shapely.set_srid(g, 4326), hex=True, include_srid=True, byte_order=1).lower()
        for g in geoms
    ]  # fmt: skip
    assert ewkb_hex(geoms) == expected


def test_copy_text_escapes_specials_and_writes_null_for_missing():
    frame = pd.DataFrame({"name": ["a\tb", None], "n": pd.array([1, None], dtype="Int64")})
    assert copy_text(frame, ["name", "n", "source"], False, {"source": "f.csv"}) == (
        b"a\\tb\t1\tf.csv\n\\N\t\\N\tf.csv\n"
    )


def awkward_buildings(households: int) -> gpd.GeoDataFrame:
    n = len(AWKWARD)
    return gpd.GeoDataFrame(
        {
            "code": [f"B{i}" for i in range(n)],
            "name": AWKWARD,
            "households": [households + i for i in range(n)],
            "properties": [{"备注": v} if v else None for v in AWKWARD],
        },
        geometry=[shapely.MultiPolygon([box(104 + i / 1e3, 30, 104.0005 + i / 1e3, 30.0005)]) for i in range(n)],
        crs=4326,
    )  # fmt: skip


def test_awkward_text_survives_an_insert_and_an_upsert(engine):
    for households in (10, 20):  # the first is a fresh load, the second updates every row
        with transaction(engine) as conn:
            upsert_features(conn, "building", awkward_buildings(households), source="a\tb.gpkg")
        with engine.connect() as conn:
            stored = read_features(conn, "building")
        assert [None if pd.isna(v) else v for v in stored["name"]] == AWKWARD
        assert stored["households"].tolist() == [households + i for i in range(len(AWKWARD))]
        assert stored["properties"].tolist() == [{"备注": v} if v else None for v in AWKWARD]
        assert stored["source"].unique().tolist() == ["a\tb.gpkg"]
        assert shapely.equals_exact(
            stored.geometry.values, awkward_buildings(0).geometry.values
        ).all()

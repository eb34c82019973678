"""Bulk writes of :mod:`gridmap.store.bulk`: COPY text that PostGIS reads back exactly."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely
from shapely import box

from gridmap.store.bulk import copy_text, data_columns, ewkb_hex, postgres_copy_chunks
from gridmap.store.db import transaction
from gridmap.store.features import read_features, upsert_features
from gridmap.store.models import table_for

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


def _constraints_and_indexes(conn) -> tuple[set, set]:
    constraints = {r[0] for r in conn.exec_driver_sql(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'building'::regclass")}  # fmt: skip
    indexes = {r[0] for r in conn.exec_driver_sql(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'building'")}  # fmt: skip
    return constraints, indexes


def test_a_large_copy_builds_the_code_constraint_and_the_index_again_or_writes_nothing(engine):
    if engine.dialect.name != "postgresql":
        return  # the COPY a chunk at a time is PostGIS's
    table = table_for("building")
    with engine.connect() as conn:
        before = _constraints_and_indexes(conn)
    assert "uq_building_code" in before[0] and "idx_building_geom" in before[1]
    frame = awkward_buildings(10).drop(columns="properties")
    chunks = [frame.iloc[:3], frame.iloc[3:]]
    with transaction(engine) as conn:
        written = postgres_copy_chunks(conn, table, iter(chunks), data_columns(table))
    assert written == len(frame)
    with engine.connect() as conn:
        assert _constraints_and_indexes(conn) == before
        assert read_features(conn, "building")["code"].tolist() == frame["code"].tolist()
    # a code already stored (as another load might have written meanwhile): refused when the
    # constraint is built again, and nothing of the COPY stays
    again = awkward_buildings(20).drop(columns="properties").iloc[2:4].assign(code=["N1", "B5"])
    with pytest.raises(psycopg.errors.UniqueViolation), transaction(engine) as conn:
        postgres_copy_chunks(conn, table, iter([again]), data_columns(table))
    with engine.connect() as conn:
        assert _constraints_and_indexes(conn) == before
        assert sorted(read_features(conn, "building")["code"]) == sorted(frame["code"])

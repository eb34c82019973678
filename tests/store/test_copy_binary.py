"""Binary COPY (:mod:`gridmap.store.copy_binary`): the rows PostGIS stores are the ones COPY text
stores, value for value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from shapely import box
from sqlalchemy import Column, Float, MetaData, Table, Text

from gridmap.store.bulk import data_columns, postgres_copy, postgres_copy_chunks, row_constants
from gridmap.store.copy_binary import binary_kinds, copy_binary
from gridmap.store.db import transaction
from gridmap.store.models import table_for

AWKWARD = ["tab\there", "line\nbreak", "back\\slash", "\\N", "", None, "引号\"和'单引号", "末行"]


def awkward_frame(layer: str) -> gpd.GeoDataFrame:
    n = len(AWKWARD)
    ring = box(104, 30, 104.01, 30.01).exterior
    holed = shapely.Polygon(ring, [box(104.002, 30.002, 104.004, 30.004).exterior.coords])
    shapes = [
        shapely.MultiPolygon([holed]),
        shapely.MultiPolygon([box(104.1, 30, 104.2, 30.1), box(104.3, 30, 104.4, 30.1)]),
    ] + [shapely.MultiPolygon([box(104 + i / 1e3, 30, 104.0005 + i / 1e3, 30.0005)]) for i in range(n - 2)]  # fmt: skip
    frame = gpd.GeoDataFrame(
        {
            "code": [f"C{i}" for i in range(n)],
            "name": AWKWARD,
            "properties": [{"备注": v, "n": i} if v else None for i, v in enumerate(AWKWARD)],
            "repair_note": [None] * (n - 1) + ["自相交，已修复 self-intersection repaired"],
        },
        geometry=shapes,
        crs=4326,
    )
    if layer == "building":
        frame["households"] = pd.array([i * 1_000_003 - 2 for i in range(n)], dtype="Int64")
        frame["floors"] = pd.array([None, 1, -1, 2**31 - 1, None, 0, 3, None], dtype="Int64")
        frame["compound_code"] = AWKWARD[::-1]
    if layer == "compound":
        frame["property_has_org"] = pd.array([True, False, None] * 2 + [True, None], "boolean")
        frame["property_company"] = AWKWARD
    return frame


def _stored(conn, layer: str) -> list[tuple]:
    table = table_for(layer)
    names = ", ".join(f'"{c}"' for c in data_columns(table))
    return conn.exec_driver_sql(
        f"SELECT {names}, ST_AsEWKB(geom) FROM {layer} ORDER BY code"
    ).fetchall()


@pytest.mark.parametrize("layer", ["building", "compound", "subdistrict"])
def test_binary_copy_stores_what_copy_text_stores(engine, layer):
    if engine.dialect.name != "postgresql":
        return  # COPY is PostGIS's
    table = table_for(layer)
    columns = data_columns(table)
    assert binary_kinds(table, columns) is not None  # these layers go as binary
    frame = awkward_frame(layer)
    stored = {}
    for way in ("text", "binary"):
        with transaction(engine) as conn:
            constants = row_constants(conn, "源\t文件.gpkg")
            if way == "text":
                cursor = conn.connection.driver_connection.cursor()
                postgres_copy(cursor, layer, columns, frame, True, constants=constants)
            else:
                chunks = iter([frame.iloc[:3], frame.iloc[3:3], frame.iloc[3:]])
                assert postgres_copy_chunks(
                    conn, table, chunks, columns, constants=constants
                ) == len(frame)
            stored[way] = _stored(conn, layer)
            conn.exec_driver_sql(f"DELETE FROM {layer}")
        assert len(stored[way]) == len(frame)
    at = columns.index("updated_at")
    for text_row, binary_row in zip(stored["text"], stored["binary"], strict=True):
        assert text_row[:at] + text_row[at + 1 :] == binary_row[:at] + binary_row[at + 1 :]
    # the load's time itself, to the microsecond, whatever the session's time zone
    when = datetime(2026, 12, 7, 5, 41, 2, 123456, tzinfo=timezone(timedelta(hours=8)))
    with transaction(engine) as conn:
        conn.exec_driver_sql("SET TIME ZONE 'America/New_York'")
        postgres_copy_chunks(conn, table, iter([frame]), columns, constants={"updated_at": when})
        stamps = {r[0] for r in conn.exec_driver_sql(f"SELECT updated_at FROM {layer}")}
        source = {r[0] for r in conn.exec_driver_sql(f"SELECT source FROM {layer}")}
    assert stamps == {when} and stamps.pop().astimezone(UTC) == when.astimezone(UTC)
    assert source == {None}


def test_a_table_with_a_type_not_written_in_binary_keeps_copy_text():
    table = Table("t", MetaData(), Column("code", Text), Column("area", Float))
    assert binary_kinds(table, ["code"]) == ["text"]
    assert binary_kinds(table, ["code", "area"]) is None


def test_an_integer_out_of_postgresql_range_is_refused_never_wrapped():
    frame = gpd.GeoDataFrame(
        {"households": pd.array([1, 2**31], dtype="Int64")},
        geometry=[shapely.MultiPolygon([box(104, 30, 104.1, 30.1)])] * 2,
        crs=4326,
    )
    table = table_for("building")
    with pytest.raises(ValueError, match="households"):
        copy_binary(frame, ["households"], binary_kinds(table, ["households"]), {})

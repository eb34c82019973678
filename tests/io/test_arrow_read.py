"""Vector files read through GDAL's Arrow stream give exactly what ``pyogrio.raw.read`` gives.

Every format offices hand over, every field type the stream is read for (text with Chinese,
empty and missing values; whole numbers with and without gaps; reals), features without a
shape, several batches, a GBK shapefile, and the real OpenStreetMap footprints; types left to
``raw.read`` (dates, yes/no) are left to it, and such a file reads as before.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridmap.io.arrow_read import read_columns
from gridmap.io.sources import read_source

OSM = Path(__file__).resolve().parents[2] / "geodata" / "osm" / "buildings.gpkg"
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
DRIVERS = {"GPKG": "gpkg", "GeoJSON": "geojson", "ESRI Shapefile": "shp"}


def _frame(n: int = 9) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    shapes = [shapely.Point(104 + i * 0.001, 30.6).buffer(0.0003, 3) for i in range(n)]
    shapes[2] = shapely.MultiPolygon([shapes[2], shapes[3].buffer(0.0001)])
    shapes[4] = None  # a feature without a shape
    return gpd.GeoDataFrame(
        {
            "楼栋名称": ["一号楼", None, "", "二号楼 B座", "x" * 200, "🏠", "甲", "乙", "丙"][:n],
            "户数": rng.integers(1, 120, n).astype(np.int32),
            "编号": pd.array([10**12 + i if i != 5 else None for i in range(n)], dtype="Int64"),
            "面积": [12.5, None, 3.25, 0.0, -1.5, 1e9, 7.0, 8.0, 9.0][:n],
        },
        geometry=shapes,
        crs=4326,
    )


def _same(path: Path, **kwargs) -> None:
    """read_columns(path) equals raw.read(path): fields, dtypes, nulls and WKB."""
    arrow = read_columns(str(path), None, kwargs)
    assert arrow is not None, "the Arrow stream was not used"
    meta, wkb, fields = arrow
    kwargs.pop("batch_size", None)  # the Arrow stream's alone
    raw_meta, _fids, raw_wkb, raw_fields = pyogrio.raw.read(str(path), **kwargs)
    assert list(meta["fields"]) == list(raw_meta["fields"])
    assert meta["crs"] == raw_meta["crs"]
    for name, ours, theirs in zip(raw_meta["fields"], fields, raw_fields, strict=True):
        assert ours.dtype == theirs.dtype, name
        if ours.dtype == object:
            assert ours.tolist() == theirs.tolist(), name
        else:
            np.testing.assert_array_equal(ours, theirs, err_msg=name)
    assert (wkb is None) == (raw_wkb is None)
    if wkb is not None:
        assert wkb.tolist() == raw_wkb.tolist()


@pytest.mark.parametrize("driver", DRIVERS)
def test_every_format_reads_as_raw_read_does(tmp_path: Path, driver: str) -> None:
    path = tmp_path / f"楼栋.{DRIVERS[driver]}"
    frame = _frame()
    if driver == "ESRI Shapefile":  # a .dbf holds names of 10 bytes, and no 64-bit integers
        frame = frame.drop(columns="编号").rename(columns={"楼栋名称": "名称"})
    frame.to_file(path, driver=driver)
    _same(path)


def test_a_gbk_shapefile_without_cpg_reads_with_the_encoding_given(tmp_path: Path) -> None:
    path = tmp_path / "楼栋.shp"
    _frame().drop(columns="编号").to_file(path, encoding="GBK")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    _same(path, encoding="GBK")
    assert read_source(path, encoding="gbk").frame["楼栋名称"].iloc[0] == "一号楼"


def test_several_batches_are_joined_in_order(tmp_path: Path) -> None:
    path = tmp_path / "b.gpkg"
    _frame().to_file(path)
    _same(path, batch_size=2)  # five batches, the last one short


def test_a_table_without_shapes_reads_its_fields(tmp_path: Path) -> None:
    path = tmp_path / "t.gpkg"
    pyogrio.write_dataframe(pd.DataFrame(_frame().drop(columns="geometry")), path)
    _meta, wkb, fields = read_columns(str(path), None, {})
    assert wkb is None and fields[0].tolist()[:3] == ["一号楼", None, ""]


def test_the_real_footprints_read_as_raw_read_does() -> None:
    _same(OSM)


@pytest.mark.parametrize(
    "column",
    [pd.to_datetime(["2024-01-01 08:30"] * 9), [True, False] * 4 + [True]],
    ids=["datetime", "yes/no"],
)
def test_other_field_types_are_left_to_raw_read(tmp_path: Path, column) -> None:
    path = tmp_path / "d.gpkg"
    frame = _frame()
    frame["其他"] = column
    frame.to_file(path)
    assert read_columns(str(path), None, {}) is None
    raw = read_source(path)  # and the file still reads, as before
    assert len(raw.frame) == 9 and "其他" in raw.frame.columns


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    texts=st.lists(st.one_of(st.none(), TEXT), min_size=1, max_size=30),
    numbers=st.data(),
)
def test_any_text_and_numbers_read_as_raw_read_does(tmp_path_factory, texts, numbers) -> None:
    n = len(texts)
    ints = numbers.draw(st.lists(st.one_of(st.none(), st.integers(-(2**40), 2**40)), min_size=n, max_size=n))  # fmt: skip
    reals = numbers.draw(st.lists(st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)), min_size=n, max_size=n))  # fmt: skip
    path = tmp_path_factory.mktemp("p") / "p.gpkg"
    gpd.GeoDataFrame(
        {
            "名称": texts,
            "整数": pd.array(ints, dtype="Int64"),
            "实数": pd.array(reals, dtype="Float64"),
        },
        geometry=gpd.points_from_xy(np.linspace(104, 105, n), np.full(n, 30.6)),
        crs=4326,
    ).to_file(path)
    _same(path)


def test_a_flatgeobuf_is_left_to_raw_read_and_reads_its_shapes_right(tmp_path: Path) -> None:
    """GDAL's Arrow stream of a FlatGeobuf restarts its WKB offsets after a feature without a
    shape (every shape after it would come out wrong): such files are read by raw.read."""
    path = tmp_path / "楼栋.fgb"
    frame = _frame()
    frame.to_file(path, driver="FlatGeobuf", SPATIAL_INDEX="NO")  # its index takes no empty shape
    assert read_columns(str(path), None, {}) is None
    raw = read_source(path)
    assert [g is None for g in raw.geometry] == [g is None for g in frame.geometry]
    assert all(a is None or a.equals(b) for a, b in zip(raw.geometry, frame.geometry, strict=True))


def test_a_shapefile_whose_chinese_names_were_cut_mid_character_still_reads(tmp_path: Path) -> None:
    """A .dbf keeps 10 bytes of a name: '楼栋名称' ends mid-character, which the stream cannot
    name; raw.read reads it as before."""
    path = tmp_path / "楼栋.shp"
    _frame().drop(columns="编号").rename(columns={"楼栋名称": "楼栋名称全称"}).to_file(path)
    assert read_columns(str(path), None, {}) is None
    raw = read_source(path)
    assert list(raw.frame.columns)[:2] == ["楼栋名", "户数"]  # the stray byte dropped
    values = raw.frame["楼栋名"].tolist()
    assert (values[0], values[3], values[5]) == ("一号楼", "二号楼 B座", "🏠")  # values whole
    assert any("楼栋名" in w and "截断" in w for w in raw.warnings)


def test_two_names_cut_to_one_prefix_stay_two_columns(tmp_path: Path) -> None:
    """GDAL writes the second of two names cut alike with a number ('楼栋_1'); both columns
    arrive, with their values."""
    path = tmp_path / "楼栋.shp"
    frame = _frame().drop(columns="编号").rename(columns={"楼栋名称": "楼栋名称甲"})
    frame["楼栋名称乙"] = frame["户数"] * 2
    frame.to_file(path)
    raw = read_source(path)
    assert list(raw.frame.columns) == ["楼栋名", "户数", "面积", "楼栋_1"]
    assert raw.frame["楼栋_1"].tolist() == (frame["户数"] * 2).tolist()

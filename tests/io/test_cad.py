"""Grids drawn in CAD (DXF) by a surveying office, loaded as users load them.

The drawings are written with ezdxf as AutoCAD writes them, at CGCS2000 Gauss–Krüger
coordinates around 114°E, 30.7°N: irregular outlines on one CAD layer, their names as TEXT/MTEXT
on another, plus the roads and compound outlines every real drawing also carries.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import ezdxf
import pyproj
import pytest
import shapely
from sqlalchemy import select

from gridmap.errors import CRSError, InputFileError, RowsRejectedError
from gridmap.loading import LoadOptions, load_file
from gridmap.store.db import make_engine
from gridmap.store.features import read_features
from gridmap.store.models import table_for

X0, Y0 = 500_000.0, 3_400_000.0  # CM 114°E, no zone prefix: EPSG:4547
ZONE = 38_000_000.0  # the 3-degree zone number written in front: EPSG:4526

# irregular outlines (metres from X0, Y0) and the label point inside each
FIRST = [(0, 0), (310, 40), (290, 380), (120, 430), (-25, 330)]
SECOND = [(310, 40), (640, -10), (660, 360), (450, 420), (290, 380)]
THIRD = [(640, -10), (900, 30), (870, 300), (660, 360)]
ROAD = [(-50, -60), (950, -60)]
COMPOUND = [(40, 60), (200, 80), (180, 250), (50, 230)]


def shoelace(points) -> float:
    return shapely.Polygon(points).area


def drawing(
    path: Path,
    *,
    version: str = "R2018",
    gbk: bool = False,
    code_page: str = "ANSI_936",
    x0: float = X0,
    outlines: list[tuple[list, str | None, str]] | None = None,
    extra_texts: list[tuple[str, tuple[float, float], str]] = (),
    compounds: bool = True,
) -> Path:
    """A DXF of grid outlines: (points, label or None, kind) with kind lwpolyline | hatch |
    both | open:GAP (a polyline left open by GAP metres)."""
    doc = ezdxf.new(version)
    if gbk:
        doc.encoding = "cp936"
    for name in ("网格边界", "网格注记", "道路", "小区", "小区注记"):
        doc.layers.add(name)
    msp = doc.modelspace()

    def at(points):
        return [(x0 + x, Y0 + y) for x, y in points]

    for points, label, kind in outlines or default_outlines():
        if kind in ("lwpolyline", "both"):
            msp.add_lwpolyline(at(points), close=True, dxfattribs={"layer": "网格边界"})
        if kind in ("hatch", "both"):
            hatch = msp.add_hatch(color=3, dxfattribs={"layer": "网格边界"})
            hatch.paths.add_polyline_path(at(points), is_closed=True)
        if kind.startswith("open:"):
            gap = float(kind.split(":")[1])
            x, y = points[0]
            msp.add_lwpolyline(at([*points, (x + gap, y)]), dxfattribs={"layer": "网格边界"})
        if label:
            centre = shapely.Polygon(points).representative_point()
            msp.add_mtext(label, dxfattribs={"layer": "网格注记", "insert": at([(centre.x, centre.y)])[0]})  # fmt: skip
    for text, (x, y), layer in extra_texts:
        msp.add_text(text, dxfattribs={"layer": layer, "insert": (x0 + x, Y0 + y)})
    msp.add_lwpolyline(at(ROAD), dxfattribs={"layer": "道路"})
    if compounds:
        msp.add_lwpolyline(at(COMPOUND), close=True, dxfattribs={"layer": "小区"})
        msp.add_text("幸福示例小区", dxfattribs={"layer": "小区注记", "insert": (x0 + 100, Y0 + 150)})  # fmt: skip
    doc.saveas(path)
    if gbk:  # as a Chinese AutoCAD writes it: the code page named, the text in GBK
        data = path.read_bytes().replace(b"ANSI_1252", code_page.encode())
        assert "第一网格".encode("gbk") in data and "第一网格".encode() not in data
        path.write_bytes(data)
    return path


def default_outlines():
    return [
        (FIRST, "第一网格", "lwpolyline"),
        (SECOND, "第二网格", "hatch"),
        (THIRD, "第三网格", "open:0.2"),
    ]


@pytest.fixture
def engine(sqlite_engine):
    return sqlite_engine


def stored(engine, grid_layer: str = "party"):
    with engine.connect() as conn:
        return read_features(conn, "grid", grid_layer=grid_layer)


def drawn_areas(frame, epsg: int) -> dict[str, float]:
    """The stored grids' areas back in the drawing's CRS (m²)."""
    return dict(zip(frame["name"], frame.to_crs(epsg).area, strict=True))


def options(**kwargs) -> LoadOptions:
    return LoadOptions(grid_layer="party", **kwargs)


def test_utf8_drawing_loads_each_outline_with_its_label_and_true_area(tmp_path, sqlite_settings):
    path = drawing(tmp_path / "网格.dxf", compounds=False)
    env = {**os.environ, "GRIDMAP_DATABASE_URL": sqlite_settings.database_url, "COLUMNS": "200"}
    run = subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "load", "grid", str(path), "--grid-layer", "party",
         "--crs", "EPSG:4547", "--source-layer", "网格边界"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = "".join(run.stdout.split())
    open_one = (
        ezdxf.readfile(path).modelspace().query("LWPOLYLINE")[1]
    )  # the third grid (2nd: a hatch)
    assert not open_one.closed
    assert f"1条多段线首尾相距不到0.5(坐标单位)，已自动闭合(句柄{open_one.dxf.handle})" in out
    engine = make_engine(sqlite_settings)
    grids = stored(engine)
    assert sorted(grids["name"]) == ["第一网格", "第三网格", "第二网格"]
    assert grids.crs.to_epsg() == 4326
    areas = drawn_areas(grids, 4547)
    assert areas["第一网格"] == pytest.approx(shoelace(FIRST), rel=1e-6)
    assert areas["第二网格"] == pytest.approx(shoelace(SECOND), rel=1e-6)  # a HATCH
    assert areas["第三网格"] == pytest.approx(shoelace(THIRD), rel=1e-6)  # its end snapped on
    assert "修复repaired:" not in out  # closing made no sliver or spike to repair
    lon, lat = grids.geometry.union_all().centroid.coords[0]
    assert 114.0 < lon < 114.02 and 30.7 < lat < 30.74  # CM 114°E, y 3,400 km: near Wuhan
    engine.dispose()


def test_gbk_drawing_of_an_old_autocad_gives_chinese_labels_and_layers(tmp_path, engine):
    path = drawing(tmp_path / "网格R2000.dxf", version="R2000", gbk=True, x0=ZONE + X0)
    chosen = options(crs="EPSG:4526", source_layer="网格边界,网格注记")  # both names in GBK
    report = load_file(engine, "grid", path, chosen)
    assert report.loaded == 3 and report.read.encoding == "gb18030"
    grids = stored(engine)
    assert sorted(grids["name"]) == ["第一网格", "第三网格", "第二网格"]
    assert drawn_areas(grids, 4526)["第一网格"] == pytest.approx(shoelace(FIRST), rel=1e-6)


def test_gbk_drawing_labelled_with_a_western_code_page_still_gives_chinese(tmp_path, engine):
    path = drawing(tmp_path / "网格.dxf", version="R2000", gbk=True, code_page="ANSI_1252")
    report = load_file(engine, "grid", path, options(crs="4547", source_layer="网格边界,网格注记"))
    assert report.read.encoding == "gb18030"
    assert sorted(stored(engine)["name"]) == ["第一网格", "第三网格", "第二网格"]


def test_text_outside_the_code_page_written_as_unicode_escapes_is_decoded(tmp_path, engine):
    path = drawing(tmp_path / "网格.dxf", version="R2004")  # ANSI_1252: Chinese as \U+XXXX
    assert b"\\U+7B2C" in path.read_bytes().upper() and "第一".encode() not in path.read_bytes()
    load_file(engine, "grid", path, options(crs="EPSG:4547", source_layer="网格边界,网格注记"))
    assert sorted(stored(engine)["name"]) == ["第一网格", "第三网格", "第二网格"]


def test_a_code_in_the_label_becomes_the_grid_code(tmp_path, engine):
    outlines = [(FIRST, "DJ01 第一网格", "lwpolyline"), (SECOND, "DJ02\\P第二网格", "lwpolyline")]
    path = drawing(tmp_path / "网格.dxf", outlines=outlines, compounds=False)
    load_file(engine, "grid", path, options(crs="4547"))
    grids = stored(engine)
    assert grids[["code", "name"]].values.tolist() == [["DJ01", "第一网格"], ["DJ02", "第二网格"]]


def test_several_layers_of_outlines_without_source_layer_are_listed_with_counts(tmp_path, engine):
    path = drawing(tmp_path / "网格.dxf")
    with pytest.raises(InputFileError) as caught:
        load_file(engine, "grid", path, options(crs="4547"))
    message = str(caught.value)
    assert "网格边界 (3)" in message and "小区 (1)" in message
    assert "--source-layer" in message and "choose the boundary layer" in message


def test_outline_without_label_and_with_two_labels_refuse_the_file_by_row(tmp_path, engine):
    outlines = [(FIRST, None, "lwpolyline"), (SECOND, "第二网格", "lwpolyline"),
                (THIRD, "第三网格", "lwpolyline")]  # fmt: skip
    extra = [("第四网格", (800, 150), "网格注记")]  # a second label inside the third grid
    path = drawing(tmp_path / "网格.dxf", outlines=outlines, extra_texts=extra, compounds=False)
    with pytest.raises(RowsRejectedError) as caught:
        load_file(engine, "grid", path, options(crs="4547", source_layer="网格边界"))
    problems = [str(p) for p in caught.value.problems]
    assert len(problems) == 2
    assert problems[0].startswith("第 1 行") and "没有文字标注" in problems[0]
    assert f"x {X0 - 25:.1f}–{X0 + 310:.1f}" in problems[0]  # where the outline lies
    assert problems[1].startswith("第 3 行") and "2 个文字标注" in problems[1]
    assert "「第三网格」" in problems[1] and "「第四网格」" in problems[1]
    assert "--skip-invalid" in str(caught.value)
    with engine.connect() as conn:
        assert conn.execute(select(table_for("grid").c.code)).first() is None  # all or nothing
    report = load_file(
        engine, "grid", path, options(crs="4547", source_layer="网格边界", skip_invalid=True)
    )
    assert report.loaded == 1 and stored(engine)["name"].tolist() == ["第二网格"]


def test_a_label_layer_chosen_after_a_comma_ignores_other_labels_inside(tmp_path, engine):
    path = drawing(tmp_path / "网格.dxf")  # a compound's name lies inside the first grid
    with pytest.raises(RowsRejectedError) as caught:
        load_file(engine, "grid", path, options(crs="4547", source_layer="网格边界"))
    (problem,) = caught.value.problems
    assert "「幸福示例小区」(小区注记)" in str(problem)
    assert "--source-layer 网格边界,标注图层" in str(problem)
    report = load_file(engine, "grid", path, options(crs="4547", source_layer="网格边界,网格注记"))
    assert report.loaded == 3


def test_a_polyline_left_open_too_wide_is_refused_naming_its_handle(tmp_path, engine):
    outlines = [(FIRST, "第一网格", "lwpolyline"), (SECOND, "第二网格", "open:3")]
    path = drawing(tmp_path / "网格.dxf", outlines=outlines, compounds=False)
    with pytest.raises(RowsRejectedError) as caught:
        load_file(engine, "grid", path, options(crs="4547"))
    (problem,) = caught.value.problems
    text = str(problem)
    assert "未闭合" in text and "3.00" in text and "PEDIT" in text and "句柄" in text
    handle = ezdxf.readfile(path).modelspace().query('LWPOLYLINE[layer=="网格边界"]')[1].dxf.handle
    assert f"句柄 {handle}" in text


def test_a_hatch_drawn_over_its_outline_is_one_grid(tmp_path, engine):
    outlines = [(FIRST, "第一网格", "both"), (SECOND, "第二网格", "lwpolyline")]
    path = drawing(tmp_path / "网格.dxf", outlines=outlines, compounds=False)
    report = load_file(engine, "grid", path, options(crs="4547"))
    assert report.loaded == 2 and any("HATCH" in w for w in report.warnings)


def test_projected_drawing_without_crs_asks_for_the_gauss_kruger_zone(tmp_path, engine):
    path = drawing(tmp_path / "网格.dxf", compounds=False)
    with pytest.raises(CRSError) as caught:
        load_file(engine, "grid", path, options())
    assert "--crs" in caught.value.message_zh and "CGCS2000" in caught.value.message_zh


@pytest.mark.parametrize("name", ["网格.dwg", "网格.dxf"])
def test_a_dwg_is_refused_with_how_to_save_it_as_dxf(tmp_path, engine, name):
    path = tmp_path / name
    path.write_bytes(b"AC1032\x00\x00\x00\x00" + bytes(200))
    with pytest.raises(InputFileError) as caught:
        load_file(engine, "grid", path, options(crs="4547"))
    assert "另存为" in caught.value.message_zh and "DXF" in caught.value.message_zh
    assert "Save As" in caught.value.message_en


def test_drawing_in_degrees_needs_no_crs(tmp_path, engine):
    doc = ezdxf.new("R2018")
    to_degrees = pyproj.Transformer.from_crs(4547, 4326, always_xy=True)
    corners = [to_degrees.transform(X0 + x, Y0 + y) for x, y in FIRST]
    doc.modelspace().add_lwpolyline(corners, close=True, dxfattribs={"layer": "网格边界"})
    centre = shapely.Polygon(corners).representative_point()
    doc.modelspace().add_text("第一网格", dxfattribs={"insert": (centre.x, centre.y)})
    doc.saveas(tmp_path / "网格.dxf")
    report = load_file(engine, "grid", tmp_path / "网格.dxf", options())
    assert report.loaded == 1
    assert drawn_areas(stored(engine), 4547)["第一网格"] == pytest.approx(shoelace(FIRST), rel=1e-4)


def test_load_help_names_cad_drawings_and_kmz(tmp_path):
    env = {**os.environ, "GRIDMAP_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}", "COLUMNS": "200"}
    run = subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "load", "--help"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert "KMZ" in run.stdout and "CAD(.dxf)" in run.stdout and "4547" in run.stdout
    assert "--source-layer 网格边界,网格注记" in run.stdout


def test_compounds_drawn_in_cad_load_on_both_databases(tmp_path, db_settings):
    """Compounds take the overlapped check-and-COPY path on PostGIS; grids the plain one."""
    path = drawing(tmp_path / "小区.dxf")
    eng = make_engine(db_settings)
    report = load_file(eng, "compound", path, LoadOptions(crs="4547", source_layer="小区,小区注记"))
    assert report.loaded == 1
    with eng.connect() as conn:
        compounds = read_features(conn, "compound")
    assert compounds["name"].tolist() == ["幸福示例小区"]
    assert compounds.to_crs(4547).area.iloc[0] == pytest.approx(shoelace(COMPOUND), rel=1e-6)
    eng.dispose()


def test_a_truncated_or_foreign_dxf_is_refused_as_unreadable(tmp_path, engine):
    whole = drawing(tmp_path / "网格.dxf").read_bytes()
    (tmp_path / "半.dxf").write_bytes(whole[: len(whole) * 6 // 10])
    (tmp_path / "文本.dxf").write_text("这不是图纸\n", encoding="utf-8")
    for name in ("半.dxf", "文本.dxf"):
        with pytest.raises(InputFileError) as caught:
            load_file(engine, "grid", tmp_path / name, options(crs="4547"))
        assert (
            f"无法读取文件 {name}" in caught.value.message_zh and "截断" in caught.value.message_zh
        )


@pytest.mark.parametrize(
    "case, args, said",
    [
        ("dwg", ["--crs", "4547"], ["「另存为」DXF", "SaveAs→AutoCADDXF"]),
        ("layers", ["--crs", "4547"], ["小区(1),网格边界(3)", "--source-layer"]),
        ("no crs", ["--source-layer", "网格边界,网格注记"], ["无法判断坐标系", "--crs", "CGCS2000"]),
        ("no label", ["--crs", "4547", "--source-layer", "网格边界"], ["第1行", "没有文字标注", "--skip-invalid"]),
    ],
)  # fmt: skip
def test_cli_errors_on_drawings_say_what_to_do_without_a_traceback(tmp_path, case, args, said):
    path = drawing(tmp_path / "网格.dxf", outlines=[(FIRST, None, "lwpolyline")] if case == "no label" else None, compounds=case == "layers")  # fmt: skip
    if case == "dwg":
        path = tmp_path / "网格.dwg"
        path.write_bytes(b"AC1027" + bytes(100))
    env = {**os.environ, "GRIDMAP_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}", "COLUMNS": "200"}
    run = subprocess.run(
        [sys.executable, "-m", "gridmap.cli", "load", "grid", str(path), "--grid-layer", "party", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2 and "Traceback" not in run.stderr
    message = "".join(run.stderr.split())
    for words in said:
        assert words in message, (words, run.stderr)


@pytest.mark.parametrize(
    "chosen, said",
    [
        (
            "网格边线",
            [
                "图层 网格边线 上没有闭合的多段线",
                "小区 (1), 网格边界 (3)",
                "道路 (1)",
                "--source-layer",
            ],
        ),
        (
            "网格边界,网格标注",
            [
                "图层 网格标注 上没有文字标注",
                "小区注记 (1), 网格注记 (3)",
                "--source-layer 网格边界,标注图层",
            ],
        ),
    ],
)
def test_a_mistyped_cad_layer_is_refused_listing_the_layers_there_are(
    tmp_path, engine, chosen, said
):
    path = drawing(tmp_path / "网格.dxf")
    with pytest.raises(InputFileError) as caught:
        load_file(engine, "grid", path, options(crs="4547", source_layer=chosen))
    for words in said:
        assert words in caught.value.message_zh, caught.value.message_zh


def test_a_self_crossing_outline_is_repaired_with_a_note(tmp_path, engine):
    bowtie = [(0, 0), (300, 300), (300, 0), (0, 300)]  # drawn corner to wrong corner
    outlines = [(bowtie, None, "lwpolyline"), (THIRD, "第二网格", "hatch")]
    texts = [("第一网格", (60, 150), "网格注记")]  # in the left of the two triangles
    path = drawing(tmp_path / "网格.dxf", outlines=outlines, extra_texts=texts, compounds=False)
    report = load_file(engine, "grid", path, options(crs="4547"))
    assert report.loaded == 2 and [code for _, code, _ in report.read.repaired] == ["第一网格"]
    areas = drawn_areas(stored(engine), 4547)
    assert areas["第一网格"] == pytest.approx(2 * 150 * 300 / 2, rel=1e-6)  # the two triangles


def test_outlines_are_numbered_in_drawing_order_closed_ones_included(tmp_path, engine):
    outlines = [(THIRD, None, "open:0.2"), (FIRST, "第一网格", "lwpolyline")]
    path = drawing(tmp_path / "网格.dxf", outlines=outlines, compounds=False)
    with pytest.raises(RowsRejectedError) as caught:
        load_file(engine, "grid", path, options(crs="4547"))
    (problem,) = caught.value.problems
    assert problem.row == 1 and f"x {X0 + 640:.1f}–{X0 + 900:.1f}" in str(problem)

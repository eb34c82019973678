"""The command line as users run it: a real process, real files, real exit codes."""

from __future__ import annotations

import os
import subprocess
import sys

from factories import buildings_frame, write_gbk_shapefile


def gridmap(*args: str, db, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRIDMAP_DATABASE_URL": f"sqlite:///{db}", "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "gridmap.cli", *map(str, args)],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=120,
    )  # fmt: skip


def test_help_speaks_chinese_and_english(tmp_path):
    out = gridmap("--help", db=tmp_path / "g.db").stdout
    assert "多网合一" in out and "unified grids" in out
    for command in ("init", "load", "export", "demo", "serve", "layers"):
        assert command in out
    load_help = gridmap("load", "--help", db=tmp_path / "g.db").stdout
    assert "--grid-layer" in load_help and "gcj02" in load_help and "示例" in load_help


def test_load_prints_a_summary_and_export_writes_the_file(tmp_path):
    db = tmp_path / "g.db"
    assert gridmap("init", db=db).returncode == 0
    shp = write_gbk_shapefile(buildings_frame(), tmp_path / "楼栋.shp")
    result = gridmap("load", "building", shp, db=db)
    assert result.returncode == 0, result.stderr
    assert "读取" in result.stdout and "GB18030" in result.stdout
    layers = gridmap("layers", db=db).stdout
    assert "building" in layers and " 4 " in layers.replace("│", " ")
    out = tmp_path / "b.gpkg"
    exported = gridmap("export", "building", "-f", "gpkg", "-o", out, db=db)
    assert exported.returncode == 0 and out.exists() and "4" in exported.stdout


def test_user_errors_exit_2_with_a_bilingual_message_and_no_traceback(tmp_path):
    db = tmp_path / "g.db"
    bad = tmp_path / "b.geojson"
    buildings_frame().drop(columns=["户数"]).to_file(bad)
    result = gridmap("load", "building", bad, db=db)
    assert result.returncode == 2
    assert "缺少必需的列" in result.stderr and "Missing required column" in result.stderr
    assert "Traceback" not in result.stderr
    unknown = gridmap("load", "street", bad, db=db)
    assert unknown.returncode == 2 and "没有图层 street" in unknown.stderr


def test_rejected_rows_are_printed_by_row(tmp_path):
    db = tmp_path / "g.db"
    frame = buildings_frame()
    frame["户数"] = frame["户数"].astype(object)
    frame.loc[2, "户数"] = "abc"
    frame.to_file(tmp_path / "b.geojson")
    result = gridmap("load", "building", tmp_path / "b.geojson", db=db)
    assert result.returncode == 2
    assert "第 3 行" in result.stderr and "户数" in result.stderr and "abc" in result.stderr

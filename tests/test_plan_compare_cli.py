"""``gridmap plan compare`` through a real process on a SpatiaLite file: a plan against the
grid layer it copies, written as a table; a side that does not exist is a clear error."""

from __future__ import annotations

import csv

import geopandas as gpd
from shapely import box
from test_cli import gridmap

X, Y, D = 104.06, 30.66, 0.001


def test_plan_compare_scores_both_sides_into_a_table_and_names_a_missing_plan(tmp_path):
    db = tmp_path / "g.db"
    assert gridmap("init", db=db).returncode == 0
    grid = gpd.GeoDataFrame({"网格编码": ["G01", "G02"]}, geometry=[box(X, Y, X + D, Y + D), box(X + D, Y, X + 2 * D, Y + 2 * D)], crs=4326)  # fmt: skip
    grid.to_file(tmp_path / "网格.geojson")
    assert gridmap("load", "grid", tmp_path / "网格.geojson", "--grid-layer", "party", db=db).returncode == 0  # fmt: skip
    assert gridmap("plan", "new", "比较", db=db).returncode == 0
    out = tmp_path / "比较.csv"
    done = gridmap("plan", "compare", "layer:party", "1", "-o", out, db=db)
    assert done.returncode == 0, done.stderr
    assert "紧凑度" in done.stdout and "pieces changing cell: 0" in done.stdout
    rows = {r["key"]: r for r in csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines())}
    assert (
        rows["cells"]["A 现行网格 current layer party"],
        rows["cells"]["B 方案 plan 1 比较 v1"],
    ) == ("2", "2")
    # G02, 0.001° × 0.002° at 30.66° N, is about 95.7 × 221.8 m: Polsby–Popper πwh / (w + h)²
    assert rows["compactness_min"]["B 方案 plan 1 比较 v1"] == "0.662"
    assert rows["households_moved"]["between"] == "0"
    missing = gridmap("plan", "compare", "layer:party", "7", db=db)
    assert missing.returncode != 0 and "没有方案 7" in missing.stdout + missing.stderr
    assert "Traceback" not in missing.stderr

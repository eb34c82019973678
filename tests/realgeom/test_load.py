"""``gridmap load`` on real footprints and on the hard cases of GEOS and make_valid.

Invariants: no traceback, every failure a row-level message (row, field, reason, what to do),
the database unchanged when a file is refused, and every stored polygon a valid, non-empty
(Multi)Polygon — checked by the database itself (ST_IsValid) on SpatiaLite and PostGIS.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyogrio.raw import write
from realgeom.conftest import fresh_database
from sqlalchemy import text

from gridmap.errors import RowsRejectedError
from gridmap.loading import LoadOptions, load_file
from gridmap.store.db import make_engine

GRIDMAP = Path(sys.executable).with_name("gridmap")
X, Y = 104.0665, 30.6570  # Chengdu
D = 1e-4  # about 10 m

# the hard cases of GEOS and make_valid, as WKT (all at Chengdu); what load must make of each:
# "ok" (stored as is), "repaired" (stored, with a note), or the words of the row problem
HARD = {
    "square": (f"POLYGON (({X} {Y}, {X + D} {Y}, {X + D} {Y + D}, {X} {Y + D}, {X} {Y}))", "ok"),
    "bowtie": (f"POLYGON (({X} {Y}, {X + D} {Y + D}, {X + D} {Y}, {X} {Y + D}, {X} {Y}))", "repaired"),
    "spike": (f"POLYGON (({X} {Y}, {X + D} {Y}, {X + D} {Y + D / 2}, {X + 2 * D} {Y + D / 2}, "
              f"{X + D} {Y + D / 2}, {X + D} {Y + D}, {X} {Y + D}, {X} {Y}))", "repaired"),
    "hole_touching_shell": (f"POLYGON (({X} {Y}, {X + 4 * D} {Y}, {X + 4 * D} {Y + 4 * D}, "
                            f"{X} {Y + 4 * D}, {X} {Y}), ({X} {Y + 2 * D}, {X + 2 * D} {Y + D}, "
                            f"{X + 2 * D} {Y + 3 * D}, {X} {Y + 2 * D}))", "ok"),
    "hole_outside_shell": (f"POLYGON (({X} {Y}, {X + D} {Y}, {X + D} {Y + D}, {X} {Y + D}, {X} {Y}), "
                           f"({X + 2 * D} {Y + 2 * D}, {X + 3 * D} {Y + 2 * D}, {X + 3 * D} {Y + 3 * D}, "
                           f"{X + 2 * D} {Y + 2 * D}))", "repaired"),
    "duplicate_rings": (f"MULTIPOLYGON ((({X} {Y}, {X + D} {Y}, {X + D} {Y + D}, {X} {Y})), "
                        f"(({X} {Y}, {X + D} {Y}, {X + D} {Y + D}, {X} {Y})))", "repaired"),
    "zero_area_ring": (f"POLYGON (({X} {Y}, {X + D} {Y}, {X + 2 * D} {Y}, {X} {Y}))", "a line"),
    "collapse_to_point": (f"POLYGON (({X} {Y}, {X} {Y}, {X} {Y}, {X} {Y}))", "a point"),
    "out_and_back": (f"POLYGON (({X} {Y}, {X + D} {Y + D}, {X} {Y}))", "a line"),
    "nested_collections": (f"GEOMETRYCOLLECTION (GEOMETRYCOLLECTION (POLYGON (({X} {Y}, {X + D} {Y}, "
                           f"{X + D} {Y + D}, {X} {Y}))), LINESTRING ({X} {Y}, {X + D} {Y}), "
                           f"POINT ({X} {Y}))", "repaired"),
    "nested_without_polygon": (f"GEOMETRYCOLLECTION (GEOMETRYCOLLECTION (LINESTRING ({X} {Y}, "
                               f"{X + D} {Y})))", "a line"),
    "empty_polygon": ("POLYGON EMPTY", "has no geometry"),
    "empty_collection": ("GEOMETRYCOLLECTION EMPTY", "has no geometry"),
    "nan": (f"POLYGON (({X} {Y}, {X + D} {Y}, NaN {Y + D}, {X} {Y}))", "not a number"),
    "inf": (f"POLYGON (({X} {Y}, {X + D} {Y}, Infinity {Y + D}, {X} {Y}))", "not a number"),
    "z": (f"POLYGON Z (({X} {Y} 5, {X + D} {Y} 5, {X + D} {Y + D} 5, {X} {Y} 5))", "ok"),
    "m": (f"POLYGON M (({X} {Y} 1, {X + D} {Y} 2, {X + D} {Y + D} 3, {X} {Y} 1))", "ok"),
    "zm": (f"POLYGON ZM (({X} {Y} 5 1, {X + D} {Y} 5 2, {X + D} {Y + D} 5 3, {X} {Y} 5 1))", "ok"),
    "repeated_closing_points": (f"POLYGON (({X} {Y}, {X + D} {Y}, {X + D} {Y + D}, {X} {Y}, {X} {Y}, "
                                f"{X} {Y}))", "repaired"),
    "micro_gap_1e-9_degree": (f"MULTIPOLYGON ((({X} {Y}, {X + D} {Y}, {X + D} {Y + D}, {X} {Y})), "
                              f"(({X + D + 1e-9} {Y}, {X + 2 * D} {Y}, {X + 2 * D} {Y + D}, "
                              f"{X + D + 1e-9} {Y}))) ", "ok"),
    # closed on reading (shapely's on_invalid="fix", as GDAL does for files)
    "unclosed_ring": (f"POLYGON (({X} {Y}, {X + D} {Y}, {X + D} {Y + D}, {X} {Y + D}))", "ok"),
}  # fmt: skip


def hard_cases_csv(path: Path, names=None) -> Path:
    names = list(names or HARD)
    rows = "".join(f'H{i:02d},{n},5,"{HARD[n][0]}"\n' for i, n in enumerate(names))
    path.write_text("楼栋编号,楼栋名称,户数,wkt\n" + rows, encoding="utf-8")
    return path


def hard_cases_gpkg(path: Path) -> Path:
    """The same cases as WKB in a GeoPackage (Z and M kept, the unclosed ring as it is)."""
    names = [n for n in HARD if n not in ("nan", "inf", "unclosed_ring")]
    geoms = shapely.from_wkt([HARD[n][0] for n in names])
    wkb = shapely.to_wkb(geoms, output_dimension=4, flavor="iso")
    codes = np.array([f"H{i:02d}" for i in range(len(names))], dtype=object)
    write(path, wkb, [codes, np.array(names, dtype=object), np.full(len(names), 5)],
          ["楼栋编号", "楼栋名称", "户数"], layer="hard", driver="GPKG",
          geometry_type="Unknown", crs="EPSG:4326")  # fmt: skip
    return path


def cli(db_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRIDMAP_DATABASE_URL": db_url, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [str(GRIDMAP), *args], env=env, capture_output=True, text=True, timeout=120
    )


def table_counts(settings) -> dict[str, int]:
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            return {
                t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                for t in ("community", "grid", "compound", "building", "change_log")
            }
    finally:
        engine.dispose()


def stored_polygons_are_valid(settings, table: str) -> None:
    """The database's own judgement: every geometry valid, non-empty, a MULTIPOLYGON."""
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            kinds = conn.execute(
                text(f"SELECT DISTINCT upper(GeometryType(geom)) FROM {table}")
            ).scalars()
            assert set(kinds) <= {"MULTIPOLYGON"}
            bad = conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE NOT ST_IsValid(geom) OR ST_IsEmpty(geom)")
            ).scalar_one()
            assert bad == 0
    finally:
        engine.dispose()


def assert_no_traceback(result: subprocess.CompletedProcess) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "Error:" not in output.replace("错误 error:", ""), output
    assert "Warning:" not in output, output  # NaN in WKT made shapely warn on the terminal


# --- the real footprints ---------------------------------------------------------------------


def test_cli_refuses_the_real_footprints_row_by_row_and_leaves_the_database_alone(
    osm_buildings_file, request, tmp_path
):
    settings = fresh_database("spatialite", request, tmp_path)
    before = table_counts(settings)
    refused = cli(settings.database_url, "load", "building", str(osm_buildings_file))
    assert_no_traceback(refused)
    assert refused.returncode == 2
    output = " ".join((refused.stdout + refused.stderr).split())
    assert "38 处问题" in output and "nothing was loaded" in output
    assert "第 2543 行 (row 2543), 字段 geometry" in output  # a ring of two points
    assert "only a line is left after repair" in output and "Redraw it" in output
    assert table_counts(settings) == before
    loaded = cli(
        settings.database_url, "load", "building", str(osm_buildings_file), "--skip-invalid"
    )
    assert_no_traceback(loaded)
    assert loaded.returncode == 0
    assert "2675" in loaded.stdout and "第 14 行 way/138399828" in loaded.stdout
    assert table_counts(settings)["building"] == 2675
    stored_polygons_are_valid(settings, "building")


@pytest.mark.parametrize("kind", ["spatialite", "postgis"])
def test_every_real_footprint_is_stored_valid_or_reported(
    kind, osm_buildings_file, request, tmp_path
):
    settings = fresh_database(kind, request, tmp_path)
    engine = make_engine(settings)
    try:
        with pytest.raises(RowsRejectedError) as refused:
            load_file(engine, "building", osm_buildings_file)
        assert len(refused.value.problems) == 38
        assert table_counts(settings)["building"] == 0
        report = load_file(engine, "building", osm_buildings_file, LoadOptions(skip_invalid=True))
    finally:
        engine.dispose()
    # every footprint is accounted for: stored (repaired or not) or rejected with its row
    assert report.read.rows_read == 2713
    assert report.inserted == 2713 - len(report.read.rejected) == 2675
    repaired = {row for row, _, _ in report.read.repaired}
    rejected = {p.row for p in report.read.rejected}
    assert len(repaired) == 19 and not repaired & rejected
    assert all("make_valid" in note for _, _, note in report.read.repaired)
    assert all(p.field == "geometry" and p.reason_en for p in report.read.rejected)
    stored_polygons_are_valid(settings, "building")


# --- the hard cases ------------------------------------------------------------------------


def test_cli_refuses_the_hard_cases_with_a_message_per_row_and_no_traceback(request, tmp_path):
    settings = fresh_database("spatialite", request, tmp_path)
    before = table_counts(settings)
    refused = cli(
        settings.database_url, "load", "building", str(hard_cases_csv(tmp_path / "h.csv"))
    )
    assert_no_traceback(refused)
    assert refused.returncode == 2 and table_counts(settings) == before
    output = " ".join((refused.stdout + refused.stderr).split())
    for i, (_, expected) in enumerate(HARD.values()):
        row = i + 2  # the header is row 1
        if expected not in ("ok", "repaired"):
            assert f"第 {row} 行 (row {row}), 字段 geometry" in output, (row, expected)
    path = hard_cases_gpkg(tmp_path / "hard.gpkg")  # as WKB, with Z and M
    loaded = cli(settings.database_url, "load", "building", str(path), "--skip-invalid")
    assert_no_traceback(loaded)
    assert loaded.returncode == 0
    stored_polygons_are_valid(settings, "building")


@pytest.mark.parametrize("kind", ["spatialite", "postgis"])
def test_each_hard_case_is_stored_repaired_or_refused_by_row(kind, request, tmp_path):
    settings = fresh_database(kind, request, tmp_path)
    engine = make_engine(settings)
    try:
        report = load_file(engine, "building", hard_cases_csv(tmp_path / "hard.csv"),
                           LoadOptions(skip_invalid=True))  # fmt: skip
    finally:
        engine.dispose()
    repaired = {row for row, _, _ in report.read.repaired}
    rejected = {p.row: p for p in report.read.rejected}
    for i, (name, (_, expected)) in enumerate(HARD.items()):
        row = i + 2
        if expected == "ok":
            assert row not in rejected and row not in repaired, name
        elif expected == "repaired":
            assert row in repaired and row not in rejected, name
        else:
            assert expected in rejected[row].reason_en, (name, rejected[row])
    stored_polygons_are_valid(settings, "building")

"""``gridmap backup`` / ``gridmap restore``: every table back row by row, on both databases and
across them; refusals that leave the target as it was; the command line as users run it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyogrio
import pytest
import shapely
from factories import buildings_frame
from sqlalchemy import String, cast, func, inspect, select
from sqlalchemy.sql.sqltypes import JSON, DateTime
from typer.testing import CliRunner

from gridmap import login_throttle
from gridmap.auth import add_account, issue_token, start_session
from gridmap.backup import TRANSIENT, BackupError, restore_backup, tables, write_backup
from gridmap.cli import DEMO_DATA, app, load_demo
from gridmap.config import Settings
from gridmap.errors import InputFileError
from gridmap.loading import load_file
from gridmap.runs import run_analyze
from gridmap.store import partitions, plans
from gridmap.store.db import make_engine, transaction
from gridmap.store.features import log_change
from gridmap.store.models import Base, ChangeLog
from gridmap.store.schema import head_revision, upgrade

KINDS = ["spatialite", "postgis"]


def fresh_settings(kind: str, request, folder: Path, name: str) -> Settings:
    if kind == "spatialite":
        return Settings(database_url=f"sqlite:///{folder / f'{name}.db'}")
    url = request.getfixturevalue("postgis_cluster").create_db(name)
    return Settings(database_url=url)


def dump(engine) -> dict[str, list[tuple]]:
    """Every table, row by row in id order: geometry as WKB, JSON as stored, times in UTC."""
    out = {}
    with engine.connect() as conn:
        for table in tables():
            columns = []
            for column in table.columns:
                if hasattr(column.type, "geometry_type"):
                    columns.append(func.ST_AsBinary(column))
                elif isinstance(column.type, JSON):
                    columns.append(cast(column, String))
                else:
                    columns.append(column)
            rows = conn.execute(select(*columns).order_by(*table.primary_key.columns))
            out[table.name] = [tuple(normal(v, c) for v, c in zip(row, table.columns, strict=True))
                               for row in rows]  # fmt: skip
    return out


def values(dumped: dict, table: str, column: str) -> list:
    """One column of a dumped table."""
    names = [c.name for c in next(t for t in tables() if t.name == table).columns]
    return [row[names.index(column)] for row in dumped[table]]


def normal(value, column):
    if value is None:
        return None
    if isinstance(column.type, DateTime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def redrawn(cells):
    """The first two cells' shared border moved: cell 1 takes a strip of cell 2."""
    first, second = cells.geometry.iloc[0], cells.geometry.iloc[1]
    strip = shapely.intersection(second, first.buffer(0.0003))
    cells = cells.copy()
    cells.loc[cells.index[0], "geometry"] = shapely.union(first, strip)
    cells.loc[cells.index[1], "geometry"] = shapely.difference(second, strip)
    return cells


@pytest.fixture(scope="module", params=KINDS)
def analysed_backup(request, tmp_path_factory):
    """The demo loaded and analysed, plans drawn, saved and approved, an account and a token;
    backed up. Returns the source kind, its dump at backup time, and the backup file."""
    kind = request.param
    folder = tmp_path_factory.mktemp(f"backup-{kind}")
    settings = fresh_settings(kind, request, folder, f"backup_source_{kind}")
    engine = make_engine(settings)
    load_demo(engine, DEMO_DATA)
    run_analyze(engine, settings, actor="demo")
    with transaction(engine) as conn:
        approved = plans.create_plan(conn, "2027年网格调整", "party", "规划员甲")
        cells = redrawn(plans.read_cells(conn, approved))
        version = plans.save_plan(conn, approved, 1, cells, "规划员甲")
        plans.approve_plan(conn, approved, version, "管理员")
        draft = plans.create_plan(conn, "2028年草案", "party", "规划员乙", note="试划")
        plans.save_plan(conn, draft, 1, redrawn(plans.read_cells(conn, draft)), "规划员乙")
        add_account(conn, "测试管理员", "admin", None, "not-a-real-pass-1", "cli")
        issue_token(conn, "测试管理员", "QGIS", "cli")
        start_session(conn, "测试管理员", timedelta(hours=8))
        login_throttle.record_failure(conn, "猜密码的人", "10.0.0.66", datetime.now(UTC))
        # a partition of a partitioned run (PostGIS only in use, but the table is everywhere)
        partitions.save_partition(
            conn, 1, "510199001", "fingerprint-1", analysed=True, summary={"gaps": 1}
        )
    before = dump(engine)
    path = folder / "锦绣街道备份.gpkg"
    report = write_backup(engine, path, actor="运维")
    after_backup = dump(engine)
    engine.dispose()
    assert report.rows == {name: len(rows) for name, rows in before.items()}
    return kind, before, after_backup, path


def test_the_source_has_something_in_every_table(analysed_backup):
    _, before, _, _ = analysed_backup
    assert [name for name, rows in before.items() if not rows] == []


def test_the_analysis_stored_each_members_placement_once(analysed_backup):
    _, before, _, _ = analysed_backup
    placed = values(before, "member_placement", "member_code")
    assert sorted(placed) == sorted(values(before, "member", "code"))
    assert set(values(before, "member_placement", "how")) == {"inside", "snapped", "unplaced"}


@pytest.mark.parametrize("target", KINDS)
def test_a_restored_database_is_the_backed_up_one_row_by_row(
    analysed_backup, target, request, tmp_path
):
    kind, before, after_backup, path = analysed_backup
    settings = fresh_settings(target, request, tmp_path, f"restored_{kind}_to_{target}")
    engine = make_engine(settings)
    report = restore_backup(engine, path, actor="运维")
    restored = dump(engine)

    assert report.revision == head_revision() and report.log_entries_kept == 0
    assert {name: len(rows) for name, rows in restored.items()} == {
        **{name: len(rows) for name, rows in before.items()},
        "change_log": len(before["change_log"]) + 1,
    }
    for name in before:
        if name != "change_log":
            assert restored[name] == before[name], name
    # the log: every entry as it was (ids, times, actors, summaries), then the restore itself
    assert restored["change_log"][:-1] == before["change_log"]
    entry = dict(zip([c.name for c in ChangeLog.__table__.columns], restored["change_log"][-1],
                     strict=True))  # fmt: skip
    assert (entry["actor"], entry["action"]) == ("运维", "restore")
    summary = json.loads(entry["summary"])
    assert summary["rows"]["member"] == len(before["member"]) and summary["forced"] is False
    # the source logged its backup, without personal data
    assert values(after_backup, "change_log", "action")[-1] == "backup"
    logged = values(after_backup, "change_log", "summary")[-1]
    personal = values(before, "member", "name") + values(before, "member", "phone")
    assert personal and not [p for p in personal if p and p in logged]

    # ids go on after the restored ones (PostGIS sequences moved past them)
    with transaction(engine) as conn:
        new_plan = plans.create_plan(conn, "恢复后新方案", "party", "规划员丙")
        log_change(conn, "cli", "check", None, {})
    assert new_plan == max(row[0] for row in before["plan"]) + 1
    last = restored["change_log"][-1][0]
    assert values(dump(engine), "change_log", "id")[-2:] == [last + 1, last + 2]
    engine.dispose()


def test_the_backup_is_a_geopackage_other_tools_read(analysed_backup):
    _, before, _, path = analysed_backup
    layers = dict(pyogrio.list_layers(path).tolist())
    assert {t.name for t in tables()} | {"gridmap_manifest", "gridmap_tables"} == set(layers)
    assert not set(TRANSIENT) & set(layers)  # who is logged in is not data: never in a backup
    assert layers["building"] == "MultiPolygon" and layers["member"] == "Point"
    buildings = pyogrio.read_dataframe(path, layer="building")
    assert len(buildings) == len(before["building"]) and buildings.crs.to_epsg() == 4326
    manifest = dict(pyogrio.read_dataframe(path, layer="gridmap_manifest").values.tolist())
    assert manifest["schema_revision"] == head_revision()
    # a backup holds the personal fields (it is a backup): names and phones are in it
    members = pyogrio.read_dataframe(path, layer="member", columns=["name", "phone"])
    assert members["name"].notna().all()


@pytest.mark.parametrize("db_settings", ["postgis"], indirect=True)
def test_the_backup_covers_every_table_the_migrations_create(db_settings):
    engine = make_engine(db_settings)
    created = set(inspect(engine).get_table_names()) - {"alembic_version", "spatial_ref_sys"}
    engine.dispose()
    assert created == {t.name for t in tables()} | set(TRANSIENT)


# --- refusals: the target is left as it was ----------------------------------------------------


def backed_up(settings: Settings, folder: Path) -> tuple[Settings, Path]:
    """A database with four buildings, backed up."""
    buildings_frame(4).to_file(folder / "楼栋.geojson")
    engine = make_engine(settings)
    load_file(engine, "building", folder / "楼栋.geojson")
    path = write_backup(engine, folder / "备份.gpkg").path
    engine.dispose()
    return settings, path


@pytest.fixture
def small_backup(db_settings, tmp_path) -> tuple[Settings, Path]:
    return backed_up(db_settings, tmp_path)


@pytest.fixture(scope="module")
def small_backup_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("small")
    return backed_up(Settings(database_url=f"sqlite:///{folder / 'gridmap.db'}"), folder)[1]


@pytest.fixture
def a_backup(small_backup_file, tmp_path) -> Path:
    """A copy of a small backup, for a test to damage."""
    return Path(shutil.copy(small_backup_file, tmp_path / small_backup_file.name))


def edit(path: Path, sql: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute(sql)


def test_a_backup_of_another_schema_revision_is_refused(a_backup, tmp_path):
    path = a_backup
    edit(path, "UPDATE gridmap_manifest SET value = '0003' WHERE key = 'schema_revision'")
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'new.db'}"))
    with pytest.raises(BackupError) as refused:
        restore_backup(engine, path)
    assert "0003" in refused.value.message_zh and head_revision() in refused.value.message_en
    assert "Nothing was restored" in refused.value.message_en
    assert not (tmp_path / "new.db").exists()


def test_a_damaged_backup_is_refused_before_anything_is_written(a_backup, tmp_path):
    path = a_backup
    edit(path, "DELETE FROM building WHERE fid = 2")
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'new.db'}"))
    with pytest.raises(InputFileError, match="building should hold 4 rows, it holds 3"):
        restore_backup(engine, path)
    for not_a_backup in (tmp_path / "missing.gpkg", Path(__file__)):
        with pytest.raises(InputFileError):
            restore_backup(engine, not_a_backup)


@pytest.mark.parametrize("kind", KINDS)
def test_a_restore_failing_half_way_writes_nothing(a_backup, kind, request, tmp_path):
    path = a_backup
    # passes every check of the file, fails in the database (action is NOT NULL) after the
    # buildings are in
    edit(path, "UPDATE change_log SET action = NULL")
    engine = make_engine(fresh_settings(kind, request, tmp_path, f"half_written_{kind}"))
    with pytest.raises(InputFileError, match="change_log"):
        restore_backup(engine, path)
    assert all(rows == [] for rows in dump(engine).values())
    engine.dispose()


def test_a_database_holding_data_is_refused_unless_forced(small_backup, tmp_path):
    settings, path = small_backup
    engine = make_engine(settings)
    # after the backup: one building changed, one more imported
    changed = buildings_frame(5)
    changed.loc[0, "户数"] = 999
    changed.to_file(tmp_path / "楼栋二.geojson")
    load_file(engine, "building", tmp_path / "楼栋二.geojson")
    with transaction(engine) as conn:  # someone logged in, someone failed to
        add_account(conn, "测试管理员", "admin", None, "not-a-real-pass-1", "cli")
        start_session(conn, "测试管理员", timedelta(hours=8))
        login_throttle.record_failure(conn, "猜密码的人", "10.0.0.66", datetime.now(UTC))
    before = dump(engine)
    with pytest.raises(BackupError, match="--force"):
        restore_backup(engine, path)
    assert dump(engine) == before

    report = restore_backup(engine, path, force=True)
    after = dump(engine)
    assert values(after, "building", "code") == ["B000", "B001", "B002", "B003"]
    assert values(after, "building", "households") == [10, 20, 30, 40]
    # the log lost nothing: import, backup, import, and the restore appended
    assert after["change_log"][: len(before["change_log"])] == before["change_log"]
    actions = values(after, "change_log", "action")
    assert actions == ["import", "backup", "import", "account_add", "restore"]
    assert report.log_entries_kept == 4
    # every session of the database restored into has ended, and its throttle is forgotten
    with engine.connect() as conn:
        for name in TRANSIENT:
            assert conn.execute(select(func.count()).select_from(Base.metadata.tables[name])).scalar_one() == 0  # fmt: skip
    engine.dispose()


def test_forcing_a_backup_of_another_database_never_rewrites_the_log(a_backup, tmp_path):
    path = a_backup
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'other.db'}"))
    upgrade(engine)
    with transaction(engine) as conn:
        log_change(conn, "cli", "import", "station", {"source": "站点.csv"})
    before = dump(engine)
    with pytest.raises(BackupError, match="append-only"):
        restore_backup(engine, path, force=True)
    assert dump(engine) == before


# --- the command line --------------------------------------------------------------------------


def gridmap(*args, db: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRIDMAP_DATABASE_URL": f"sqlite:///{db}", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "gridmap.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=180)  # fmt: skip


def test_backup_and_restore_on_the_command_line(sqlite_settings, tmp_path):
    help_text = CliRunner().invoke(app, ["backup", "--help"], env={"COLUMNS": "200"}).stdout
    assert "个人信息" in help_text and "personal fields" in help_text
    source = Path(sqlite_settings.database_url.removeprefix("sqlite:///"))
    buildings_frame(4).to_file(tmp_path / "楼栋.geojson")
    load_file(make_engine(sqlite_settings), "building", tmp_path / "楼栋.geojson")
    made = gridmap("backup", "-o", tmp_path / "备份.gpkg", db=source)
    assert made.returncode == 0, made.stderr
    assert "备份.gpkg" in made.stdout

    restored = gridmap("restore", tmp_path / "备份.gpkg", db=tmp_path / "b.db")
    assert restored.returncode == 0, restored.stderr
    engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}"))
    assert len(dump(engine)["building"]) == 4
    engine.dispose()
    again = gridmap("restore", tmp_path / "备份.gpkg", db=tmp_path / "b.db")
    assert again.returncode == 2 and "--force" in again.stderr and "Traceback" not in again.stderr
    with pytest.raises(InputFileError, match=r"\.gpkg"):
        write_backup(make_engine(sqlite_settings), tmp_path / "备份.zip")

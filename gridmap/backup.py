"""``gridmap backup`` / ``gridmap restore``: the whole database in one GeoPackage, and back.

Why a GeoPackage
----------------
- **One file, an open standard** (OGC GeoPackage 1.2): every spatial table is a layer, every
  other table an attribute table, so QGIS or ArcGIS open a backup and show what is in it with no
  gridmap and no database server — a backup anyone can check.
- **Portable between the two databases**: a SpatiaLite backup restores into PostGIS and back
  (the laptop-to-server migration path), and it does not depend on the server's version as a
  ``pg_dump`` does, nor on SpatiaLite's internal tables as a copy of the file does.
- **Exact**: every value comes back as stored — geometries as their WKB, times to the
  microsecond, JSON as its text (how: :mod:`gridmap.io.backup_file`).

Two more tables describe the backup: ``gridmap_manifest`` (format, schema revision — the Alembic
head —, gridmap version, time, source database) and ``gridmap_tables`` (rows per table). The
backup is a snapshot (one read transaction); the file appears under its name only when complete.

Restoring refuses a backup of another schema revision, a damaged one (tables, columns or counts
that do not match its manifest), and a database that already holds data unless ``force``. It is
one transaction. Ids are kept, so the references between tables (``run_id``, ``plan_id`` …)
hold; PostGIS sequences are moved past them. The change log only ever gains rows: with ``force``
the database's log must agree with the backup's on every entry both have; the backup's entries it
lacks are inserted and its own later entries stay. Backup and restore each add a log entry
(file, revision, row counts — no personal data); the backup itself holds every personal field
and the accounts' password hashes, as a backup must. Who is logged in and who failed to log in
(``login_session``, ``login_throttle``) is the running server's state, not data: it is left out
of backups, and a restore ends every session of the database restored into.

Examples
--------
>>> import tempfile, pathlib
>>> from gridmap.config import Settings
>>> from gridmap.loading import load_file
>>> from gridmap.store.db import make_engine
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "s.csv").write_text("编号,名称,经度,纬度\\nS1,锦绣站,104.07,30.66\\n")
>>> source = make_engine(Settings(database_url=f"sqlite:///{d / 'a.db'}"))
>>> load_file(source, "station", d / "s.csv").loaded
1
>>> write_backup(source, d / "backup.gpkg").rows["station"]
1
>>> target = make_engine(Settings(database_url=f"sqlite:///{d / 'b.db'}"))
>>> report = restore_backup(target, d / "backup.gpkg")
>>> report.rows["station"], report.rows["change_log"]
(1, 1)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Connection,
    Engine,
    LargeBinary,
    String,
    Table,
    bindparam,
    cast,
    delete,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.exc import DataError, IntegrityError

from gridmap import __version__
from gridmap.auth import accounts_changed
from gridmap.errors import GridmapError, InputFileError
from gridmap.io.backup_file import (
    FORMAT,
    BackupFile,
    column_kind,
    damaged,
    utc_text,
    write_manifest,
    write_table,
)
from gridmap.store.db import connect, transaction
from gridmap.store.features import log_change
from gridmap.store.models import SRID, Base, ChangeLog
from gridmap.store.schema import current_revision, head_revision, require_current, upgrade

CHUNK_ROWS = 5000


class BackupError(GridmapError):
    """A backup that cannot be restored here: another schema revision, a non-empty database."""


@dataclass(frozen=True)
class BackupReport:
    path: Path
    revision: str
    rows: dict[str, int]


@dataclass(frozen=True)
class RestoreReport:
    path: Path
    revision: str
    rows: dict[str, int]  # rows of the backup, per table
    log_entries_kept: int  # entries of the database's own change log left as they were


# the server's state, not data: never backed up, emptied by a restore (a restored session
# would let in whoever held a cookie of the database backed up)
TRANSIENT = ("login_session", "login_throttle")


def tables() -> list[Table]:
    """Every table backed up, in the models' order: layers, log, results, plans, accounts
    (not :data:`TRANSIENT`)."""
    return [t for name, t in Base.metadata.tables.items() if name not in TRANSIENT]


def _select(table: Table):
    """All rows in id order: geometry as WKB, JSON as its stored text."""
    columns = []
    for column in table.columns:
        kind = column_kind(column)
        if kind == "geometry":
            columns.append(func.ST_AsBinary(column).label(column.name))
        elif kind == "json":
            columns.append(cast(column, String).label(column.name))
        else:
            columns.append(column)
    return select(*columns).order_by(*table.primary_key.columns)


# --- backup ------------------------------------------------------------------------------------


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A read connection seeing every table as of one moment, while others go on writing."""
    with connect(engine) as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")  # one read transaction over every table (WAL)
            yield conn
        else:
            yield conn.execution_options(isolation_level="REPEATABLE READ")


def write_backup(engine: Engine, path: str | Path, actor: str = "cli") -> BackupReport:
    """Every table of the database into the GeoPackage ``path`` (replaced only when complete).

    The backup holds personal fields; its change log entry does not.
    """
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise InputFileError(
            f"备份文件名须以 .gpkg 结尾 (GeoPackage): {path.name}",
            f"A backup is a GeoPackage; name it *.gpkg: {path.name}",
        )
    require_current(engine)
    revision = head_revision()
    partial = path.with_name(f"{path.stem}.partial.gpkg")
    partial.unlink(missing_ok=True)
    rows: dict[str, int] = {}
    try:
        with _snapshot(engine) as conn:
            for table in tables():
                result = conn.execution_options(stream_results=True).execute(_select(table))
                rows[table.name] = write_table(partial, table, result.partitions(CHUNK_ROWS))
            source = conn.dialect.name
        manifest = {"format": FORMAT, "schema_revision": revision, "gridmap_version": __version__,
                    "created_at": utc_text(datetime.now(UTC)), "source_database": source}  # fmt: skip
        write_manifest(partial, manifest, rows)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    entry = {"file": str(path.resolve()), "revision": revision, "rows": rows, "personal_data": True}
    with transaction(engine) as conn:
        log_change(conn, actor, "backup", None, entry)
    return BackupReport(path=path, revision=revision, rows=rows)


# --- restore -----------------------------------------------------------------------------------


def _check_revision(backup: BackupFile) -> None:
    revision, made_by = backup.manifest.get("schema_revision"), backup.manifest.get("gridmap_version")  # fmt: skip
    if revision != head_revision():
        name = backup.path.name
        raise BackupError(
            f"{name} 的数据库结构版本是 {revision} (gridmap {made_by})，本程序是 {head_revision()} "
            f"(gridmap {__version__})，未恢复。请用制作它的 gridmap 恢复，运行 gridmap init 升级后"
            "重新备份。",
            f"{name} has schema revision {revision} (gridmap {made_by}); this gridmap has "
            f"{head_revision()} ({__version__}). Nothing was restored: restore it with the gridmap "
            "that made it, run `gridmap init` there, and back up again.",
        )


def _insert(conn: Connection, table: Table, chunk: list[dict]) -> None:
    values = {}
    for column in table.columns:
        kind = column_kind(column)
        if kind == "geometry":
            values[column.name] = func.ST_GeomFromWKB(bindparam(column.name, type_=LargeBinary), SRID)  # fmt: skip
        elif kind == "json":  # the stored text, not serialised a second time
            raw = bindparam(column.name, type_=String)
            values[column.name] = cast(raw, column.type) if conn.dialect.name == "postgresql" else raw  # fmt: skip
        else:
            values[column.name] = bindparam(column.name, type_=column.type)
    conn.execute(insert(table).values(values), chunk)


def _log_entry(row) -> tuple:
    """A change log entry by meaning: time in UTC, summary parsed."""
    at = row["at"] if isinstance(row["at"], datetime) else datetime.fromisoformat(row["at"])
    summary = json.loads(row["summary"]) if row["summary"] is not None else None
    return utc_text(at), row["actor"], row["action"], row["layer"], summary


def _merge_change_log(conn: Connection, backup: BackupFile) -> int:
    """Insert the backup's log entries the database lacks; returns how many of its own stay."""
    table = ChangeLog.__table__
    own = {row["id"]: _log_entry(row) for row in conn.execute(_select(table)).mappings()}
    for chunk in backup.chunks(table, CHUNK_ROWS):
        for row in chunk:
            if row["id"] in own and own[row["id"]] != _log_entry(row):
                raise BackupError(
                    f"本数据库的变更日志与备份在第 {row['id']} 条不一致 (不是同一数据库的备份)。"
                    "变更日志只增不改，未恢复；请恢复到空数据库。",
                    f"The change log of this database and the backup's differ at entry "
                    f"{row['id']} (not a backup of this database). The log is append-only, so "
                    "nothing was restored; restore into an empty database.",
                )
        if new := [row for row in chunk if row["id"] not in own]:
            _insert(conn, table, new)
    return len(own)


def _insert_all(conn: Connection, backup: BackupFile) -> int:
    """Every table's rows; returns how many entries of the database's own log stay."""
    kept = 0
    for table in tables():
        try:
            if table is ChangeLog.__table__:
                kept = _merge_change_log(conn, backup)
                continue
            for chunk in backup.chunks(table, CHUNK_ROWS):
                _insert(conn, table, chunk)
        except (IntegrityError, DataError) as exc:
            error = type(exc.orig).__name__
            zh, en = f"表 {table.name} 的数据无法写入 ({error})", f"the rows of {table.name} do not fit ({error})"  # fmt: skip
            raise damaged(backup.path, zh, en) from exc
    return kept


def _advance_sequences(conn: Connection) -> None:
    """PostGIS: new ids after the restored ones (SQLite takes the largest rowid + 1 itself)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables():
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or column_kind(keys[0]) != "integer":
            continue
        key = keys[0].name
        conn.execute(
            text(
                f'SELECT setval(pg_get_serial_sequence(:table, :key), COALESCE(MAX("{key}"), 1), '
                f'MAX("{key}") IS NOT NULL) FROM "{table.name}"'
            ),
            {"table": f'"{table.name}"', "key": key},
        )


def _refuse_data(conn: Connection) -> None:
    counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables()}  # fmt: skip
    present = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
    if present:
        raise BackupError(
            f"数据库中已有数据 ({present} 行)，未恢复。确需用备份替换时加 --force "
            "(变更日志保留，只追加)。",
            f"The database already holds data ({present} rows); nothing was restored. Add "
            "--force to replace it with the backup (the change log is kept and only appended to).",
        )


def restore_backup(
    engine: Engine, path: str | Path, *, force: bool = False, actor: str = "cli"
) -> RestoreReport:
    """Restore the backup ``path`` into ``engine``'s database, all or nothing.

    A new database gets the schema first. A database holding data is refused unless ``force``:
    then every table is replaced by the backup's rows, except the change log, which keeps its
    entries and gains the backup's missing ones.
    """
    path = Path(path)
    backup = BackupFile(path)
    try:
        _check_revision(backup)
        backup.check_tables(tables())
        if current_revision(engine) is None:
            upgrade(engine)
        require_current(engine)
        with transaction(engine) as conn:
            if not force:
                _refuse_data(conn)
            accounts_changed(conn)  # accounts, tokens and sessions are the backup's now
            for name in TRANSIENT:  # every session ends: log in again
                conn.execute(delete(Base.metadata.tables[name]))
            for table in reversed(tables()):
                if table is not ChangeLog.__table__:
                    conn.execute(delete(table))
            kept = _insert_all(conn, backup)
            _advance_sequences(conn)
            facts = backup.manifest
            entry = {"file": str(path.resolve()), "revision": facts["schema_revision"],
                     "backup_created_at": facts["created_at"], "rows": backup.rows,
                     "source_database": facts["source_database"], "forced": force,
                     "log_entries_kept": kept}  # fmt: skip
            log_change(conn, actor, "restore", None, entry)
    finally:
        backup.close()
    return RestoreReport(path, backup.manifest["schema_revision"], dict(backup.rows), kept)

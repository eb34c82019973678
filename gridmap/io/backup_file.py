"""The backup file: database tables as layers of one GeoPackage, written and read back exactly.

Written with GDAL (pyogrio), as GeoPackage 1.2 like every other GeoPackage gridmap writes, so
QGIS and ArcGIS open it. Read back with SQLite itself: a GeoPackage *is* an SQLite file, and its
geometries are a short header before the WKB (OGC 12-128r18 §2.1.3), so integers, text and NULLs
come back as stored and geometries as the very WKB that was stored — no round trip through
pandas dtypes. Each column travels as one of a few kinds (:func:`column_kind`): times as ISO 8601
text in UTC with microseconds (GeoPackage's DATETIME keeps milliseconds), JSON as its stored text.

Examples
--------
>>> from gridmap.store.models import Building
>>> kinds = {c.name: column_kind(c) for c in Building.__table__.columns}
>>> kinds["geom"], kinds["properties"], kinds["updated_at"], kinds["households"]
('geometry', 'json', 'datetime', 'integer')
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, String, Table

from gridmap.errors import InputFileError

FORMAT = "gridmap-backup/1"
MANIFEST, TABLES = "gridmap_manifest", "gridmap_tables"
GEOMETRY_TYPES = {"MULTIPOLYGON": "MultiPolygon", "POINT": "Point", "GEOMETRY": "Unknown"}
# promote_to_multi=False: a column of any geometry type holding both a Polygon and a MultiPolygon
# must come back as it was stored (pyogrio's default makes every Polygon of such a layer multi)
GPKG = {"driver": "GPKG", "dataset_options": {"VERSION": "1.2"}, "promote_to_multi": False}


def column_kind(column) -> str:
    """How a column travels: geometry, json, datetime, boolean, integer, float or text."""
    from geoalchemy2 import Geometry

    kinds = {Geometry: "geometry", JSON: "json", DateTime: "datetime", Boolean: "boolean",
             Integer: "integer", Float: "float", String: "text"}  # fmt: skip
    for type_, kind in kinds.items():
        if isinstance(column.type, type_):
            return kind
    raise TypeError(f"a backup cannot hold {column.table.name}.{column.name} ({column.type!r})")


def utc_text(value: datetime | None) -> str | None:
    """ISO 8601 in UTC to the microsecond; naive times are UTC (SQLite hands them back so)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _frame(table: Table, rows: list[tuple]):
    """Rows as the (Geo)DataFrame pyogrio writes, with one explicit dtype per column."""
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import shapely

    data, geometry = {}, None
    for i, column in enumerate(table.columns):
        values = [row[i] for row in rows]
        kind = column_kind(column)
        if kind == "geometry":
            wkb = np.array([None if v is None else bytes(v) for v in values], dtype=object)
            geometry = shapely.from_wkb(wkb) if len(wkb) else wkb
        elif kind in ("integer", "boolean"):
            data[column.name] = pd.array(values, dtype="Int64" if kind == "integer" else "boolean")
        elif kind == "float":  # NULL as NaN, which GDAL writes as NULL
            data[column.name] = np.array([np.nan if v is None else v for v in values], dtype=float)
        elif kind == "datetime":
            data[column.name] = pd.array([utc_text(v) for v in values], dtype=object)
        else:
            data[column.name] = pd.array(values, dtype=object)
    frame = pd.DataFrame(data)
    if geometry is None:
        return frame
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry, crs=4326).rename("geom"))


def write_table(path: Path, table: Table, chunks: Iterable[list[tuple]]) -> int:
    """Append ``table``'s rows (chunks of tuples in column order) as a layer; returns the count.

    An empty table still gets its layer, with its fields and geometry type.
    """
    import pyogrio

    options = dict(GPKG)
    for column in table.columns:
        if column_kind(column) == "geometry":
            options["geometry_type"] = GEOMETRY_TYPES.get(column.type.geometry_type, "Unknown")
    total = 0
    for rows in chunks:
        frame = _frame(table, rows)
        pyogrio.write_dataframe(frame, path, layer=str(table.name), append=total > 0, **options)
        total += len(rows)
    if total == 0:
        pyogrio.write_dataframe(_frame(table, []), path, layer=str(table.name), **options)
    return total


def write_manifest(path: Path, manifest: dict[str, str], rows: dict[str, int]) -> None:
    """The two tables describing the backup: key/value facts, and row counts per table."""
    import pandas as pd
    import pyogrio

    facts = pd.DataFrame({"key": list(manifest), "value": list(manifest.values())})
    counts = pd.DataFrame({"name": list(rows), "rows": pd.array(list(rows.values()), "Int64")})
    pyogrio.write_dataframe(facts, path, layer=MANIFEST, **GPKG)
    pyogrio.write_dataframe(counts, path, layer=TABLES, **GPKG)


def damaged(path: Path, zh: str, en: str) -> InputFileError:
    return InputFileError(f"{path.name}: {zh}，未恢复任何内容。", f"{path.name}: {en}; nothing was restored.")  # fmt: skip


def _wkb(blob: bytes) -> bytes:
    """The WKB after a GeoPackage geometry header: magic, version, flags, srs id, envelope."""
    envelope = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[(blob[3] >> 1) & 0b111]
    return bytes(blob[8 + envelope :])


def _value(kind: str, value):
    if value is None:
        return None
    if kind == "geometry":
        return _wkb(value)
    if kind == "boolean":
        return bool(value)
    if kind == "datetime":
        return datetime.fromisoformat(value)
    return value


class BackupFile:
    """A backup opened read-only: its manifest, its row counts, and its tables' rows."""

    def __init__(self, path: Path):
        if not path.is_file():
            raise InputFileError(f"找不到备份文件 {path}。", f"Backup file not found: {path}.")
        self.path = path
        self.db = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            layers = {r[0] for r in self.db.execute("SELECT table_name FROM gpkg_contents")}
            if not {MANIFEST, TABLES} <= layers:
                raise damaged(path, "不是 gridmap 备份", f"not a gridmap backup (no {MANIFEST})")
            self.manifest = dict(self.db.execute(f"SELECT key, value FROM {MANIFEST}"))
            self.rows = dict(self.db.execute(f"SELECT name, rows FROM {TABLES} ORDER BY fid"))
        except sqlite3.DatabaseError:
            self.db.close()
            raise damaged(path, "不是 GeoPackage 文件", "not a GeoPackage") from None
        except InputFileError:
            self.db.close()
            raise
        if self.manifest.get("format") != FORMAT:
            self.db.close()
            found = self.manifest.get("format")
            raise damaged(path, f"备份格式 {found} 无法识别", f"unknown backup format {found}")

    def check_tables(self, tables: list[Table]) -> None:
        """Refuse a file whose tables, columns or row counts are not those of its manifest."""
        for table in tables:
            name, expected = table.name, self.rows.get(table.name)
            if expected is None:
                raise damaged(self.path, f"缺少表 {name}", f"table {name} is missing")
            stored = self.db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            if stored != expected:
                zh = f"表 {name} 应有 {expected} 行，实有 {stored} 行"
                raise damaged(self.path, zh, f"table {name} should hold {expected} rows, it holds {stored}")  # fmt: skip
            columns = {r[1] for r in self.db.execute(f'PRAGMA table_info("{name}")')}
            missing = ", ".join(c.name for c in table.columns if c.name not in columns)
            if missing:
                raise damaged(self.path, f"表 {name} 缺少列 {missing}", f"table {name} lacks {missing}")  # fmt: skip

    def chunks(self, table: Table, size: int = 5000) -> Iterator[list[dict]]:
        """``table``'s rows in id order, as insert parameters (WKB, datetimes, booleans)."""
        names = [c.name for c in table.columns]
        kinds = [column_kind(c) for c in table.columns]
        quoted = ", ".join(f'"{n}"' for n in names)
        cursor = self.db.execute(f'SELECT {quoted} FROM "{table.name}" ORDER BY fid')
        while batch := cursor.fetchmany(size):
            yield [
                {name: _value(kind, v) for name, kind, v in zip(names, kinds, row, strict=True)}
                for row in batch
            ]

    def close(self) -> None:
        self.db.close()

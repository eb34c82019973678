"""Commands that back up and restore the whole database: backup, restore."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gridmap.cli.context import console, get_engine


def backup(
    output: Annotated[Path, typer.Option("-o", "--output", help="备份文件 / backup file (.gpkg)")],
) -> None:
    """备份整个数据库到一个 GeoPackage / Back up the whole database into one GeoPackage.

    包含全部图层、网格方案与历史、分析结果和变更日志，也包含党员姓名、电话、住址等个人信息：
    请像保管数据库一样保管备份文件。备份记入变更日志 (不含个人信息)。可用 QGIS 打开查看。

    Every layer, plan, grid history, analysis result and the change log — personal fields
    (members' names, phones, addresses) included: keep the file as safe as the database. The
    backup is recorded in the change log (without personal data). QGIS opens it.

    示例 / Example: gridmap backup -o 备份/锦绣街道-2026-11-26.gpkg
    """
    from gridmap.backup import write_backup

    report = write_backup(get_engine(), output)
    console.print(
        f"已备份 backed up {sum(report.rows.values())} 行 rows, {len(report.rows)} 张表 tables "
        f"(schema {report.revision}) → {report.path}"
    )


def restore(
    file: Annotated[Path, typer.Argument(help="gridmap backup 生成的备份文件 / a gridmap backup")],
    force: Annotated[
        bool,
        typer.Option(help="替换已有数据 (变更日志保留, 只追加) / replace the data already there"),
    ] = False,
) -> None:
    """从备份恢复数据库 (一次事务, 全部或全不) / Restore a backup, all or nothing.

    目标数据库可以是新的 SpatiaLite 文件或 PostGIS 数据库 (SpatiaLite 的备份可恢复到 PostGIS,
    反之亦然)。备份须与本程序的数据库结构版本相同；数据库已有数据时须加 --force。
    The target may be a new SpatiaLite file or PostGIS database, of either kind. The backup must
    have this gridmap's schema revision; a database holding data needs --force.

    示例 / Examples:

      gridmap restore 备份/锦绣街道-2026-11-26.gpkg

      GRIDMAP_DATABASE_URL=postgresql+psycopg://gridmap@db/gridmap gridmap restore 备份.gpkg
    """
    from gridmap.backup import restore_backup

    report = restore_backup(get_engine(), file, force=force)
    console.print(
        f"已恢复 restored {sum(report.rows.values())} 行 rows, {len(report.rows)} 张表 tables "
        f"(schema {report.revision}) ← {report.path}"
    )

"""Commands on the database and its layers: init, load, export, layers."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gridmap.cli.context import console, err, get_engine, get_settings
from gridmap.config import Settings
from gridmap.errors import GridmapError
from gridmap.layers import LAYERS


def init() -> None:
    """创建或升级数据库结构 / Create or upgrade the database schema.

    示例 / Example: ``gridmap init``; with PostGIS:
    ``GRIDMAP_DATABASE_URL=postgresql+psycopg://user@host/db gridmap init``
    """
    from gridmap.store.schema import head_revision, upgrade

    settings = get_settings()
    upgrade(get_engine(settings))
    console.print(
        f"数据库已就绪 / database ready: {_safe_url(settings)} (schema {head_revision()})"
    )


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


def _print_report(report) -> None:
    table = Table(title=f"{report.layer}: {report.read.source}")
    for column in ("读取 read", "新增 inserted", "更新 updated", "修复 repaired", "拒绝 rejected"):
        table.add_column(column, justify="right")
    table.add_row(
        str(report.read.rows_read),
        str(report.inserted),
        str(report.updated),
        str(len(report.read.repaired)),
        str(len(report.read.rejected)),
    )
    console.print(table)
    console.print(
        f"编码 encoding: {report.read.encoding or '-'}   坐标系 CRS: {report.read.crs or '-'}"
    )
    if report.removed:
        console.print(
            f"替换: 删除了原有 {report.removed} 个要素 / replaced {report.removed} features"
        )
    # codes, cell values and column names are the file's own text: never read as markup
    for row, code, note in report.read.repaired[:20]:
        console.print(f"  修复 repaired: 第 {row} 行 {escape(str(code))}: {escape(note)}")
    for problem in report.read.rejected[:50]:
        console.print(f"  拒绝 rejected: {escape(str(problem))}")
    for warning in report.warnings:
        console.print(f"  [yellow]注意 warning[/]: {escape(warning)}")
    if report.matches is not None:
        _print_matches(report.matches.counts)


def _print_matches(counts: dict[str, int]) -> None:
    """How the addresses matched (counts only: addresses are never printed or logged)."""
    table = Table(title="按住址落位 / placed by address")
    labels = {"exact": "名称 exact", "alias": "别名 alias", "fuzzy": "近似 fuzzy",
              "code": "楼栋编号 code", "ambiguous": "有歧义 ambiguous", "unmatched": "未匹配 unmatched",
              "placed_by_address": "按住址落位 placed", "by_coordinates": "按坐标 coordinates"}  # fmt: skip
    table.add_column("匹配 match")
    table.add_column("行数 rows", justify="right")
    for key, label in labels.items():
        table.add_row(label, str(counts.get(key, 0)))
    console.print(table)


def load(
    layer: Annotated[str, typer.Argument(help=f"图层 layer: {', '.join(LAYERS)}")],
    file: Annotated[
        Path,
        typer.Argument(
            help="文件 GeoJSON/Shapefile(.shp/.zip)/GPKG/KML/KMZ/GML/CAD(.dxf)/CSV/Excel(.xlsx/.xls)/ODS"
        ),
    ],
    grid_layer: Annotated[
        str | None, typer.Option(help="网格图层名 (导入网格时必填): party, zongzhi, chengguan …")
    ] = None,
    crs: Annotated[
        str | None,
        typer.Option(
            help="坐标系: EPSG 代码 (4326, 4490, 4544 …) 或 gcj02 / bd09; CAD 图纸 (.dxf) 不带坐标系, "
            "请给出 CGCS2000 高斯-克吕格带, 如 4547 (3 度带, 中央经线 114°E) / a DXF names no CRS"
        ),
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="编码 utf-8 / gbk (默认自动识别)")] = None,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", help="列映射 源列=字段, 可多次 (e.g. 楼高=floors)"),
    ] = None,
    source_layer: Annotated[
        str | None,
        typer.Option(
            help="多图层文件中的图层名 (KMZ/KML 的文件夹); CAD: 边界图层[,标注图层] / a layer "
            "(a KML folder); for a DXF the CAD layer of the outlines, then, after a comma, of the labels"
        ),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(
            help="工作簿的工作表: 名称或序号 (从 1 起) / a workbook's sheet, name or number"
        ),
    ] = None,
    replace: Annotated[bool, typer.Option(help="先删除该图层原有要素 / replace the layer")] = False,
    skip_invalid: Annotated[
        bool, typer.Option(help="跳过无法使用的行, 导入其余行 / load the usable rows only")
    ] = False,
    match_report: Annotated[
        Path | None,
        typer.Option(
            "--match-report",
            help="按住址落位的逐行结果写入此 CSV (含住址; 改正后可再次导入) / "
            "write how each address matched to this CSV (fix it and load it again)",
        ),
    ] = None,
) -> None:
    """导入一个图层文件 (整文件一次事务) / Load one file into a layer, all or nothing.

    示例 / Examples:

      gridmap load community 社区.gpkg

      gridmap load grid 党建网格.shp --grid-layer party

      gridmap load member 党员.csv --crs gcj02 --field 联系方式=phone

      gridmap load building 楼栋.zip --encoding gbk --replace

      gridmap load member 党员花名册.xlsx --sheet 花名册

      gridmap load member 党员花名册.csv --match-report 住址匹配.csv   # 无经纬度: 按住址落位

      gridmap load grid 网格.kmz --grid-layer party --source-layer 党建网格   # 奥维/Google Earth

      gridmap load grid 网格.dxf --grid-layer party --crs 4547 --source-layer 网格边界,网格注记

    CAD 图纸 (.dxf)：每个闭合多段线或填充为一个要素，名称取自其内部的文字标注 (TEXT/MTEXT，
    如 "DJ01 第一网格")；DWG 请先在 CAD 中另存为 DXF / a DXF's closed polylines and hatches
    are the features, named by the text inside each; save a DWG as DXF first.
    """
    from gridmap.collector import paused

    with paused():  # the libraries a load needs are many objects and no cycles (0.1 CPU-s)
        from gridmap.io.columns import parse_field_options
        from gridmap.loading import LoadOptions, load_file

    if layer not in LAYERS:
        raise GridmapError(
            f"没有图层 {layer}。可用图层: {', '.join(LAYERS)}。",
            f"No layer {layer}; use one of: {', '.join(LAYERS)}.",
        )
    settings = get_settings()
    options = LoadOptions(
        crs=crs,
        encoding=encoding,
        fields=parse_field_options(field or []),
        source_layer=source_layer,
        sheet=sheet,
        grid_layer=grid_layer,
        replace=replace,
        skip_invalid=skip_invalid,
        chunk_rows=settings.import_chunk_rows,
        match_report=match_report,
        address_disagree_m=settings.address_disagree_m,
    )
    with Progress(
        TextColumn("写入 writing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("load", total=None)
        engine = get_engine(settings)
        report = load_file(engine, layer, file, options, progress=lambda n: bar.advance(task, n))
    engine.dispose()  # its connections closed now (SQLite folds its write-ahead log back in)
    _print_report(report)
    if match_report is not None:
        console.print(f"住址匹配结果 match report → {match_report}")
    # The process ends with this command: the objects of the libraries it loaded are left to the
    # operating system instead of being walked by the garbage collector at exit (0.3 s)
    gc.freeze()


def export(
    layer: Annotated[
        str,
        typer.Argument(help=f"图层 layer: {', '.join(LAYERS)}; 或 gaps, proposals, map, board"),
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出文件 / output file")],
    format: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help="geojson | gpkg | csv | xlsx (默认按文件后缀 / from suffix)"
        ),
    ] = None,
    grid_layer: Annotated[str | None, typer.Option(help="网格图层名 (导出网格时)")] = None,
    include_personal: Annotated[
        bool, typer.Option(help="包含党员姓名、电话、住址 (记入变更日志) / include personal fields")
    ] = False,
    community: Annotated[
        str | None, typer.Option(help="export map: 社区编码 / the community's code")
    ] = None,
    grid: Annotated[
        str | None, typer.Option(help="export map: 网格编码 (默认全科网格) / a grid cell's code")
    ] = None,
    size: Annotated[
        str, typer.Option(help="export board: 纸张 A4 | A3 (纵向) / paper, portrait")
    ] = "A4",
) -> None:
    """导出图层、留白或组织建议 / Export a layer, the gaps or the proposals.

    export map: 一个社区或网格的离线地图 (单个 HTML 文件，无需网络和服务器) / one
    community or grid cell as a self-contained offline HTML map.

    export board: 网格公示牌 (可打印的 HTML，每个网格一页；--community 为该社区全部网格) / the
    printable notice board of a grid, or of every grid of a community, one page each.

    GeoJSON (RFC 7946), GeoPackage, CSV (UTF-8 BOM) 或 XLSX (Excel 工作簿)，供 QGIS/ArcGIS/Excel
    使用；CSV/XLSX 中以 = + - @ 开头的文本前加 ' (不会被当作公式)。
    gaps、proposals 为最近一次 gridmap analyze 的结果。默认不含个人信息 / Personal
    fields are left out unless --include-personal.

    示例 / Examples:

      gridmap export grid --grid-layer party -f gpkg -o 党建网格.gpkg

      gridmap export gaps -o 留白.gpkg

      gridmap export proposals -f csv -o 组织建议.csv

      gridmap export map --community 510199001001 -o 锦绣社区.html

      gridmap export board --grid DJ101 -o 公示牌.html

      gridmap export board --community 510199001001 --size A3 -o 锦绣社区公示牌.html

      gridmap export compound -o 小区.xlsx
    """
    from gridmap.exporting import export_layer

    if layer == "map":
        _export_map(output, community, grid, grid_layer or "unified")
        return
    if layer == "board":
        _export_board(output, community, grid, size)
        return
    path, n = export_layer(
        get_engine(),
        layer,
        output,
        format,
        grid_layer=grid_layer,
        include_personal=include_personal,
    )
    console.print(f"已导出 exported {n} 个要素 features → {path}")


def _export_map(output: Path, community: str | None, grid: str | None, grid_layer: str) -> None:
    from gridmap.maps.offline import export_map, summary_counts

    settings = get_settings()
    path, unit = export_map(get_engine(settings), output, settings, community, grid, grid_layer)
    n = summary_counts(unit)
    console.print(
        f"已导出离线地图 offline map of {unit.name or unit.code} → {path} "
        f"(网格 {n['grids']}, 小区 {n['compounds']}, 楼栋 {n['buildings']}, 留白 gaps {n['gaps']})"
    )


def _export_board(output: Path, community: str | None, grid: str | None, size: str) -> None:
    from gridmap.notice_boards import write_board

    settings = get_settings()
    path, boards = write_board(get_engine(settings), output, grid, community, size)
    codes = "、".join(b.grid["code"].iloc[0] for b in boards[:5]) + ("…" if len(boards) > 5 else "")
    console.print(f"已导出网格公示牌 notice boards: {len(boards)} ({escape(codes)}) → {path}")


def layers() -> None:
    """列出各图层要素数 / Count the features of every layer."""
    from gridmap.store.db import connect
    from gridmap.store.features import layer_counts
    from gridmap.store.schema import require_current

    engine = get_engine()
    require_current(engine)
    with connect(engine) as conn:
        counts = layer_counts(conn)
    table = Table("图层 layer", "要素 features")
    for name, n in counts.items():
        table.add_row(name, str(n))
    console.print(table)

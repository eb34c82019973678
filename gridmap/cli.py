"""gridmap's command line (命令行). Thin: each command calls one function of the layers below.

Errors users can cause are printed in Chinese and English without a traceback (exit code 2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gridmap import __version__
from gridmap.config import Settings
from gridmap.errors import GridmapError
from gridmap.layers import LAYERS

app = typer.Typer(
    help=(
        "gridmap — 党建引领网格化治理 GIS：多网合一、党组织覆盖与留白分析。\n\n"
        "Party-building grid GIS: unified grids, organisation coverage and gaps.\n\n"
        "数据库由环境变量 GRIDMAP_DATABASE_URL 指定 (默认当前目录 gridmap.db)。"
        " The database comes from GRIDMAP_DATABASE_URL (default ./gridmap.db)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_DATA = REPO_ROOT / "geodata" / "demo"


def _settings() -> Settings:
    return Settings()


def _engine(settings: Settings | None = None):
    from gridmap.store.db import make_engine

    return make_engine(settings or _settings())


@app.command()
def init() -> None:
    """创建或升级数据库结构 / Create or upgrade the database schema.

    示例 / Example: ``gridmap init``; with PostGIS:
    ``GRIDMAP_DATABASE_URL=postgresql+psycopg://user@host/db gridmap init``
    """
    from gridmap.store.schema import head_revision, upgrade

    settings = _settings()
    upgrade(_engine(settings))
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
    for row, code, note in report.read.repaired[:20]:
        console.print(f"  修复 repaired: 第 {row} 行 {code}: {note}")
    for problem in report.read.rejected[:50]:
        console.print(f"  拒绝 rejected: {problem}")
    for warning in report.warnings:
        console.print(f"  [yellow]注意 warning[/]: {warning}")


@app.command()
def load(
    layer: Annotated[str, typer.Argument(help=f"图层 layer: {', '.join(LAYERS)}")],
    file: Annotated[
        Path, typer.Argument(help="文件 GeoJSON/Shapefile(.shp/.zip)/GPKG/KML/GML/CSV")
    ],
    grid_layer: Annotated[
        str | None, typer.Option(help="网格图层名 (导入网格时必填): party, zongzhi, chengguan …")
    ] = None,
    crs: Annotated[
        str | None, typer.Option(help="坐标系: EPSG 代码 (4326, 4490, 4544 …) 或 gcj02 / bd09")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="编码 utf-8 / gbk (默认自动识别)")] = None,
    field: Annotated[
        list[str] | None,
        typer.Option("--field", help="列映射 源列=字段, 可多次 (e.g. 楼高=floors)"),
    ] = None,
    source_layer: Annotated[str | None, typer.Option(help="多图层文件中的图层名")] = None,
    replace: Annotated[bool, typer.Option(help="先删除该图层原有要素 / replace the layer")] = False,
    skip_invalid: Annotated[
        bool, typer.Option(help="跳过无法使用的行, 导入其余行 / load the usable rows only")
    ] = False,
) -> None:
    """导入一个图层文件 (整文件一次事务) / Load one file into a layer, all or nothing.

    示例 / Examples:

      gridmap load community 社区.gpkg

      gridmap load grid 党建网格.shp --grid-layer party

      gridmap load member 党员.csv --crs gcj02 --field 联系方式=phone

      gridmap load building 楼栋.zip --encoding gbk --replace
    """
    from gridmap.io.columns import parse_field_options
    from gridmap.loading import LoadOptions, load_file

    if layer not in LAYERS:
        raise GridmapError(
            f"没有图层 {layer}。可用图层: {', '.join(LAYERS)}。",
            f"No layer {layer}; use one of: {', '.join(LAYERS)}.",
        )
    settings = _settings()
    options = LoadOptions(
        crs=crs,
        encoding=encoding,
        fields=parse_field_options(field or []),
        source_layer=source_layer,
        grid_layer=grid_layer,
        replace=replace,
        skip_invalid=skip_invalid,
        chunk_rows=settings.import_chunk_rows,
    )
    with Progress(
        TextColumn("写入 writing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("load", total=None)
        report = load_file(
            _engine(settings), layer, file, options, progress=lambda n: bar.advance(task, n)
        )
    _print_report(report)


@app.command()
def export(
    layer: Annotated[
        str, typer.Argument(help=f"图层 layer: {', '.join(LAYERS)}; 或 gaps, proposals")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出文件 / output file")],
    format: Annotated[
        str | None,
        typer.Option("--format", "-f", help="geojson | gpkg | csv (默认按文件后缀 / from suffix)"),
    ] = None,
    grid_layer: Annotated[str | None, typer.Option(help="网格图层名 (导出网格时)")] = None,
    include_personal: Annotated[
        bool, typer.Option(help="包含党员姓名、电话、住址 (记入变更日志) / include personal fields")
    ] = False,
) -> None:
    """导出图层、留白或组织建议 / Export a layer, the gaps or the proposals.

    GeoJSON (RFC 7946), GeoPackage 或 CSV (UTF-8 BOM, Excel 可直接打开)，供 QGIS/ArcGIS/Excel
    使用。gaps、proposals 为最近一次 gridmap analyze 的结果。默认不含个人信息 / Personal
    fields are left out unless --include-personal.

    示例 / Examples:

      gridmap export grid --grid-layer party -f gpkg -o 党建网格.gpkg

      gridmap export gaps -o 留白.gpkg

      gridmap export proposals -f csv -o 组织建议.csv
    """
    from gridmap.exporting import export_layer

    path, n = export_layer(
        _engine(), layer, output, format, grid_layer=grid_layer, include_personal=include_personal
    )
    console.print(f"已导出 exported {n} 个要素 features → {path}")


@app.command()
def layers() -> None:
    """列出各图层要素数 / Count the features of every layer."""
    from gridmap.store.db import connect
    from gridmap.store.features import layer_counts
    from gridmap.store.schema import require_current

    engine = _engine()
    require_current(engine)
    with connect(engine) as conn:
        counts = layer_counts(conn)
    table = Table("图层 layer", "要素 features")
    for name, n in counts.items():
        table.add_row(name, str(n))
    console.print(table)


@app.command()
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

    report = write_backup(_engine(), output)
    console.print(
        f"已备份 backed up {sum(report.rows.values())} 行 rows, {len(report.rows)} 张表 tables "
        f"(schema {report.revision}) → {report.path}"
    )


@app.command()
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

    report = restore_backup(_engine(), file, force=force)
    console.print(
        f"已恢复 restored {sum(report.rows.values())} 行 rows, {len(report.rows)} 张表 tables "
        f"(schema {report.revision}) ← {report.path}"
    )


def _print_counts(title: str, counts: dict) -> None:
    table = Table(title, "数量 count")
    for kind, n in counts.items():
        table.add_row(kind, str(n))
    console.print(table)


@app.command()
def integrate(
    base: Annotated[str, typer.Option(help="作为基础的网格图层 / base grid layer")] = "party",
    out: Annotated[Path | None, typer.Option(help="输出目录 / folder for the result files")] = None,
) -> None:
    """多网合一：检查各图层拓扑，生成全科网格与对照表 / Check layers, build the unified grid.

    全科网格存为网格图层 unified，并写出 unified_grid.geojson、crosswalk.csv、topology.geojson、
    summary.json。The unified grid is stored as grid layer ``unified``.

    示例 / Example: gridmap integrate --base party --out 结果/
    """
    from gridmap.runs import run_integrate

    settings = _settings()
    result = run_integrate(_engine(settings), settings, base=base, out_dir=out)
    _print_counts("问题类型 kind", result.summary["findings"])
    console.print(
        f"全科网格 unified cells: {result.summary['unified_cells']}   "
        f"移动小区 compounds moved: {result.summary['compounds_moved']}   "
        f"部门网格分歧 disagreements: {result.summary['disagreements']}"
    )
    if out:
        console.print(f"结果已写入 results written to {out}")


@app.command()
def analyze(
    base: Annotated[str, typer.Option(help="作为基础的网格图层 / base grid layer")] = "party",
    out: Annotated[Path | None, typer.Option(help="输出目录 / folder for the report")] = None,
) -> None:
    """分析：多网合一、党员落位、留白与组织建议 / Integrate, assign, find every gap, propose branches.

    写出 report.json、gaps.geojson、proposals.geojson、report.html (可打印)。
    Writes report.json, gaps.geojson, proposals.geojson and a printable report.html.

    示例 / Example: gridmap analyze --out 报告/
    """
    from gridmap.runs import run_analyze

    settings = _settings()
    result = run_analyze(_engine(settings), settings, base=base, out_dir=out)
    _print_counts("留白类型 gap kind", result.summary["gaps"])
    rates = result.summary["rates"]
    console.print(
        f"组织覆盖率 organisational coverage {rates['org_coverage']:.1%}   "
        f"单独组建率 own-branch rate {rates['own_branch_rate']:.1%}   "
        f"党员覆盖率 member coverage {rates['member_coverage']:.1%}"
    )
    if out:
        console.print(f"报告已写入 report written to {out}")


def load_demo(engine, data_dir: Path) -> list:
    """Load every file of a demo manifest through the users' import path."""
    from gridmap.loading import LoadOptions, load_file

    manifest = json.loads((data_dir / "manifest.json").read_text(encoding="utf-8"))
    reports = []
    for item in manifest:
        options = LoadOptions(
            crs=item.get("crs"),
            encoding=item.get("encoding"),
            source_layer=item.get("source_layer"),
            grid_layer=item.get("grid_layer"),
            actor="demo",
        )
        reports.append(load_file(engine, item["layer"], data_dir / item["file"], options))
    return reports


@app.command()
def demo(
    db: Annotated[Path, typer.Option(help="演示数据库文件 / demo SpatiaLite file")] = Path(
        "var/demo.db"
    ),
    data: Annotated[Path, typer.Option(help="演示数据目录 / demo data folder")] = DEMO_DATA,
    port: Annotated[int, typer.Option(help="端口 / port")] = 8000,
    serve: Annotated[bool, typer.Option(help="导入后启动地图服务 / serve the map")] = True,
) -> None:
    """新建演示数据库、导入演示数据并启动地图 / Fresh demo database, demo data, map served.

    建立演示管理员 demo 并显示其密码；只在本机 127.0.0.1 上提供服务。
    Creates the admin account ``demo`` and prints its password; serves on 127.0.0.1 only.

    示例 / Example: gridmap demo --port 8000
    """
    db.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    # the demo's data are fictional, but it is still a server with an admin: this machine only
    settings = Settings(database_url=f"sqlite:///{db}", port=port, host="127.0.0.1")
    engine = _engine(settings)
    for report in load_demo(engine, data):
        console.print(
            f"{report.layer:<12} {report.read.source:<24} 导入 {report.loaded:>5}  "
            f"修复 {len(report.read.repaired)}"
        )
    from gridmap.runs import run_analyze

    result = run_analyze(engine, settings, actor="demo")
    console.print(
        f"分析 analysis: {sum(result.summary['gaps'].values())} 处留白与问题 gaps and findings"
    )
    password = _demo_admin(engine)
    console.print(f"演示管理员 demo admin: 账号 name [bold]{DEMO_ADMIN}[/]  密码 password [bold]{password}[/]")  # fmt: skip
    if serve:
        _serve(settings)


DEMO_ADMIN = "demo"


def _demo_admin(engine) -> str:
    """The demo's admin account, with a fresh random password (returned to be printed)."""
    import secrets

    from gridmap.auth import add_account
    from gridmap.store.db import transaction

    password = secrets.token_urlsafe(9)
    with transaction(engine) as conn:
        add_account(conn, DEMO_ADMIN, "admin", None, password, actor="demo")
    return password


KEEP_ALIVE_S = 75


def _serve(settings: Settings, workers: int = 1) -> None:
    import uvicorn

    from gridmap.api.app import create_app
    from gridmap.config import DEV_SECRET

    console.print(f"地图 map: http://{settings.host}:{settings.port}/  (Ctrl+C 退出 / to stop)")
    # idle connections are kept longer than clients keep them (browsers and httpx: 5 s or more),
    # so a client never sends a request on a connection the server is closing at that moment
    options = {"host": settings.host, "port": settings.port, "log_level": "warning",
               "timeout_keep_alive": KEEP_ALIVE_S}  # fmt: skip
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    if settings.secret_key == DEV_SECRET:
        raise GridmapError(
            "多个服务进程必须共用一个会话密钥：请设置 GRIDMAP_SECRET_KEY（一段随机长字符串）。",
            "Several server processes must share one session key: set GRIDMAP_SECRET_KEY "
            "(a long random string).",
        )
    # each worker process builds the app from the environment (the same GRIDMAP_ settings)
    uvicorn.run("gridmap.api.app:create_app", factory=True, workers=workers, **options)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="监听地址 / bind address")] = None,
    port: Annotated[int | None, typer.Option(help="端口 / port")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1, max=64, help="服务进程数 (每核一个; 需 GRIDMAP_SECRET_KEY) / processes"
        ),
    ] = 1,
) -> None:
    """启动地图与接口服务 / Serve the map and the API on the configured database.

    没有任何账号时拒绝启动：先用 gridmap user add 建立管理员。
    Refuses to start while there is no account: add an admin first with ``gridmap user add``.

    示例 / Example: gridmap user add admin --role admin && gridmap serve --host 0.0.0.0
    """
    from gridmap.auth import count_accounts
    from gridmap.errors import DatabaseError
    from gridmap.store.db import connect, ping
    from gridmap.store.schema import current_revision

    settings = _settings()
    engine = _engine(settings)
    try:
        ping(engine)
        if current_revision(engine) is None:
            raise GridmapError(
                "数据库尚未初始化，请先运行 gridmap init 并建立管理员账号。",
                "The database is not initialised; run gridmap init and add an admin account first.",
            )
        with connect(engine) as conn:
            accounts = count_accounts(conn)
    except DatabaseError as error:
        # a database still starting (or down for a moment) must not keep the service down:
        # requests answer 503 until it is back, and nothing is served without a login anyway
        console.print(f"[yellow]{error}\n暂时无法检查账号，服务照常启动。/ Accounts not checked; serving anyway.[/]")  # fmt: skip
        accounts = None
    if accounts == 0:
        raise GridmapError(
            "还没有任何账号，服务不会在无人能登录、也无人受保护的情况下启动。请先建立管理员："
            "gridmap user add 管理员账号 --role admin",
            "There is no account yet, and the server will not start with no one able to log in "
            "and nothing protected. Add an admin first: gridmap user add NAME --role admin",
        )
    update = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    _serve(settings.model_copy(update=update), workers)


plan_app = typer.Typer(
    help="网格调整方案：列出、新建、导入、导出、批准 / Draft grid plans: list, new, import, export, approve.",
    no_args_is_help=True,
)
app.add_typer(plan_app, name="plan")


@app.command()
def propose(
    name: Annotated[str, typer.Option(help="方案名称 / plan name")] = "自动划分方案",
    community: Annotated[
        str | None, typer.Option(help="只划分一个社区 / one community only")
    ] = None,
    author: Annotated[str, typer.Option(help="建立人 / who asks")] = "cli",
    seed: Annotated[int, typer.Option(help="随机种子 (同一种子同一结果) / seed")] = 0,
) -> None:
    """自动划分网格，存为草稿方案 / Propose grids of 300–500 households as a draft plan.

    按社区把小区组合为相邻、紧凑、户数在 GRIDMAP_GRID_HOUSEHOLDS_MIN–_MAX 之间的网格；
    不能满足之处逐条列出。Compounds are grouped per community into contiguous, compact grids;
    whatever cannot be satisfied is listed. 示例 / Example: gridmap propose --community 510199001001
    """
    from gridmap.proposing import propose_plan

    settings = _settings()
    done = propose_plan(_engine(settings), settings, name=name, author=author, community=community, seed=seed)  # fmt: skip
    console.print(f"方案 plan {done.plan_id}: {done.cells} 个网格 cells (草稿 draft; 在 /editor?plan={done.plan_id} 打开)")  # fmt: skip
    if len(done.problems):
        table = Table("问题 kind", "社区 community", "网格 cell", "说明 message")
        for p in done.problems.itertuples():
            table.add_row(p.kind, str(p.community_code or ""), str(p.cell_code or ""), f"{p.message_zh}\n{p.message_en}")  # fmt: skip
        console.print(table)
    else:
        console.print("所有网格都在户数范围内 / every cell is within the band")


@plan_app.command("list")
def plan_list() -> None:
    """列出方案 / List the plans."""
    from gridmap.store.db import connect
    from gridmap.store.plans import list_plans

    with connect(_engine()) as conn:
        plans = list_plans(conn)
    table = Table("id", "名称 name", "网格图层 layer", "状态 status", "版本 version", "保存 saved")
    for p in plans:
        table.add_row(str(p["id"]), p["name"], p["grid_layer"], p["status"], str(p["version"]),
                      f"{p['saved_by']} {p['saved_at']}")  # fmt: skip
    console.print(table)


@plan_app.command("new")
def plan_new(
    name: Annotated[str, typer.Argument(help="方案名称 / plan name")],
    grid_layer: Annotated[str, typer.Option(help="复制的网格图层 / grid layer to copy")] = "party",
    author: Annotated[str, typer.Option(help="建立人 / who creates it")] = "cli",
) -> None:
    """复制网格图层为新方案 / Copy a grid layer into a new draft plan.

    示例 / Example: gridmap plan new 2027年网格调整 --grid-layer party --author 张*
    """
    from gridmap.store.db import transaction
    from gridmap.store.plans import create_plan

    with transaction(_engine()) as conn:
        plan_id = create_plan(conn, name, grid_layer, author)
    console.print(f"方案 plan {plan_id}: {name} (第 1 版 version 1)")


@plan_app.command("import")
def plan_import(
    path: Annotated[Path, typer.Argument(help="QGIS 绘制的网格文件 (GeoJSON/GPKG/SHP)")],
    name: Annotated[str, typer.Option(help="方案名称 / plan name")],
    grid_layer: Annotated[
        str, typer.Option(help="调整的网格图层 / grid layer it redraws")
    ] = "party",
    author: Annotated[str, typer.Option(help="建立人 / who imports it")] = "cli",
) -> None:
    """从文件导入方案 (全部或全不) / Import a plan drawn in QGIS, all or nothing."""
    from gridmap.errors import RowsRejectedError
    from gridmap.io.read import read_layer_file
    from gridmap.store.db import transaction
    from gridmap.store.plans import create_plan

    result = read_layer_file(path, "grid")
    if result.report.rejected:
        raise RowsRejectedError("文件中有不能用的行，未导入。", "Some rows are unusable; nothing imported.",
                                result.report.rejected)  # fmt: skip
    with transaction(_engine()) as conn:
        plan_id = create_plan(conn, name, grid_layer, author, cells=result.frame)
    console.print(f"方案 plan {plan_id}: {name}, {len(result.frame)} 个网格 cells")


@plan_app.command("export")
def plan_export(
    plan_id: Annotated[int, typer.Argument(help="方案编号 / plan id")],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出文件 (.geojson/.gpkg/.csv)")],
) -> None:
    """导出方案 / Export a plan for QGIS."""
    from gridmap.io.write import write_frame
    from gridmap.store.db import connect
    from gridmap.store.plans import plan_meta, read_cells

    with connect(_engine()) as conn:
        plan_meta(conn, plan_id)
        cells = read_cells(conn, plan_id)
    write_frame(cells, output, None, f"plan_{plan_id}")
    console.print(f"已导出 exported {len(cells)} 个网格 cells → {output}")


@plan_app.command("approve")
def plan_approve(
    plan_id: Annotated[int, typer.Argument(help="方案编号 / plan id")],
    version: Annotated[int, typer.Option(help="批准的版本 (须为最新) / the version approved")],
    author: Annotated[str, typer.Option(help="批准人 / who approves")] = "cli",
) -> None:
    """批准方案：成为现行网格，原网格存入历史 / Approve: the plan becomes the grid layer."""
    from gridmap.store.db import transaction
    from gridmap.store.plans import approve_plan

    with transaction(_engine()) as conn:
        entry = approve_plan(conn, plan_id, version, author)
    console.print(
        f"已批准 approved: 替换 replaced {entry['replaced']}，现有 now {entry['cells']} 个网格 cells"
    )


user_app = typer.Typer(
    help="账号：新建、列出、发放令牌 / Accounts: add, list, issue API tokens.",
    no_args_is_help=True,
)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="登录名 / login name")],
    role: Annotated[str, typer.Option(help="admin | planner | coordinator | viewer")],
    area: Annotated[str | None, typer.Option(help="范围：街道、社区或网格编号 / area code")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            envvar="GRIDMAP_NEW_PASSWORD",
            help="不给则生成并显示一次 (也可用环境变量, 免留在命令历史中) / generated if not given",
        ),
    ] = None,
) -> None:
    """新建账号 (密码仅存哈希) / Add an account (only a hash of the password is kept).

    示例 / Example: gridmap user add wgy01 --role coordinator --area 510199001001
    """
    import secrets

    from gridmap.auth import add_account
    from gridmap.store.db import transaction

    generated = password is None
    password = password or secrets.token_urlsafe(12)
    with transaction(_engine()) as conn:
        add_account(conn, name, role, area, password, actor="cli")
    console.print(f"已建账号 account added: {name} ({role}, {area or '全部 all'})")
    if generated:
        console.print(f"初始密码 (只显示这一次) / initial password, shown once: {password}")


@user_app.command("list")
def user_list() -> None:
    """列出账号 / List the accounts."""
    from sqlalchemy import select

    from gridmap.store.db import connect
    from gridmap.store.models import Account

    with connect(_engine()) as conn:
        rows = conn.execute(select(Account.name, Account.role, Account.area, Account.disabled).order_by(Account.name)).all()  # fmt: skip
    table = Table("账号 name", "角色 role", "范围 area", "停用 disabled")
    for r in rows:
        table.add_row(r.name, r.role, r.area or "全部 all", "是" if r.disabled else "")
    console.print(table)


@user_app.command("token")
def user_token(
    name: Annotated[str, typer.Argument(help="账号 / account")],
    label: Annotated[str, typer.Option(help="用途 / what it is for, e.g. QGIS")] = "api",
) -> None:
    """为 QGIS 等客户端发放令牌 (只显示一次) / Issue an API token for QGIS or scripts (shown once)."""
    from gridmap.auth import issue_token
    from gridmap.store.db import transaction

    with transaction(_engine()) as conn:
        token = issue_token(conn, name, label, actor="cli")
    console.print(f"令牌 (只显示这一次) / token, shown once: {token}")


@user_app.command("disable")
def user_disable(name: Annotated[str, typer.Argument(help="账号 / account")]) -> None:
    """停用账号并撤销其令牌 / Disable an account and revoke its tokens.

    示例 / Example: gridmap user disable wgy01
    """
    from gridmap.auth import disable_account
    from gridmap.store.db import transaction

    with transaction(_engine()) as conn:
        revoked = disable_account(conn, name, actor="cli")
    console.print(f"已停用 disabled: {name}；撤销令牌 tokens revoked: {revoked}")


@app.command()
def version() -> None:
    """版本 / Version."""
    console.print(f"gridmap {__version__}")


def main() -> None:
    """Entry point: user errors print without a traceback and exit with code 2."""
    try:
        app()
    except GridmapError as error:
        err.print("错误 error:", style="bold red", end=" ")
        err.print(str(error), highlight=False, markup=False)
        raise SystemExit(2) from None


if __name__ == "__main__":  # pragma: no cover
    main()

"""Commands that serve the map: demo (with its data) and serve."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gridmap.cli.context import console, get_engine, get_settings
from gridmap.config import Settings
from gridmap.errors import GridmapError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_DATA = REPO_ROOT / "geodata" / "demo"


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
    engine = get_engine(settings)
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
    # httptools parses HTTP in C: h11, uvicorn's pure-Python parser, took more of a street-level
    # request than the app (benchmarks/RESULTS.md, "Serving at street level")
    options = {"host": settings.host, "port": settings.port, "log_level": "warning",
               "timeout_keep_alive": KEEP_ALIVE_S, "http": "httptools"}  # fmt: skip
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

    settings = get_settings()
    engine = get_engine(settings)
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

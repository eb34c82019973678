"""gridmap's command line (命令行). Thin: each command calls one function of the layers below.

Errors users can cause are printed in Chinese and English without a traceback (exit code 2).

One module per group of commands, all registered here on one ``app``, in the order ``gridmap
--help`` lists them:

- ``data``: init, load, export, layers
- ``backups``: backup, restore
- ``analysis``: integrate, analyze
- ``server``: demo, serve
- ``planning``: propose and the ``plan`` group
- ``accounts``: the ``user`` group

``context`` holds what they run with: the consoles, and settings and engine from the environment.
"""

from __future__ import annotations

import typer

from gridmap import __version__
from gridmap.cli import accounts, analysis, backups, data, planning, server
from gridmap.cli.context import console, err
from gridmap.cli.server import DEMO_DATA, load_demo
from gridmap.errors import GridmapError

__all__ = ["DEMO_DATA", "app", "load_demo", "main"]

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


def version() -> None:
    """版本 / Version."""
    console.print(f"gridmap {__version__}")


for _command in (
    data.init,
    data.load,
    data.export,
    data.layers,
    backups.backup,
    backups.restore,
    analysis.integrate,
    analysis.analyze,
    server.demo,
    server.serve,
    planning.propose,
    version,
):
    app.command()(_command)
app.add_typer(planning.plan_app, name="plan")
app.add_typer(accounts.user_app, name="user")


def main() -> None:
    """Entry point: user errors print without a traceback and exit with code 2."""
    try:
        app()
    except GridmapError as error:
        err.print("错误 error:", style="bold red", end=" ")
        err.print(str(error), highlight=False, markup=False)
        raise SystemExit(2) from None

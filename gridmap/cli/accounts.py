"""Commands on accounts: the user group (add, list, token, disable)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from gridmap.cli.common import console, get_engine

user_app = typer.Typer(
    help="账号：新建、列出、发放令牌 / Accounts: add, list, issue API tokens.",
    no_args_is_help=True,
)


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
    with transaction(get_engine()) as conn:
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

    with connect(get_engine()) as conn:
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

    with transaction(get_engine()) as conn:
        token = issue_token(conn, name, label, actor="cli")
    console.print(f"令牌 (只显示这一次) / token, shown once: {token}")


@user_app.command("disable")
def user_disable(name: Annotated[str, typer.Argument(help="账号 / account")]) -> None:
    """停用账号并撤销其令牌 / Disable an account and revoke its tokens.

    示例 / Example: gridmap user disable wgy01
    """
    from gridmap.auth import disable_account
    from gridmap.store.db import transaction

    with transaction(get_engine()) as conn:
        revoked = disable_account(conn, name, actor="cli")
    console.print(f"已停用 disabled: {name}；撤销令牌 tokens revoked: {revoked}")

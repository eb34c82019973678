"""Commands on accounts: the user group (add, list, token, disable, passwd, revoke, logout)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from gridmap.cli.context import console, err, get_engine
from gridmap.errors import GridmapError

SHOWN_PLACES = 12  # places named in the message refusing an unknown area code

user_app = typer.Typer(
    help="账号：新建、列出、发放与撤销令牌、改密码、退出登录 / Accounts: add, list, tokens, passwords, sessions.",
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

    --area 须为已导入的街道、社区或网格编号 / --area must name a loaded subdistrict, community
    or grid.

    示例 / Example: gridmap user add wgy01 --role coordinator --area 510199001001
    """
    import secrets

    from gridmap.auth import add_account
    from gridmap.store.db import transaction

    generated = password is None
    password = password or secrets.token_urlsafe(12)
    with transaction(get_engine()) as conn:
        if area:
            check_area(conn, area)
        add_account(conn, name, role, area, password, actor="cli")
    console.print(f"已建账号 account added: {name} ({role}, {area or '全部 all'})")
    if generated:
        console.print(f"初始密码 (只显示这一次) / initial password, shown once: {password}")


def check_area(conn, area: str) -> None:
    """Refuse a code that names no loaded place: its account would see an empty map. Before
    anything is loaded there is nothing to check against, and the code is taken as given."""
    from gridmap.store.areas import places, resolve_area

    known = places(conn)
    if not known:
        err.print(
            f"注意：尚未导入街道或社区，未检查范围 {area}。 / Note: no places loaded yet, "
            f"the area {area} is not checked.",
            highlight=False, markup=False,
        )  # fmt: skip
        return
    if resolve_area(conn, area).level != "none":
        return
    named = [f"{code} {name or ''}".strip() for code, name in known[:SHOWN_PLACES]]
    more = " …" if len(known) > SHOWN_PLACES else ""
    raise GridmapError(
        f"没有编号为 {area} 的街道、社区或网格。已有街道和社区: {'，'.join(named)}{more}。"
        "全部社区编号: gridmap export community -f csv -o 社区.csv；"
        "网格编号: gridmap export grid --grid-layer unified -f csv -o 网格.csv "
        "(图层名见 gridmap layers)。",
        f"No subdistrict, community or grid has the code {area}. Subdistricts and communities: "
        f"{', '.join(named)}{more}. List every community code with gridmap export community -f csv -o "
        "communities.csv, the grid codes with gridmap export grid --grid-layer unified -f csv "
        "-o grids.csv (grid layers: gridmap layers).",
    )


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


@user_app.command("passwd")
def user_passwd(
    name: Annotated[str, typer.Argument(help="账号 / account")],
    password: Annotated[
        str | None,
        typer.Option(
            envvar="GRIDMAP_NEW_PASSWORD",
            help="新密码；不给则生成并显示一次 / the new password; generated and shown once if not given",
        ),
    ] = None,
) -> None:
    """修改密码并结束该账号所有浏览器登录 (记入审计) / Change a password and end every browser
    session of the account (audited); its API tokens stay.

    示例 / Example: GRIDMAP_NEW_PASSWORD=… gridmap user passwd wgy01
    """
    import secrets

    from gridmap.auth import change_password
    from gridmap.store.db import transaction

    generated = password is None
    password = password or secrets.token_urlsafe(12)
    with transaction(get_engine()) as conn:
        ended = change_password(conn, name, password, actor="cli")
    console.print(f"已修改密码 password changed: {name}；结束登录 sessions ended: {ended}")
    if generated:
        console.print(f"新密码 (只显示这一次) / new password, shown once: {password}")


@user_app.command("revoke")
def user_revoke(
    name: Annotated[str, typer.Argument(help="账号 / account")],
    token: Annotated[
        str,
        typer.Option("--token", help="要撤销的令牌的用途 (发放时的 --label) / the token's label"),
    ],
) -> None:
    """撤销账号的某个令牌 (按用途, 记入审计) / Revoke an account's tokens of one label (audited).

    示例 / Example: gridmap user revoke wgy01 --token QGIS
    """
    from gridmap.auth import revoke_token
    from gridmap.store.db import transaction

    with transaction(get_engine()) as conn:
        revoked = revoke_token(conn, name, token, actor="cli")
    console.print(f"已撤销令牌 tokens revoked: {name} {token} ×{revoked}")


@user_app.command("logout")
def user_logout(name: Annotated[str, typer.Argument(help="账号 / account")]) -> None:
    """结束账号在所有浏览器上的登录 (记入审计) / Log an account out of every browser (audited).

    示例 / Example: gridmap user logout wgy01
    """
    from gridmap.auth import end_sessions
    from gridmap.store.db import transaction

    with transaction(get_engine()) as conn:
        ended = end_sessions(conn, name, actor="cli")
    console.print(f"已结束登录 sessions ended: {name} ×{ended}")

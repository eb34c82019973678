"""The audit trail (审计日志) for admins: every import, plan save, approval, login and export of
personal data, as the change log holds it — append-only (database triggers refuse UPDATE and
DELETE), readable here and downloadable as CSV for Excel. The CSV's cells are spreadsheet-safe:
an account name such as ``=HYPERLINK(…)`` typed into a failed login arrives as inert text.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection, func, select

from gridmap import login_throttle
from gridmap.api.deps import ConnDep
from gridmap.api.routes.exports import content_disposition
from gridmap.api.routes.params import CHECKED
from gridmap.api.routes.session import user_context
from gridmap.api.security import PagePrincipalDep, require
from gridmap.io.write import spreadsheet_safe
from gridmap.layers import LAYERS
from gridmap.maps.assets import WEB
from gridmap.store.db import transaction
from gridmap.store.models import ChangeLog

router = APIRouter(tags=["audit"], dependencies=CHECKED)
templates = Jinja2Templates(directory=str(WEB / "templates"))

ACTIONS_ZH = {
    "import": "导入",
    "plan_create": "新建方案",
    "plan_save": "保存方案",
    "plan_approve": "批准方案",
    "export_personal": "导出个人信息",
    "view_personal": "查看党员个人信息",
    "board_personal": "查看公示牌人员姓名",
    "people_personal": "查看服务人员个人信息",
    "login": "登录",
    "login_failed": "登录失败",
    "account_add": "新建账号",
    "token_issue": "签发令牌",
    "account_disable": "停用账号",
    "password_change": "修改密码",
    "token_revoke": "撤销令牌",
    "logout_everywhere": "全部退出登录",
    "backup": "备份",
    "restore": "恢复",
    "analyze": "分析",
    "integrate": "多网合一",
}

Filter = Annotated[str | None, Query(max_length=64)]


def _place(code: str | None) -> tuple[str, str]:
    return (code, code) if code else ("全部地区", "every area")


def in_words(action: str, summary, layer: str | None = "member") -> tuple[str, str] | None:
    """An entry about personal data as a sentence, Chinese first (``None`` for the other
    actions, whose summaries the page lists key by key); ``layer`` is whose data it was.

    >>> in_words("view_personal", {"place": "锦绣社区（510199001001）", "rows": 200, "total": 412,
    ...                            "name_filter": True, "via": "page"})[0]
    '在党员名单页查看了锦绣社区（510199001001）的党员个人信息 200 条（共 412 名，按姓名筛选）'
    >>> in_words("export_personal", {"file": "members.xlsx", "features": 9, "format": "xlsx", "area": None})[0]
    '导出了全部地区的党员个人信息 9 条（XLSX 文件 members.xlsx）'
    >>> in_words("export_personal", {"file": "c.csv", "features": 3, "format": "csv", "area": None}, "staff")[1]
    'exported the personal data of 3 staff of every area (CSV file c.csv)'
    >>> in_words("board_personal", {"board": ["DJ101", "DJ102"], "people": 7})[0]
    '查看了网格公示牌 DJ101、DJ102 上的人员姓名 7 人'
    >>> in_words("login", {}) is None
    True
    """
    if not isinstance(summary, dict):
        return None
    if action == "export_personal":
        (area, area_en), kind = _place(summary.get("area")), str(summary.get("format", "")).upper()
        rows, file = summary.get("features"), summary.get("file")
        whose, whose_en = ("人员", "staff") if layer == "staff" else ("党员", "members")
        return (f"导出了{area}的{whose}个人信息 {rows} 条（{kind} 文件 {file}）",
                f"exported the personal data of {rows} {whose_en} of {area_en} ({kind} file {file})")  # fmt: skip
    if action == "board_personal":
        boards, people = summary.get("board") or [], summary.get("people")
        return (f"查看了网格公示牌 {'、'.join(map(str, boards))} 上的人员姓名 {people} 人",
                f"viewed the names of {people} people on the notice boards of {', '.join(map(str, boards))}")  # fmt: skip
    if action == "people_personal":
        place, people = summary.get("place"), summary.get("people")
        return (f"查看了{place}的服务人员姓名与电话 {people} 人",
                f"viewed the names and phones of the {people} people serving {place}")  # fmt: skip
    if action != "view_personal":
        return None
    via_zh, via_en = ("在党员名单页", "on the members page") if summary.get("via") == "page" else ("通过接口", "through the API")  # fmt: skip
    by_name = summary.get("name_filter")
    rows, total = summary.get("rows"), summary.get("total")
    place, place_en = _place(summary.get("place"))
    return (
        f"{via_zh}查看了{place}的党员个人信息 {rows} 条（共 {total} 名{'，按姓名筛选' if by_name else ''}）",
        f"viewed the personal data of {rows} of {total} members of {place_en} {via_en}{', searching by name' if by_name else ''}",
    )  # fmt: skip


def audit_entries(
    conn: Connection,
    *,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[int, list[dict]]:
    """Entries newest first, with the number matching the filters (failed logins of closed
    windows written first: :mod:`gridmap.login_throttle`)."""
    with transaction(conn.engine) as tx:
        login_throttle.audit_closed_windows(tx, datetime.now(UTC))
    where = [
        cond
        for cond in (
            ChangeLog.action == action if action else None,
            ChangeLog.actor == actor if actor else None,
            ChangeLog.at >= since if since else None,
            ChangeLog.at < until if until else None,
        )
        if cond is not None
    ]
    total = conn.execute(select(func.count()).select_from(ChangeLog).where(*where)).scalar_one()
    columns = (ChangeLog.id, ChangeLog.at, ChangeLog.actor, ChangeLog.action, ChangeLog.layer, ChangeLog.summary)  # fmt: skip
    query = select(*columns).where(*where).order_by(ChangeLog.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    rows = [
        {
            "id": r.id,
            "at": r.at.isoformat(timespec="seconds"),
            "actor": r.actor,
            "action": r.action,
            "action_zh": ACTIONS_ZH.get(r.action, r.action),
            "layer": r.layer,
            "summary": r.summary,
        }
        for r in conn.execute(query)
    ]
    return total, rows


def _filters(action, actor, since, until) -> dict:
    return {"action": action, "actor": actor, "since": since, "until": until}


ADMIN = [require("accounts")]


@router.get("/api/audit", summary="审计日志 (管理员) / audit trail (admins)", dependencies=ADMIN)
def audit(
    conn: ConnDep,
    action: Filter = None,
    actor: Filter = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> dict:
    total, rows = audit_entries(conn, **_filters(action, actor, since, until), limit=limit, offset=offset)  # fmt: skip
    return {"total": total, "entries": rows}


@router.get("/api/audit.csv", summary="审计日志 CSV (管理员) / audit trail as CSV", dependencies=ADMIN)  # fmt: skip
def audit_csv(
    conn: ConnDep,
    action: Filter = None,
    actor: Filter = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Response:
    _, rows = audit_entries(conn, **_filters(action, actor, since, until))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["编号 id", "时间 at (UTC)", "操作人 actor", "操作 action", "操作 (中文)", "图层 layer", "摘要 summary"])  # fmt: skip
    for r in rows:
        summary = json.dumps(r["summary"], ensure_ascii=False) if r["summary"] else ""
        cells = [r["id"], r["at"], r["actor"], r["action"], r["action_zh"], r["layer"] or "", summary]  # fmt: skip
        writer.writerow([spreadsheet_safe(c) for c in cells])
    body = "\ufeff" + out.getvalue()  # the BOM: Excel opens UTF-8 CSV correctly only with it
    disposition = content_disposition("audit.csv", "审计日志.csv")
    return Response(body, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})  # fmt: skip


@router.get("/admin/audit", response_class=HTMLResponse, include_in_schema=False,
            dependencies=[require("accounts", page=True)])  # fmt: skip
def audit_page(
    request: Request,
    conn: ConnDep,
    principal: PagePrincipalDep,
    action: Filter = None,
    actor: Filter = None,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> HTMLResponse:
    total, rows = audit_entries(conn, action=action, actor=actor, limit=200, offset=offset)
    for r in rows:
        r["sentence"] = in_words(r["action"], r["summary"], r["layer"])
        r["layer_zh"] = LAYERS[r["layer"]].label_zh if r["layer"] in LAYERS else r["layer"]
    context = {
        **user_context(request, principal, conn),
        "rows": rows,
        "total": total,
        "action": action or "",
        "actor": actor or "",
        "actions": ACTIONS_ZH,
        "offset": offset,
        "limit": 200,
    }
    return templates.TemplateResponse(request, "audit.html", context)

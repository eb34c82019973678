"""Logging in and out of the browser session, and who the session is (``/api/me``).

Password guessing is slowed twice: Argon2 makes each try cost tens of milliseconds, and after
``LOCK_AFTER`` failed tries for one account name within ``LOCK_WINDOW_S`` that name is refused
(HTTP 429) until the window has passed — counted per server process, written by hand because
it is a dozen lines. Every failure is in the audit trail.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection, select

from gridmap.api.app import WEB
from gridmap.api.deps import ConnDep
from gridmap.api.routes.params import CHECKED
from gridmap.api.security import PrincipalDep, check_csrf, csrf_token
from gridmap.auth import PERMISSIONS, ROLES, AuthError, Principal, authenticate
from gridmap.store.db import transaction
from gridmap.store.features import log_change
from gridmap.store.models import table_for

router = APIRouter(tags=["session"], dependencies=CHECKED)
LOCK_AFTER = 5
LOCK_WINDOW_S = 15 * 60
_failures: dict[str, deque[float]] = defaultdict(deque)  # account name → times of failed tries


def _locked(name: str, now: float) -> bool:
    tries = _failures.get(name)
    if tries is None:
        return False
    while tries and now - tries[0] > LOCK_WINDOW_S:
        tries.popleft()
    if not tries:  # only names with failures inside the window are kept
        del _failures[name]
    return len(tries) >= LOCK_AFTER


templates = Jinja2Templates(directory=str(WEB / "templates"))


def area_name(conn: Connection, code: str) -> str | None:
    """The name of the subdistrict, community or grid (the unified grid's first) ``code`` names."""
    for level in ("subdistrict", "community", "grid"):
        table = table_for(level)
        query = select(table.c.name).where(table.c.code == code)
        if level == "grid":
            query = query.order_by(table.c.layer != "unified", table.c.layer)
        name = conn.execute(query.limit(1)).scalar()
        if name:
            return name
    return None


def user_context(request: Request, principal: Principal, conn: Connection) -> dict:
    """What every page shows of its user (name, role, area and its name, permissions) and the
    CSRF token."""
    user = {
        "name": principal.name,
        "role": principal.role,
        "role_zh": ROLES[principal.role],
        "area": principal.area,
        "area_name": area_name(conn, principal.area) if principal.area else None,
        "may": {action: principal.may(action) for action in PERMISSIONS},
    }
    return {"user": user, "csrf": csrf_token(request)}


def safe_next(target: str | None) -> str:
    """Only a path of this site: ``//evil.example`` or ``https://…`` go to the map instead."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/map"
    return target


def _login_page(request: Request, next_: str, name: str | None = None, error=None, status=200):
    context = {"csrf": csrf_token(request), "next": safe_next(next_), "name": name, "error": error}
    return templates.TemplateResponse(request, "login.html", context, status_code=status)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request, next: str = "/map") -> HTMLResponse:
    return _login_page(request, next)


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    conn: ConnDep,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/map",
) -> Response:
    check_csrf(request, csrf)
    now = time.monotonic()
    if _locked(name, now):
        error = {"zh": f"账号 {name} 登录失败次数过多，请 {LOCK_WINDOW_S // 60} 分钟后再试，或请管理员协助。",
                 "en": f"Too many failed logins for {name}; try again in {LOCK_WINDOW_S // 60} minutes, or ask an administrator."}  # fmt: skip
        return _login_page(request, next, name, error, 429)
    try:
        principal = authenticate(conn, name, password)
    except AuthError as error:
        _failures[name].append(now)
        with transaction(conn.engine) as tx:
            log_change(tx, name, "login_failed", None, {"tries": len(_failures[name])})
        return _login_page(request, next, name, {"zh": error.message_zh, "en": error.message_en}, 401)  # fmt: skip
    _failures.pop(name, None)
    request.session.clear()  # a fresh session: nothing from before the login carries over
    request.session["account"] = principal.name
    csrf_token(request)
    with transaction(conn.engine) as tx:
        log_change(tx, principal.name, "login", None, {"role": principal.role})
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    check_csrf(request, csrf or request.headers.get("x-csrf-token"))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/api/me", summary="当前账号 / who am I")
def me(request: Request, principal: PrincipalDep, conn: ConnDep) -> dict:
    return user_context(request, principal, conn)["user"]

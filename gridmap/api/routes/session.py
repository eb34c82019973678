"""Logging in and out of the browser session, and who the session is (``/api/me``).

A login starts a session stored in the database (:func:`gridmap.auth.start_session`); the
cookie carries only its id. Logout ends it; "log out everywhere" (``DELETE /api/me/sessions``, or
the form's ``everywhere``) ends every session of the account.

Password guessing is slowed twice: Argon2 makes each try cost tens of milliseconds, and
:mod:`gridmap.login_throttle` makes a client wait longer after each failure — per account name
and address, per address, per account — counted in the database so every server process sees
the same. An unknown name gets the same answers, with the same delays, as a wrong password.
Failures reach the audit trail as one entry per name, address and window.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Connection, select

from gridmap import login_throttle
from gridmap.api.deps import ConnDep, SettingsDep
from gridmap.api.routes.params import CHECKED
from gridmap.api.security import PrincipalDep, check_csrf, csrf_token
from gridmap.auth import (
    authenticate,
    end_session,
    end_sessions,
    session_principal,
    start_session,
)
from gridmap.errors import AuthError
from gridmap.maps.assets import WEB
from gridmap.permissions import PERMISSIONS, ROLES, Principal
from gridmap.store.db import transaction
from gridmap.store.features import log_change
from gridmap.store.models import table_for

router = APIRouter(tags=["session"], dependencies=CHECKED)


def client_address(request: Request) -> str:
    """The client's IP address (behind a reverse proxy: as ``--proxy-headers`` sets it)."""
    return request.client.host if request.client else "unknown"


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
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/map",
) -> Response:
    check_csrf(request, csrf)
    address, now = client_address(request), datetime.now(UTC)
    wait = login_throttle.wait_seconds(conn, name, address, now)
    if wait > 0:
        seconds = math.ceil(wait)
        error = {"zh": f"登录失败次数过多，请 {seconds} 秒后再试，或请管理员协助。",
                 "en": f"Too many failed logins; try again in {seconds} s, or ask an administrator."}  # fmt: skip
        page = _login_page(request, next, name, error, 429)
        page.headers["Retry-After"] = str(seconds)
        return page
    try:
        principal = authenticate(conn, name, password)
    except AuthError as error:
        with transaction(conn.engine) as tx:
            login_throttle.record_failure(tx, name, address, now)
        return _login_page(request, next, name, {"zh": error.message_zh, "en": error.message_en}, 401)  # fmt: skip
    request.session.clear()  # a fresh session: nothing from before the login carries over
    with transaction(conn.engine) as tx:
        request.session["sid"] = start_session(tx, principal.name, timedelta(hours=settings.session_hours))  # fmt: skip
        login_throttle.record_success(tx, principal.name, address, now)
        log_change(tx, principal.name, "login", None, {"role": principal.role, "address": address})  # fmt: skip
    csrf_token(request)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False)
def logout(
    request: Request,
    conn: ConnDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    everywhere: Annotated[bool, Form()] = False,
) -> Response:
    """End this browser's session (``everywhere``: every session of the account)."""
    check_csrf(request, csrf or request.headers.get("x-csrf-token"))
    session_id = request.session.get("sid")
    if session_id:
        idle = timedelta(hours=request.app.state.settings.session_hours)
        principal = session_principal(conn, str(session_id), idle) if everywhere else None
        with transaction(conn.engine) as tx:
            if principal is not None:
                end_sessions(tx, principal.name, actor=principal.name)
            end_session(tx, str(session_id))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.delete("/api/me/sessions", summary="退出所有登录 (所有浏览器) / log out everywhere")
def logout_everywhere(request: Request, principal: PrincipalDep, conn: ConnDep) -> dict:
    """End every browser session of the calling account (its API tokens stay: revoke them with
    ``gridmap user revoke``); ``ended``: how many."""
    with transaction(conn.engine) as tx:
        ended = end_sessions(tx, principal.name, actor=principal.name)
    request.session.clear()
    return {"ended": ended}


@router.get("/api/me", summary="当前账号 / who am I")
def me(request: Request, principal: PrincipalDep, conn: ConnDep) -> dict:
    return user_context(request, principal, conn)["user"]

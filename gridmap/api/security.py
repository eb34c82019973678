"""Who is asking, what they may do, and where: the dependencies every router uses.

A request is authenticated by an API token (``Authorization: Bearer gm_…``, for QGIS and
scripts) or by the browser session: a cookie signed with ``GRIDMAP_SECRET_KEY`` (Starlette's
``SessionMiddleware``, itsdangerous), HttpOnly and SameSite=Lax, that carries a session id and a
CSRF token. The id is looked up in the database (:func:`gridmap.auth.session_principal`; the
answer remembered for a few seconds, :mod:`gridmap.api.logins`): a session ended by logout, a
password change or disabling the account is refused even with a cookie saved before. Changes
made with the session (POST, PUT, DELETE) must send that token back in the ``X-CSRF-Token`` header (pages put it in ``<meta name="csrf-token">``); a token-authenticated
client has no cookie for another site to ride on, so it needs none.

Routers declare what they need::

    router = APIRouter(dependencies=[require("view")])
    def route(principal: PrincipalDep, area: AreaDep): ...

``area`` is ``None`` for admins (everywhere) and the :class:`~gridmap.permissions.Area` of the
account otherwise; outside it, units and members are answered with 404, as if they did not exist.
What a role may do and see, and where, is decided by :mod:`gridmap.permissions`; this module only
turns a request into the account and its area and asks the package.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gridmap.api.deps import ConnDep
from gridmap.api.logins import looked_up
from gridmap.auth import session_principal, token_principal
from gridmap.errors import AuthError, PermissionDeniedError
from gridmap.permissions import PERMISSIONS, Area, Principal, denied
from gridmap.store.areas import resolve_area

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_COOKIE = "gridmap_session"
CSRF_HEADER = "X-CSRF-Token"

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="gridmap user token NAME 生成的令牌 / a token from `gridmap user token NAME`",
)


class LoginRequired(AuthError):
    """No login on a page: the browser is sent to the login page instead of a 401."""


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, sent: str | None) -> None:
    expected = request.session.get("csrf")
    if not (expected and sent and secrets.compare_digest(sent, expected)):
        raise PermissionDeniedError(
            "请求缺少有效的 CSRF 令牌（页面可能已过期），请刷新页面后重试。",
            f"The request lacks a valid CSRF token (the page may be stale); reload it and try "
            f"again. Browser changes must send the {CSRF_HEADER} header.",
        )


async def _principal(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal | None:  # fmt: skip
    if credentials is not None:  # its last use is committed by the lookup itself
        token = credentials.credentials.strip()
        return await looked_up(request.app, "token", token, lambda conn: token_principal(conn, token, commit=True))  # fmt: skip
    if request.headers.get("authorization"):
        raise AuthError(
            "只接受 Bearer 令牌：Authorization: Bearer 令牌。",
            "Only bearer tokens are accepted: Authorization: Bearer TOKEN.",
        )
    session_id = request.session.get("sid")
    if not session_id:
        return None
    idle = timedelta(hours=request.app.state.settings.session_hours)
    sid = str(session_id)
    principal = await looked_up(request.app, "session", sid, lambda conn: session_principal(conn, sid, idle))  # fmt: skip
    if principal is None:  # logged out, expired, or the account disabled since the login
        request.session.clear()
        return None
    if request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get(CSRF_HEADER))
    return principal


async def _logged_in(request: Request, credentials, missing: AuthError) -> Principal:
    principal = await _principal(request, credentials)
    if principal is None:
        raise missing
    request.state.principal = principal
    return principal


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def current_principal(request: Request, credentials: Credentials) -> Principal:
    """The account making the request; 401 without a valid token or session. In the event loop:
    a worker thread and a connection only when the account is not remembered."""
    missing = AuthError(
        "请先登录（浏览器），或在请求中附带令牌 Authorization: Bearer 令牌。",
        "Log in first (browser), or send a token: Authorization: Bearer TOKEN.",
    )
    return await _logged_in(request, credentials, missing)


async def page_principal(request: Request, credentials: Credentials) -> Principal:
    """Like :func:`current_principal`, but a page without a login redirects to ``/login``."""
    return await _logged_in(request, credentials, LoginRequired("请先登录。", "Log in first."))


PrincipalDep = Annotated[Principal, Depends(current_principal)]
PagePrincipalDep = Annotated[Principal, Depends(page_principal)]


def require(action: str, *, page: bool = False):
    """A dependency refusing (403) anyone whose role may not do ``action``."""
    if action not in PERMISSIONS:
        raise ValueError(f"unknown action {action}")

    def check(principal: Principal) -> Principal:
        if not principal.may(action):
            raise denied(principal, action)
        return principal

    async def check_api(principal: PrincipalDep) -> Principal:  # no I/O: in the event loop
        return check(principal)

    async def check_page(principal: PagePrincipalDep) -> Principal:
        return check(principal)

    return Depends(check_page if page else check_api)


def current_area(principal: PrincipalDep, conn: ConnDep) -> Area | None:
    """``None`` for admins (everywhere); the account's area otherwise."""
    if principal.everywhere:
        return None
    return resolve_area(conn, principal.area) if principal.area else Area.nothing("")


AreaDep = Annotated[Area | None, Depends(current_area)]

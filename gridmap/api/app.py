"""The FastAPI application factory: ``create_app(settings)`` builds one app per database.

Nothing is built at import time, so tests make an app per throwaway database.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gridmap import __version__
from gridmap.api.cache import ResponseCache
from gridmap.api.errors import add_exception_handlers
from gridmap.api.limits import ConcurrencyLimit, pool_options
from gridmap.api.seed import start_seeding
from gridmap.config import DEV_SECRET, Settings
from gridmap.maps.assets import WEB  # the web/ folder: templates and static files
from gridmap.store.db import make_engine


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: from the environment)."""
    from fastapi.middleware.gzip import GZipMiddleware
    from fastapi.staticfiles import StaticFiles
    from starlette.middleware.sessions import SessionMiddleware

    from gridmap.api.routes import (
        analysis,
        audit,
        board,
        exports,
        fabric,
        features,
        gaps,
        layers,
        members,
        ogc,
        pages,
        people,
        plans,
        session,
        tiles,
    )  # fmt: skip
    from gridmap.api.security import SESSION_COOKIE

    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = start_seeding(app) if settings.seed_cache else None
        yield
        if stop is not None:
            stop.set()

    app = FastAPI(
        lifespan=lifespan,
        title="gridmap",
        version=__version__,
        description="党建引领网格化治理 GIS 接口 / Party-building grid governance GIS API",
        # FastAPI's own documentation pages load their scripts from a CDN; ours come from the
        # app itself (web/static/vendor), so /docs works on an offline government network
        docs_url=None,
        redoc_url=None,
    )
    add_docs(app)
    app.state.settings = settings
    app.state.engine = make_engine(settings, **pool_options(settings.database_url, settings.max_concurrent_requests))  # fmt: skip
    app.state.responses = ResponseCache()
    app.state.tiles = ResponseCache(size=20_000, max_bytes=128 << 20)  # a city's street level
    add_exception_handlers(app)
    # level 1: a zoom-14 page of 1,400 buildings (438 KB) compresses in 2 ms to 61 KB, where
    # the default level 9 took 40 ms for 48 KB — twice the whole request (benchmarks/bench_serve)
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=1)
    app.add_middleware(ConcurrencyLimit, limit=settings.max_concurrent_requests)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(settings),
        session_cookie=SESSION_COOKIE,
        max_age=int(settings.session_hours * 3600),
        same_site="lax",
        https_only=settings.cookie_secure,
    )  # the cookie is always HttpOnly
    # Matched first, in this order: the routes a view asks for on every pan (vector tiles, the
    # map's layer, OGC items for QGIS). FastAPI tries each route in turn, at about 5 µs a route:
    # an OGC request behind the other routers tried 50 routes first, 0.2–0.3 ms. None of their
    # paths is matched by another route, so every request resolves as before
    # (tests/api/test_route_order.py).
    app.include_router(tiles.router)
    app.include_router(features.router)
    app.include_router(ogc.router)
    app.include_router(session.router)
    app.include_router(layers.router)
    app.include_router(gaps.router)
    app.include_router(analysis.router)
    app.include_router(exports.router)
    app.include_router(plans.router)
    app.include_router(fabric.router)
    app.include_router(members.router)
    app.include_router(board.router)
    app.include_router(people.router)
    app.include_router(audit.router)
    app.mount("/static", StaticFiles(directory=str(WEB / "static")), name="static")
    if settings.basemap == "xyz":
        app.mount("/tiles", StaticFiles(directory=str(settings.basemap_tiles)), name="tiles")
    app.include_router(pages.router)
    return app


def session_secret(settings: Settings) -> str:
    """The key that signs session cookies.

    With the published development default, anyone could sign a cookie naming any account, so
    a development server (``gridmap demo``) signs with a key of its own, made at start: its
    sessions end when it stops. Production refuses to start without ``GRIDMAP_SECRET_KEY``.
    """
    if settings.secret_key == DEV_SECRET:
        return secrets.token_urlsafe(32)
    return settings.secret_key


SWAGGER = "/static/vendor/swagger-ui-dist@5.35.0"


def add_docs(app: FastAPI) -> None:
    """Interactive API documentation at /docs, served entirely by the app."""
    from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title="gridmap 接口文档 / API",
            swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def oauth2_redirect():
        return get_swagger_ui_oauth2_redirect_html()

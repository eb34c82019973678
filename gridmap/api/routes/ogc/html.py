"""Every OGC resource in JSON and in HTML: which one a request wants, its links to itself in
both (``self``, ``alternate``), and the minimal HTML page."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from gridmap.errors import InputFileError


def ogc_base(request: Request) -> str:
    """The absolute address of the OGC landing page, without a trailing slash."""
    return str(request.base_url).rstrip("/") + "/ogc"


def wants_html(request: Request, f: str | None) -> bool:
    """HTML when ``f=html``, or when the client accepts HTML and no JSON; 400 on another ``f``."""
    if f:
        if f not in ("json", "html"):
            raise InputFileError("f 只能是 json 或 html。", "f must be json or html.")
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept


def self_links(request: Request, media: str = "application/json") -> list[dict]:
    """``self`` in ``media`` and its ``alternate`` in HTML."""
    url = request.url.remove_query_params("f")
    html = url.include_query_params(f="html")
    return [
        {"href": str(url), "rel": "self", "type": media, "title": "this document"},
        {"href": str(html), "rel": "alternate", "type": "text/html", "title": "HTML"},
    ]


def esc(value) -> str:
    """``value`` as text safe inside HTML."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def html_page(
    request: Request, title: str, body: str, media: str = "application/json"
) -> HTMLResponse:
    """A minimal page around ``body`` that links to the same resource as ``media``."""
    as_json = esc(request.url.include_query_params(f="json"))
    return HTMLResponse(
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="alternate" type="{media}" href="{as_json}"></head>'
        f'<body><h1>{esc(title)}</h1>{body}<p><a href="{as_json}">JSON</a></p></body></html>'
    )


def link_list(links: list[tuple[str, str]]) -> str:
    """An HTML list of (address, text) links."""
    return "<ul>" + "".join(f'<li><a href="{esc(h)}">{esc(t)}</a></li>' for h, t in links) + "</ul>"

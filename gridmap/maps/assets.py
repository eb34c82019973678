"""The local asset registry: the vendored front-end files folium's maps use, inlined.

folium names its scripts and styles (``default_js``/``default_css`` of every element) with CDN
URLs. A map made here must work where there is no internet and no server (a file handed to a
community secretary), so :func:`inline_assets` takes each element's list away *on that element
only* (folium's class-level lists stay as folium ships them: ``add_js_link`` would change them
for every map of the process) and puts the vendored file's text into the page instead.
Images a stylesheet refers to become ``data:`` URLs. An asset with no local copy is an error,
never a silent CDN request.

Examples
--------
>>> import folium
>>> m = folium.Map(tiles=None)
>>> inline_assets(m)
>>> page = m.get_root().render()
>>> "<script src" in page, "<link" in page, "L.map(" in page
(False, False, True)
>>> folium.Map.default_js[0][1].startswith("https://")  # folium's own list is left alone
True
"""

from __future__ import annotations

import base64
import mimetypes
import re
from functools import cache
from pathlib import Path

from branca.element import Element, MacroElement

WEB = Path(__file__).resolve().parents[2] / "web"
VENDOR = WEB / "static" / "vendor"

# folium's asset names → the vendored file (web/static/vendor/NAME@VERSION/…). ``None``: folium
# loads it by default but the maps built here use none of it (jQuery, Bootstrap, Font Awesome
# and the awesome-markers plugin serve folium's icon markers and notebook widgets).
LOCAL: dict[str, str | None] = {
    "leaflet": "leaflet@1.9.3/leaflet.js",
    "leaflet_css": "leaflet@1.9.3/leaflet.css",
    "jquery": None,
    "bootstrap": None,
    "awesome_markers": None,
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_markers_font_css": None,
    "awesome_markers_css": None,
    "awesome_rotate_css": None,
}
CSS_URL = re.compile(r"url\((['\"]?)([^)'\"#][^)'\"]*)\1\)")


class Raw(Element):
    """Text put into the page as it is: not a template (a library's code may hold ``{{``), and
    not compiled as one (a template of Leaflet's 150 kB took as long as the whole map)."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def render(self, **kwargs) -> str:
        return self.text


class MissingAsset(RuntimeError):
    """A map element wants a script or style that is not vendored (a programming error)."""


@cache
def asset_text(relative: str) -> str:
    """The text of a vendored file, stylesheets with their images as ``data:`` URLs."""
    path = VENDOR / relative
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".css":
        text = CSS_URL.sub(lambda m: f"url({_data_url(path.parent / m.group(2))})", text)
    if "</script" in text.lower() or "</style" in text.lower():
        raise MissingAsset(f"{relative} cannot be inlined: it closes its own element")
    return text


def _data_url(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _walk(element):
    yield element
    for child in element._children.values():
        yield from _walk(child)


def wanted_assets(m: MacroElement) -> tuple[list[str], list[str]]:
    """The script and style names the elements of ``m`` ask for, in order, each once; the lists
    are emptied on each element (instance attributes: the classes are left alone)."""
    scripts: dict[str, None] = {}
    styles: dict[str, None] = {}
    for element in _walk(m):
        if "default_js" in dir(element):
            scripts.update(dict.fromkeys(name for name, _url in element.default_js))
            styles.update(dict.fromkeys(name for name, _url in element.default_css))
            element.default_js = []
            element.default_css = []
    for name in [*scripts, *styles]:
        if name not in LOCAL:
            raise MissingAsset(f"no local copy of {name!r}: vendor it and add it to LOCAL")
    return [n for n in scripts if LOCAL[n]], [n for n in styles if LOCAL[n]]


def inline_tags(scripts: list[str], styles: list[str]) -> str:
    """``<style>`` and ``<script>`` elements holding the named assets' text."""
    css = "".join(f"<style>{asset_text(LOCAL[n])}</style>\n" for n in styles)
    return css + "".join(f"<script>{asset_text(LOCAL[n])}</script>\n" for n in scripts)


def inline_assets(m: MacroElement) -> None:
    """Make ``m`` (a folium map, rendered later) carry its scripts and styles in the page.

    Call it when every layer and control has been added to the map.
    """
    scripts, styles = wanted_assets(m)
    header = m.get_root().header
    for name in styles:
        header.add_child(Raw(f"<style>{asset_text(LOCAL[name])}</style>"), name=name)
    for name in scripts:
        header.add_child(Raw(f"<script>{asset_text(LOCAL[name])}</script>"), name=name)

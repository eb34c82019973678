"""What a printed map needs besides its features: a legend, a scale bar, a north arrow, and a
panel of figures — Leaflet controls made of plain HTML, so they print as they show.

Examples
--------
>>> import folium
>>> m = folium.Map(tiles=None)
>>> add_print_controls(m, [LegendRow("#b71c1c", "小区无党组织覆盖", "no organisation", 3)])
>>> page = m.get_root().render()
>>> all(c in page for c in ("gm-legend", "gm-north", "L.control.scale"))
True
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from branca.element import MacroElement
from folium.template import Template

from gridmap.maps.assets import Raw

MAP_CSS = """
.leaflet-container{background:#fff;font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif}
.gm-box{background:rgba(255,255,255,.92);border:1px solid #999;border-radius:3px;padding:4px 7px;
 font-size:12px;line-height:1.35;color:#222;max-height:60vh;overflow:auto}
.gm-box small,.gm-pop small{color:#666;font-size:10px}
.gm-legend .sw{display:inline-block;width:14px;height:10px;margin-right:5px;vertical-align:middle;
 border:2px solid;box-sizing:border-box}
.gm-legend .sw.dot{border-radius:50%;width:10px}
.gm-legend td{padding:0 3px}.gm-legend td.n{text-align:right}
.gm-north{background:none;border:none;padding:0}
.gm-box summary{cursor:pointer}
.gm-panel table{border-collapse:collapse}.gm-panel th{text-align:left;padding-right:6px;font-weight:normal}
.gm-panel td{text-align:right}
.gm-label-icon{background:none;border:none}
.gm-label{position:absolute;transform:translate(-50%,-50%);white-space:nowrap;font-size:11px;
 color:#222;background:rgba(255,255,255,.7);padding:0 2px;border-radius:2px;pointer-events:none}
.gm-pop{font-size:13px;max-width:300px}.gm-pop code{font-size:11px}
@media print{.leaflet-control-zoom,.leaflet-control-layers{display:none}.gm-box{max-height:none}
 .gm-box summary{list-style:none}.gm-box summary::-webkit-details-marker{display:none}}
"""

NORTH_ARROW = (
    '<svg width="30" height="46" viewBox="0 0 30 46" role="img" aria-label="指北针 north arrow">'
    '<text x="15" y="11" text-anchor="middle" font-size="12" font-weight="bold">北 N</text>'
    '<polygon points="15,14 24,44 15,37 6,44" fill="#222"/>'
    '<polygon points="15,14 15,37 6,44" fill="#fff" stroke="#222" stroke-width="1"/></svg>'
)


@dataclass(frozen=True)
class LegendRow:
    """One line of a legend: a swatch colour, what it is (Chinese, English) and a count."""

    colour: str
    label_zh: str
    label_en: str
    count: int | None = None
    filled: bool = False
    point: bool = False


def braces_as_entities(markup: str) -> str:
    """HTML with its curly braces written as character references (shown the same).

    folium compiles each element's rendered script as a Jinja template, so a ``{{ … }}`` in a
    name or message would be run instead of shown.

    >>> braces_as_entities("<b>{{ 7*7 }}</b>")
    '<b>&#123;&#123; 7*7 &#125;&#125;</b>'
    """
    return markup.replace("{", "&#123;").replace("}", "&#125;")


class HtmlControl(MacroElement):
    """A Leaflet control showing fixed HTML (escaped by whoever built it) at ``position``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var control = L.control({position: {{ this.position|tojson }}});
            control.onAdd = function () {
                var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
                div.innerHTML = {{ this.html|tojson }};
                // on a phone the panels start folded (they would hide the map); printed, open
                var fold = function (open) {
                    div.querySelectorAll("details").forEach(function (d) { d.open = open; });
                };
                if (window.innerWidth < 700) fold(false);
                window.addEventListener("beforeprint", function () { fold(true); });
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            control.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, position: str, css_class: str):
        super().__init__()
        self._name = "HtmlControl"
        self.html = braces_as_entities(html_text)
        self.position = position
        self.css_class = css_class

    def render(self, **kwargs):
        style = Raw(f"<style>{MAP_CSS}</style>")
        self.get_root().header.add_child(style, name="gridmap_map_css")
        super().render(**kwargs)


class MetricScale(MacroElement):
    """Leaflet's scale bar in metres only (a printed map is measured with a ruler)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false, maxWidth: 160, position: "bottomleft"})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )


class FitWhenPrinted(MacroElement):
    """Lay the map out again for the printed page and show ``bounds`` on it (a map drawn for
    the screen is otherwise cut to the paper's width)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var fit = function () { map.invalidateSize(false); map.fitBounds({{ this.bounds|tojson }}, {animate: false}); };
            window.addEventListener("beforeprint", fit);
            window.addEventListener("afterprint", fit);
            window.matchMedia("print").addEventListener("change", fit);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]]):
        super().__init__()
        self._name = "FitWhenPrinted"
        self.bounds = bounds


def legend_html(rows: list[LegendRow], title_zh: str = "图例", title_en: str = "legend") -> str:
    """The legend's table: swatch, Chinese label with English below, count."""
    e = html.escape
    body = "".join(
        f'<tr><td><span class="sw{" dot" if r.point else ""}" style="border-color:{e(r.colour)};'
        f'background:{e(r.colour) + "66" if r.filled else "transparent"}"></span></td>'
        f"<td>{e(r.label_zh)} <small>{e(r.label_en)}</small></td>"
        f'<td class="n">{"" if r.count is None else r.count}</td></tr>'
        for r in rows
    )
    summary = f"<summary><b>{e(title_zh)}</b> <small>{e(title_en)}</small></summary>"
    return f"<details open>{summary}<table>{body}</table></details>"


def add_print_controls(m, legend: list[LegendRow] | None) -> None:
    """North arrow (top right), metric scale bar (bottom left) and, when given, the legend
    (bottom right; a report prints it beside the map instead)."""
    HtmlControl(NORTH_ARROW, "topright", "gm-north").add_to(m)
    MetricScale().add_to(m)
    if legend is not None:
        HtmlControl(legend_html(legend), "bottomright", "gm-box gm-legend").add_to(m)

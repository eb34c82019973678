"""gridmap's layers drawn on a folium map: units with labels and popups, gaps by kind, stations.

Every feature carries only the HTML of its popup (and label), escaped here: folium puts a
property's text into the page as HTML. Gaps about one member are never drawn (their point is a
home); they are counted in the legend only.

Examples
--------
>>> import folium, geopandas as gpd
>>> from shapely import box
>>> m = folium.Map(tiles=None)
>>> units = gpd.GeoDataFrame({"code": ["W1"], "name": ["一网格"]}, geometry=[box(0, 0, 1, 1)],
...                          crs=4326)
>>> _ = add_units(m, units, "grid", label=True)
>>> page = m.get_root().render()
>>> "gm-pop" in page, "gm-label" in page  # a popup and a label written on the map
(True, True)
"""

from __future__ import annotations

import html

import folium
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from folium.template import Template

from gridmap.io.geojson_text import collection, features, script_safe, spaced
from gridmap.layers import STORAGE_CRS
from gridmap.maps.assets import Raw
from gridmap.maps.controls import LegendRow, braces_as_entities
from gridmap.maps.labels import gap_label
from gridmap.maps.layers import AREA_GAP_KINDS, GAP_COLOURS, MEMBER_GAP_KINDS, STYLES

UNIT_STYLES = {
    **STYLES,
    "community": {"color": "#d84315", "weight": 3, "fillOpacity": 0.02},
    "grid": {"color": "#1565c0", "weight": 1.5, "fillOpacity": 0.04},
    # the edge of what an exported map is about
    "boundary": {"color": "#b71c1c", "weight": 4, "fill": False, "dashArray": "10 5"},
}
UNIT_LABELS = {
    "subdistrict": ("街道", "subdistrict"), "community": ("社区", "community"),
    "grid": ("网格", "grid cell"), "compound": ("小区", "compound"),
    "building": ("楼栋", "building"), "station": ("党群服务站", "service station"),
}  # fmt: skip


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def popup_html(title_zh: str, title_en: str, name, code, lines: list[str] = ()) -> str:
    """A popup: what it is, its name and code, then lines of HTML already escaped."""
    e = html.escape
    head = f"<b>{e(title_zh)}</b> <small>{e(title_en)}</small><br>"
    named = (
        f"{e(_text(name))} <code>{e(_text(code))}</code>"
        if _text(name)
        else f"<code>{e(_text(code))}</code>"
    )
    body = "".join("<br>" + line for line in lines)
    return braces_as_entities(f'<div class="gm-pop">{head}{named}{body}</div>')


def _located(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    frame = frame if frame.crs is None or frame.crs == STORAGE_CRS else frame.to_crs(STORAGE_CRS)
    keep = frame.geometry.notna().to_numpy() & ~frame.geometry.is_empty.to_numpy()
    return frame[keep]


def _feature_collection(frame: gpd.GeoDataFrame, columns: list[str]) -> str:
    """GeoJSON text of ``frame`` with only ``columns`` as properties, safe inside a script
    (``<``, ``>``, ``&`` escaped), by the one GeoJSON writer. Coordinates keep every digit,
    so a shape valid as stored is valid as written (7 decimals would break a few cells); Leaflet
    rounds only the screen's pixels it draws."""
    properties = frame[columns].to_dict("records")
    return script_safe(collection(features(properties, frame.geometry.to_numpy(), spaced)))


class VectorLayer(MacroElement):
    """Features in one style, each with its popup (``properties.popup``, HTML escaped by whoever
    built it), points as small circles; drawn in SVG, which prints.

    Its script goes into the page as it is: folium's own GeoJson layer has each rendered script
    compiled once more as a template, which took a third of a report's time.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.geoJson({{ this.data }}, {
            style: function () { return {{ this.style|tojson }}; },
            pointToLayer: function (feature, latlng) { return L.circleMarker(latlng, {radius: 6}); },
            onEachFeature: function (feature, layer) { layer.bindPopup(feature.properties.popup); }
        }).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, data: str, style: dict):
        super().__init__()
        self._name = "VectorLayer"
        self.data = data
        self.style = style

    def render(self, **kwargs):
        script = self._template.module.__dict__["script"]
        self.get_root().script.add_child(Raw(script(self, kwargs)), name=self.get_name())


def _geojson_layer(frame, style: dict) -> VectorLayer:
    return VectorLayer(_feature_collection(frame, ["popup"]), style)


def add_labels(group, frame: gpd.GeoDataFrame, texts: list[str]) -> None:
    """Write each text (escaped here) at a point inside its shape: plain HTML, which prints."""
    for point, text in zip(frame.geometry.representative_point(), texts, strict=True):
        label = braces_as_entities(html.escape(text))
        icon = folium.DivIcon(html=f'<div class="gm-label">{label}</div>',
                              icon_size=(0, 0), class_name="gm-label-icon")  # fmt: skip
        folium.Marker([point.y, point.x], icon=icon, interactive=False).add_to(group)


def add_units(
    m,
    frame: gpd.GeoDataFrame,
    kind: str,
    *,
    label: bool = False,
    popup_lines=None,
    show: bool = True,
    name: str | None = None,
    style: dict | None = None,
) -> folium.FeatureGroup:
    """One layer of places (``kind``: community, grid, compound, building), each with a popup
    naming it and, with ``label``, its name (or code) written on the map.

    ``popup_lines(row)`` gives extra popup lines (escaped HTML) for a row."""
    frame = _located(frame).copy()
    zh, en = UNIT_LABELS[kind]
    rows = frame.drop(columns="geometry").to_dict("records")
    frame["popup"] = [
        popup_html(zh, en, r.get("name"), r.get("code"), popup_lines(r) if popup_lines else [])
        for r in rows
    ]
    group = folium.FeatureGroup(name=name or f"{zh} {en}", show=show)
    if len(frame):
        _geojson_layer(frame, style or UNIT_STYLES[kind]).add_to(group)
    if label and len(frame):
        add_labels(group, frame, [_text(r.get("name")) or _text(r.get("code")) for r in rows])
    group.add_to(m)
    return group


def add_stations(
    m, stations: gpd.GeoDataFrame, radius_m: float, reach: bool = True
) -> list[LegendRow]:
    """Stations as dots, each (with ``reach``) with its walking reach: a circle of
    ``radius_m`` metres."""
    stations = _located(stations).copy()
    group = folium.FeatureGroup(name="党群服务站及服务半径 stations and reach")
    style = UNIT_STYLES["station"]
    line = f"服务半径 {radius_m:.0f} 米 <small>walking reach</small>"
    stations["popup"] = [
        popup_html("党群服务站", "service station", r.get("name"), r.get("code"), [line])
        for r in stations.drop(columns="geometry").to_dict("records")
    ]
    for point in stations.geometry if reach else ():
        # an outline only: a fill would tint everywhere several stations reach
        folium.Circle([point.y, point.x], radius=radius_m, color="#f9a825", weight=1.5,
                      fill=False, dash_array="4 4", interactive=False).add_to(group)  # fmt: skip
    if len(stations):
        dots = {**style, "radius": 6}
        _geojson_layer(stations, dots).add_to(group)
    group.add_to(m)
    rows = [LegendRow(style["color"], "党群服务站", "service station", len(stations), point=True)]
    return rows + (
        [LegendRow("#f9a825", f"服务半径 {radius_m:.0f} 米", "walking reach")] if reach else []
    )


def gap_popup(row: dict) -> str:
    """A gap's popup: its kind, the unit it is about and its Chinese (and English) message."""
    zh, en = gap_label(row["kind"])
    e = html.escape
    lines = [e(_text(row.get("message_zh"))), f"<small>{e(_text(row.get('message_en')))}</small>"]
    return popup_html(zh, en, row.get("name"), row.get("code"), lines)


def add_gaps(m, gaps: gpd.GeoDataFrame, *, leave_out: tuple[str, ...] = ()) -> list[LegendRow]:
    """One layer per gap kind (Chinese name and count in the layer list and the legend).

    Kinds in ``leave_out`` and gaps about one member are not drawn; member gaps are counted
    in the legend ("仅计数 count only")."""
    rows = []
    counts = gaps["kind"].value_counts() if len(gaps) else pd.Series(dtype=int)
    located = _located(gaps) if len(gaps) else gaps
    for kind in [k for k in GAP_COLOURS if k in counts.index]:
        zh, en = gap_label(kind)
        n = int(counts[kind])
        colour = GAP_COLOURS[kind]
        if kind in MEMBER_GAP_KINDS:
            rows.append(LegendRow(colour, f"{zh} (仅计数)", f"{en}, count only", n))
            continue
        if kind in leave_out:
            continue
        # a collection (polygon plus line) is drawn as its parts, each with the gap's popup
        these = located[located["kind"] == kind]
        if (these.geom_type == "GeometryCollection").any():
            these = these.explode(index_parts=False)
        these["popup"] = [gap_popup(r) for r in these.drop(columns="geometry").to_dict("records")]
        area = kind in AREA_GAP_KINDS
        style = {"color": colour, "weight": 2 if area else 3, "fillColor": colour,
                 "fillOpacity": 0.45 if area else 0.08}  # fmt: skip
        group = folium.FeatureGroup(name=f"{zh} ({n})")
        points = these.geom_type.isin(["Point", "MultiPoint"]).to_numpy()
        if points.all():
            style["fillOpacity"] = 0.8  # a dot
        _geojson_layer(these, style).add_to(group)
        group.add_to(m)
        rows.append(LegendRow(colour, zh, en, n, filled=area, point=bool(points.all())))
    return rows


def fit_to(m, frame: gpd.GeoDataFrame) -> None:
    """Zoom the map to ``frame``'s extent (lon/lat)."""
    west, south, east, north = _located(frame).total_bounds
    m.fit_bounds([[south, west], [north, east]], padding=(8, 8))

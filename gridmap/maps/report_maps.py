"""The printed report's maps: an overview of the subdistrict with its gaps by kind, and one map
per community (grids named, compounds, gaps, stations), each with legend, scale bar and north
arrow, no basemap (vectors in SVG, which prints).

Each map is rendered into :class:`MapParts` to be placed in the report's own page, which loads
Leaflet once (:func:`report_assets`).
"""

from __future__ import annotations

from dataclasses import dataclass

import folium
import geopandas as gpd

from gridmap.layers import STORAGE_CRS
from gridmap.maps.assets import inline_tags, wanted_assets
from gridmap.maps.controls import LegendRow, add_print_controls, legend_html
from gridmap.maps.draw import UNIT_STYLES, add_gaps, add_stations, add_units, fit_to
from gridmap.maps.layers import HIDDEN_GAP_KINDS

NEAR_DEG = 0.01  # stations this near a community (about 1 km) are drawn on its map


@dataclass(frozen=True)
class MapParts:
    """A rendered folium map cut into what a page needs: ``head`` (styles), ``div`` and
    ``script`` (run after Leaflet has loaded)."""

    name: str
    head: tuple[str, ...]
    div: str
    script: str
    legend: str = ""


def _new_map() -> folium.Map:
    # no basemap: nothing is fetched, and the vectors print; zoom by mouse on screen only
    return folium.Map(
        tiles=None, max_zoom=19, scroll_wheel_zoom=False, zoom_snap=0.1, zoom_delta=0.5
    )


def map_parts(m: folium.Map, css_class: str, legend: list[LegendRow]) -> MapParts:
    """Render ``m`` and cut it into head, div and script (its scripts and styles left out);
    the legend goes beside the map, where it hides nothing."""
    figure = m.get_root()
    wanted_assets(m)
    figure.render()
    own = m.get_name()
    head = tuple(c.render() for k, c in figure.header._children.items() if k != own)
    div = f'<div class="folium-map {css_class}" id="{own}"></div>'
    box = f'<div class="gm-box gm-legend report-legend">{legend_html(legend)}</div>'
    return MapParts(own, head, div, figure.script.render(), box)


def report_assets() -> str:
    """Leaflet's style and script, inlined once for all the report's maps."""
    m = _new_map()
    return inline_tags(*wanted_assets(m))


def _outline_rows(kinds: list[str]) -> list[LegendRow]:
    names = {"community": ("社区", "community"), "grid": ("全科网格", "unified grid cell"),
             "compound": ("小区", "compound")}  # fmt: skip
    return [LegendRow(UNIT_STYLES[k]["color"], *names[k]) for k in kinds]


def _with_crs(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.to_crs(STORAGE_CRS) if frame.crs is not None else frame


def overview_map(analysis, radius_m: float) -> MapParts | None:
    """The whole subdistrict: communities named, grids, stations, gaps by kind (per-building
    findings and uncertain parents left for the community maps)."""
    places = analysis.places
    if not places or places["community"].empty:
        return None
    m = _new_map()
    add_units(m, _with_crs(places["community"]), "community", label=True)
    add_units(m, _with_crs(analysis.integration.unified), "grid")
    legend = _outline_rows(["community", "grid"])
    legend += add_stations(m, places["station"], radius_m)
    legend += add_gaps(m, analysis.gaps, leave_out=HIDDEN_GAP_KINDS)
    fit_to(m, places["community"])
    add_print_controls(m, None)
    return map_parts(m, "report-map overview-map", legend)


def community_maps(analysis, radius_m: float) -> dict[str, MapParts]:
    """One map per community: its outline, grids named, compounds, stations, its gaps."""
    places = analysis.places
    if not places:
        return {}
    grids = _with_crs(analysis.integration.unified)
    compounds = _with_crs(places["compound"])
    gaps = analysis.gaps
    out = {}
    for community in _with_crs(places["community"]).itertuples(index=False):
        here = gpd.GeoDataFrame([community._asdict()], geometry="geometry", crs=STORAGE_CRS)
        m = _new_map()
        add_units(m, here, "community")
        add_units(m, grids[grids["community_code"] == community.code], "grid", label=True)
        inside = compounds.intersects(community.geometry.buffer(-1e-5)).to_numpy()
        add_units(m, compounds[inside], "compound")
        legend = _outline_rows(["community", "grid", "compound"])
        stations = _with_crs(places["station"])
        near = stations.intersects(community.geometry.buffer(NEAR_DEG)).to_numpy()
        legend += add_stations(m, stations[near], radius_m, reach=False)
        legend += add_gaps(m, gaps[gaps["community_code"] == community.code])
        fit_to(m, here)
        add_print_controls(m, None)
        out[community.code] = map_parts(m, "report-map community-map", legend)
    return out

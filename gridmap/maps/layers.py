"""What the coordinator map shows: each layer's label, style and from which zoom it loads."""

from __future__ import annotations

from gridmap.layers import GRID_LAYER_EXAMPLES, LAYERS

# Large layers load per viewport only when zoomed in (a city has 200,000 buildings).
MIN_ZOOM = {"building": 16, "member": 17, "compound": 14}
STYLES = {
    "subdistrict": {"color": "#b71c1c", "weight": 3, "fill": False},
    "community": {"color": "#d84315", "weight": 2, "fillOpacity": 0.03},
    "compound": {"color": "#2e7d32", "weight": 1, "fillOpacity": 0.15},
    "building": {"color": "#455a64", "weight": 1, "fillOpacity": 0.4},
    "station": {"color": "#c62828", "fillColor": "#ffeb3b", "fillOpacity": 1, "weight": 2},
}
GRID_COLOURS = ["#1565c0", "#6a1b9a", "#00838f", "#ef6c00", "#5d4037"]


PANES = {"subdistrict": "areas", "community": "areas", "grid": "grids", "compound": "units",
         "building": "buildings", "station": "points"}  # fmt: skip

# Every colour at least 3:1 against the panel (#fafafa), the coverage gaps told apart by colour-blind
# readers too (Okabe–Ito vermillion and blue, ColorBrewer purples) and by shape (a piece of land
# filled, a whole unit outlined); the layers' own defects in cool colours. Per-building and
# per-member findings (thousands in a city) start hidden and are switched on in the legend.
GAP_COLOURS = {
    "uncovered_area": "#d55e00", "grid_overlap": "#b35806", "compound_split": "#c51b7d",
    "compound_without_org": "#6a3d9a", "grid_without_member": "#0072b2",
    "building_without_member": "#a6611a", "grid_out_of_band": "#8c510a",
    "member_unassigned": "#ad1457", "member_not_reported": "#9c4f96",
    "property_without_org": "#762a83", "beyond_station_reach": "#e7298a",
    "branch_too_small": "#6d4c41", "branch_too_large": "#4e342e",
    "branch_needs_committee": "#795548", "joint_branch_too_many_units": "#5d4037",
    "invalid_geometry": "#283593", "duplicate_feature": "#3949ab", "multipart_feature": "#5c6bc0",
    "sliver": "#1e88e5", "grid_straddles_community": "#00838f",
    "compound_straddles_community": "#00796b", "compound_outside_community": "#2e7d32",
    "building_outside_compound": "#558b2f", "ambiguous_parent": "#607d8b",
    # who serves the places (core/staffing.py): each as far (CIELAB) from every colour above and
    # from each other as a hue grid at 3:1 on the panel allows, none in the default red
    "grid_without_worker": "#0000bf", "worker_overloaded": "#bf00bf",
    "branch_without_secretary": "#73000b", "secretary_not_qualified": "#0d2c59",
    "branch_without_group_leader": "#590d3b", "building_without_head": "#8c7e00",
    "property_without_instructor": "#bf0013", "committee_without_party_member": "#53591b",
    "committee_without_cross_serving": "#bf6156", "community_workers_short": "#38008c",
    "term_expired": "#004759",
}  # fmt: skip
HIDDEN_GAP_KINDS = ("building_without_member", "member_not_reported", "ambiguous_parent")
# gaps about one member, drawn at their home: only roles that may see personal data see them
MEMBER_GAP_KINDS = ("member_unassigned", "member_not_reported")
# gaps that are a piece of land of their own (drawn filled); the others outline a whole unit
AREA_GAP_KINDS = ("uncovered_area", "grid_overlap", "sliver", "beyond_station_reach")


def gap_legend(counts: dict[str, int], counts_only: tuple[str, ...] = ()) -> list[dict]:
    """One legend row per gap kind: colour, Chinese label, next step, count and whether it
    starts shown.

    Kinds in ``counts_only`` are counted but never drawn nor listed for this account (a gap
    about one member, for a role that may not see personal data).

    >>> [r["kind"] for r in gap_legend({"sliver": 2, "uncovered_area": 1})][:2]
    ['uncovered_area', 'grid_overlap']
    """
    from gridmap.core.gaps import GAP_KINDS, NEXT_STEPS

    return [
        {
            "kind": kind,
            "label_zh": label,
            "label_en": kind.replace("_", " "),
            "next_zh": NEXT_STEPS[kind][0],
            "next_en": NEXT_STEPS[kind][1],
            "colour": GAP_COLOURS.get(kind, "#d50000"),
            "count": int(counts.get(kind, 0)),
            "visible": kind not in HIDDEN_GAP_KINDS and kind not in counts_only,
            "area": kind in AREA_GAP_KINDS,
            "counts_only": kind in counts_only,
        }
        for kind, label in GAP_KINDS.items()
    ]


def map_layers(grid_layer_names: list[str]) -> list[dict]:
    """Layer specs for map.js, largest first; grids of each named layer in their own colour.

    The map opens calm: the communities, the first grid layer (the unified grid) and the gaps;
    compounds and buildings as the map is zoomed in to them; the subdistrict's outline, the
    other grid layers and the stations with their walking circles one tap away.

    >>> [s["layer"] for s in map_layers(["party", "unified"]) if s["visible"]]
    ['community', 'grid:unified', 'compound', 'building']
    """
    specs = []
    for name in ("subdistrict", "community"):
        specs.append(
            _spec(name, name, LAYERS[name].label_zh, STYLES[name], visible=name == "community")
        )
    preferred = {name: i for i, name in enumerate(("unified", "party", "zongzhi", "chengguan"))}
    ordered = sorted(grid_layer_names, key=lambda n: (preferred.get(n, len(preferred)), n))
    for i, grid in enumerate(ordered):
        style = {"color": GRID_COLOURS[i % len(GRID_COLOURS)], "weight": 2, "fillOpacity": 0.05}
        label = GRID_LAYER_EXAMPLES.get(grid, f"网格 {grid}")
        specs.append(_spec(f"grid:{grid}", f"grid_{grid}", label, style, visible=i == 0))
    for name in ("compound", "building", "station"):
        specs.append(
            _spec(name, name, LAYERS[name].label_zh, STYLES[name], visible=name != "station")
        )
    # layer, pane and route keep the name "proposals": the branch proposals of the analysis
    proposals = _spec(
        "proposals", "proposals", "组织设置建议",
        {"color": "#b71c1c", "weight": 2, "dashArray": "6 4", "fillOpacity": 0.08}, visible=False,
    )  # fmt: skip
    specs.append({**proposals, "url": "/api/proposals", "pane": "proposals"})
    return specs


def exports(layers: list[dict]) -> list[dict]:
    """What the map offers to download: its layers (members never: they are not on the map),
    then the latest analysis's gaps and proposals; each with its ``/api/export`` path.

    >>> [e["path"] for e in exports(map_layers(["party"]))][1:3]
    ['/api/export/community', '/api/export/grid?grid_layer=party']
    """
    out = []
    for spec in layers:
        base, _, grid = spec["layer"].partition(":")
        if base != "proposals":
            path = f"/api/export/{base}" + (f"?grid_layer={grid}" if grid else "")
            out.append({"label_zh": spec["label_zh"], "path": path})
    return [
        *out,
        {"label_zh": "留白与问题", "path": "/api/export/gaps"},
        {"label_zh": "组织设置建议", "path": "/api/export/proposals"},
    ]


# layers drawn from vector tiles (``/api/tiles``) rather than per view: those of street level,
# where every pan asked for a new view and the tiles a pan reaches are mostly kept already
TILED = ("building",)
# the map draws tiles 512 pixels wide, so at each zoom it asks for the tiles one zoom up, and
# from this zoom on it enlarges those of the zoom before (map-layers.js: maxNativeZoom)
TILES_UP_TO = 17


def tile_zooms(layer: str) -> range:
    """The zooms of the tiles the map asks for of a tiled ``layer``.

    >>> list(tile_zooms("building"))
    [15, 16]
    """
    return range(MIN_ZOOM[layer] - 1, TILES_UP_TO)


def _spec(layer: str, key: str, label: str, style: dict, visible: bool) -> dict:
    base = layer.split(":", 1)[0]
    tiles = {"tiles": f"/api/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt", "tiles_up_to": TILES_UP_TO} if layer in TILED else {}  # fmt: skip
    return {
        **tiles,
        "pane": PANES.get(base, "units"),
        "layer": layer,
        "key": key,
        "label_zh": label,
        "style": style,
        "visible": visible,
        "min_zoom": MIN_ZOOM.get(base, 0),
    }


# Tile services outside the app are used only when the operator configures them; the default
# basemap is none, so a fresh install requests nothing outside itself.
TIANDITU = (
    "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
    "&TILECOL={x}&tk="
)
AMAP = "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"


def basemap(settings) -> dict | None:
    """The tile layer map.js draws under the data, and the datum the data is shown in.

    AMap's tiles are in GCJ-02, so with it the data is shifted to GCJ-02 for display only
    (``display=gcj02`` on every data request); stored and exported data stay in WGS84.

    >>> from gridmap.config import Settings
    >>> basemap(Settings()) is None
    True
    >>> basemap(Settings(basemap="amap"))["display"]
    'gcj02'
    """
    if settings.basemap == "xyz":
        return {"url": "/tiles/{z}/{x}/{y}.png", "subdomains": "", "display": "wgs84",
                "attribution": "本地瓦片 local tiles"}  # fmt: skip
    if settings.basemap == "tianditu":
        return {"url": TIANDITU + settings.tianditu_key, "subdomains": "01234567",
                "display": "wgs84", "attribution": "天地图 Tianditu"}  # fmt: skip
    if settings.basemap == "amap":
        return {
            "url": AMAP,
            "subdomains": "1234",
            "display": "gcj02",
            "attribution": "高德地图 AMap",
        }
    return None

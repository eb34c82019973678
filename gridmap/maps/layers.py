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


def map_layers(grid_layer_names: list[str]) -> list[dict]:
    """Layer specs for map.js, largest first; grids of each named layer in their own colour."""
    specs = []
    for name in ("subdistrict", "community"):
        specs.append(_spec(name, name, LAYERS[name].label_zh, STYLES[name], visible=True))
    preferred = {name: i for i, name in enumerate(("unified", "party", "zongzhi", "chengguan"))}
    ordered = sorted(grid_layer_names, key=lambda n: (preferred.get(n, len(preferred)), n))
    for i, grid in enumerate(ordered):
        style = {"color": GRID_COLOURS[i % len(GRID_COLOURS)], "weight": 2, "fillOpacity": 0.05}
        label = GRID_LAYER_EXAMPLES.get(grid, f"网格 {grid}")
        specs.append(_spec(f"grid:{grid}", f"grid_{grid}", label, style, visible=i == 0))
    for name in ("compound", "building", "station"):
        specs.append(_spec(name, name, LAYERS[name].label_zh, STYLES[name], visible=True))
    gaps = _spec(
        "gaps",
        "gaps",
        "留白与问题",
        {"color": "#d50000", "weight": 3, "fillOpacity": 0.35},
        visible=True,
    )
    specs.append({**gaps, "url": "/api/gaps"})
    return specs


def _spec(layer: str, key: str, label: str, style: dict, visible: bool) -> dict:
    base = layer.split(":", 1)[0]
    return {
        "layer": layer,
        "key": key,
        "label_zh": label,
        "style": style,
        "visible": visible,
        "min_zoom": MIN_ZOOM.get(base, 0),
    }

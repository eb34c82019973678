"""Which gridmap layer each OGC collection is: the public layers by name (members are
personal data, served only in aggregate, and never a collection) and one ``grid_<name>`` per grid
layer."""

from __future__ import annotations

from gridmap.errors import NotFoundError
from gridmap.layers import GRID_LAYER_EXAMPLES, LAYERS
from gridmap.store.features import grid_layers, has_grid_layer

PUBLIC_LAYERS = ("subdistrict", "community", "compound", "building", "station")


def _grid_title(grid: str) -> str:
    return GRID_LAYER_EXAMPLES.get(grid, f"网格 {grid}")


def collection_index(conn) -> dict[str, tuple[str, str | None, str]]:
    """collection id → (layer, grid layer, Chinese title)."""
    out = {name: (name, None, LAYERS[name].label_zh) for name in PUBLIC_LAYERS}
    for grid in grid_layers(conn):
        out[f"grid_{grid}"] = ("grid", grid, _grid_title(grid))
    return out


def lookup(conn, cid: str) -> tuple[str, str | None, str]:
    """(layer, grid layer, Chinese title) of collection ``cid``; 404 when there is none.

    Asks the database only whether a grid layer has features (every request for items comes
    through here)."""
    if cid in PUBLIC_LAYERS:
        return cid, None, LAYERS[cid].label_zh
    grid = cid.removeprefix("grid_")
    if grid != cid and has_grid_layer(conn, grid):
        return "grid", grid, _grid_title(grid)
    raise NotFoundError(f"没有图层 {cid}。", f"No collection {cid}.")

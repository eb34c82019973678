"""``gridmap export``: one layer of the database → a file for QGIS, ArcGIS or Excel.

Personal fields (members' names, phones, addresses) are left out unless asked for; an export
that includes them is recorded in the change log.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from gridmap.errors import NotFoundError
from gridmap.io.write import write_frame
from gridmap.layers import LAYERS
from gridmap.store import features
from gridmap.store.db import connect, transaction


def export_layer(
    engine: Engine,
    layer: str,
    path: str | Path,
    fmt: str,
    *,
    grid_layer: str | None = None,
    include_personal: bool = False,
    actor: str = "cli",
) -> tuple[Path, int]:
    """Write ``layer`` to ``path``; returns the path and the number of features written."""
    if layer not in LAYERS:
        raise NotFoundError(
            f"没有图层 {layer}。可用图层: {', '.join(LAYERS)}。",
            f"No layer {layer}; layers: {', '.join(LAYERS)}.",
        )
    with connect(engine) as conn:
        if layer == "grid" and grid_layer not in features.grid_layers(conn):
            known = ", ".join(features.grid_layers(conn)) or "无 / none"
            raise NotFoundError(
                f"没有网格图层 {grid_layer}。已有: {known}。用 --grid-layer 指定。",
                f"No grid layer {grid_layer}; existing: {known}. Choose one with --grid-layer.",
            )
        frame = features.read_features(
            conn, layer, grid_layer=grid_layer, include_personal=include_personal
        )
    frame = frame.drop(columns=["id"])
    name = f"{layer}_{grid_layer}" if grid_layer else layer
    out = write_frame(frame, path, fmt, name)
    if include_personal and LAYERS[layer].personal_fields:
        with transaction(engine) as conn:
            features.log_change(
                conn, actor, "export_personal", layer, {"file": out.name, "features": len(frame)}
            )
    return out, len(frame)

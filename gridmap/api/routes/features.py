"""GeoJSON features of a layer, limited to a bounding box (the map loads what it shows).

How the features are drawn (shifted, rounded, simplified, written as text, kept for views below
street level) is in ``gridmap/api/display.py``; the gaps of the latest analysis are served by
``routes/gaps.py``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from gridmap.api.cache import kept, kept_soon, packed, send
from gridmap.api.deps import EngineDep, on_connection
from gridmap.api.display import (
    GEOJSON,
    Drawn,
    display_geometry,
    drawn,
    feature_collection,
    refuse_more_than,
)
from gridmap.api.routes.params import CHECKED
from gridmap.api.security import require
from gridmap.errors import InputFileError, NotFoundError
from gridmap.layers import LAYERS
from gridmap.store.features import grid_layers
from gridmap.store.query import map_rows

router = APIRouter(prefix="/api", tags=["features"], dependencies=[*CHECKED, require("view")])

MAX_FEATURES = 20_000
STREET_ZOOM = 16  # from it a view shows a few streets (buildings are drawn)
DRAWN_AT_MOST = 100_000  # a layer drawn whole to cut views from (compounds: 20,000 in a city)
# layers whose views are cut from the whole layer drawn at street level too (zoom 17 and closer
# draw it unsimplified, alike): every coordinator's street-level view of compounds is read from
# memory, as the buildings' tiles are (benchmarks/RESULTS.md)
WHOLE_AT_STREET = ("compound",)
UNSIMPLIFIED_FROM = 17


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` → a tuple; anything else is a clear 400."""
    if not text:
        return None
    try:
        x0, y0, x1, y1 = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise InputFileError(
            "bbox 应为 最小经度,最小纬度,最大经度,最大纬度。",
            "bbox must be minlon,minlat,maxlon,maxlat.",
        ) from exc
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise InputFileError("bbox 超出经纬度范围。", "bbox is outside longitude/latitude ranges.")
    return x0, y0, x1, y1


def resolve_layer(conn, layer: str) -> tuple[str, str | None]:
    """``grid:party`` → ("grid", "party"); unknown layers are a 404, and so are members: their
    homes are personal data, never a map layer (the map shows counts; see ``/api/members``)."""
    base, _, grid_layer = layer.partition(":")
    if (
        base not in LAYERS
        or LAYERS[base].geometry == "none"
        or LAYERS[base].personal_fields
        or (base == "grid") != bool(grid_layer)
    ):
        raise NotFoundError(f"没有图层 {layer}。", f"No layer {layer}.")
    if grid_layer and grid_layer not in grid_layers(conn):
        raise NotFoundError(f"没有网格图层 {grid_layer}。", f"No grid layer {grid_layer}.")
    return base, grid_layer or None


@router.get("/layers/{layer}/features", summary="图层要素 (GeoJSON) / features of a layer", name="features")  # fmt: skip
async def layer_features(
    layer: str,
    request: Request,
    engine: EngineDep,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    zoom: Annotated[int | None, Query(ge=0, le=22, description="地图级别: 按半像素简化")] = None,
    display: Annotated[Literal["wgs84", "gcj02"], Query(description="显示坐标系")] = "wgs84",
) -> Response:
    # asked on every pan of every map: the connection's checkout, the view and the close take
    # one worker thread call between them, not three (benchmarks/RESULTS.md, street level)
    return await on_connection(
        engine,
        lambda conn: features(layer, request, conn, bbox, zoom, display),
        reading=True,
    )


def features(
    layer: str, request: Request, conn, bbox: str | None, zoom: int | None, display: str
) -> Response:
    """The features of ``layer`` in ``bbox`` drawn at ``zoom``, sent as ``request`` takes them
    (also drawn ahead of time, ``gridmap/api/seed.py``)."""
    base, grid_layer = resolve_layer(conn, layer)
    box = parse_bbox(bbox)

    def make() -> str:
        names, rows, geoms = map_rows(
            conn, base, grid_layer=grid_layer, bbox=box, limit=MAX_FEATURES + 1
        )
        refuse_more_than(MAX_FEATURES, len(rows))
        return feature_collection(names, rows, display_geometry(geoms, zoom, display))

    if box is None:  # a whole layer is the same for every user: kept until the data change
        return send(request, kept(request, conn, ("features", layer, zoom, display), make), GEOJSON)  # fmt: skip
    if zoom is not None and (zoom < STREET_ZOOM or base in WHOLE_AT_STREET):
        # a view below street level shows much of the subdistrict, and every user's view of a
        # layer drawn there (compounds) is cut from the same features: drawn once, and kept
        whole = layer_set(request, conn, layer, min(zoom, UNSIMPLIFIED_FROM), display)
        if whole:  # meanwhile, and for a layer too large to keep drawn, the view is read itself
            return send(request, packed(whole.meeting(box, at_most=MAX_FEATURES)), GEOJSON)
    return send(request, packed(make()), GEOJSON)


def layer_set(request, conn, layer: str, zoom: int, display: str, wait=False) -> Drawn | None:
    """A whole layer drawn at a zoom below street level, kept, to cut views from (compounds);
    ``None`` while being drawn (unless ``wait``), or for a layer too large to keep drawn."""
    base, grid_layer = resolve_layer(conn, layer)

    def build(own) -> Drawn | None:
        return _drawn_layer(own, base, grid_layer, zoom, display)

    return kept_soon(request, conn, ("drawn", layer, zoom, display), build, None, wait)


def _drawn_layer(conn, base: str, grid_layer: str | None, zoom: int, display: str) -> Drawn | None:
    """A whole layer drawn at ``zoom``; ``None`` for one too large to keep drawn."""
    names, rows, geoms = map_rows(conn, base, grid_layer=grid_layer, limit=DRAWN_AT_MOST + 1)
    return (
        None if len(rows) > DRAWN_AT_MOST else drawn(names, rows, np.asarray(geoms), zoom, display)
    )

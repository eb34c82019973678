"""GeoJSON features of a layer, limited to a bounding box (the map loads what it shows)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from gridmap.api.deps import ConnDep
from gridmap.errors import InputFileError, NotFoundError
from gridmap.layers import LAYERS
from gridmap.store.features import grid_layers, read_features

router = APIRouter(prefix="/api", tags=["features"])

MAX_FEATURES = 20_000
DECIMALS = 6  # about 0.1 m: finer than any screen shows, and a third fewer bytes than 15 digits


def for_display(frame, zoom: int | None, display: str):
    """Geometry as the map needs it: simplified to half a pixel at ``zoom``, rounded, shifted.

    Simplification keeps topology of each feature (no self-intersections); at zoom 17 and above
    nothing is simplified. ``display="gcj02"`` shifts coordinates for a GCJ-02 basemap.
    """
    import numpy as np
    import shapely

    geoms = frame.geometry.values
    if display == "gcj02":
        from gridmap.crs import wgs84_to_gcj02

        def shift(coords):
            lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
            return np.column_stack([lon, lat])

        geoms = shapely.transform(geoms, shift)
    # snap-rounding keeps polygons valid where plain rounding could make rings touch themselves;
    # simplification then only drops vertices, so its output stays on the rounded grid
    geoms = shapely.set_precision(geoms, 10.0**-DECIMALS)
    if zoom is not None and zoom < 17:
        half_pixel = 360.0 / (256 * 2**zoom) / 2
        geoms = shapely.simplify(geoms, half_pixel, preserve_topology=True)
    return frame.set_geometry(geoms, crs=frame.crs)


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
    """``grid:party`` → ("grid", "party"); unknown layers are a 404."""
    base, _, grid_layer = layer.partition(":")
    if (
        base not in LAYERS
        or LAYERS[base].geometry == "none"
        or (base == "grid") != bool(grid_layer)
    ):
        raise NotFoundError(f"没有图层 {layer}。", f"No layer {layer}.")
    if grid_layer and grid_layer not in grid_layers(conn):
        raise NotFoundError(f"没有网格图层 {grid_layer}。", f"No grid layer {grid_layer}.")
    return base, grid_layer or None


@router.get("/layers/{layer}/features", summary="图层要素 (GeoJSON) / features of a layer")
def features(
    layer: str,
    conn: ConnDep,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    zoom: Annotated[int | None, Query(ge=0, le=22, description="地图级别: 按半像素简化")] = None,
    display: Annotated[Literal["wgs84", "gcj02"], Query(description="显示坐标系")] = "wgs84",
) -> Response:
    base, grid_layer = resolve_layer(conn, layer)
    frame = read_features(conn, base, grid_layer=grid_layer, bbox=parse_bbox(bbox))
    if len(frame) > MAX_FEATURES:
        raise InputFileError(
            f"范围内要素过多 ({len(frame)})，请放大地图或缩小 bbox。",
            f"Too many features in the box ({len(frame)}); zoom in or narrow the bbox.",
        )
    frame = frame.drop(columns=["properties", "updated_at", "source"], errors="ignore")
    frame = for_display(frame, zoom, display)
    body = frame.to_json(na="null", drop_id=True, ensure_ascii=False)
    return Response(body, media_type="application/geo+json")


@router.get("/gaps", summary="最新分析的留白与问题 (GeoJSON) / gaps of the latest analysis")
def gaps(
    conn: ConnDep,
    kind: str | None = None,
    community: str | None = None,
    display: Literal["wgs84", "gcj02"] = "wgs84",
) -> Response:
    from gridmap.store.results import read_gaps

    frame = read_gaps(conn, kind=kind)
    frame = frame[frame.geometry.notna()]
    if community:
        frame = frame[frame["community_code"] == community]
    frame = for_display(frame, None, display)
    return Response(
        frame.to_json(na="null", drop_id=True, ensure_ascii=False),
        media_type="application/geo+json",
    )

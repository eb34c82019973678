"""Vector tiles of a layer (Mapbox Vector Tile, ``/api/tiles/{layer}/{z}/{x}/{y}.mvt``).

The map draws buildings at street level from them, and any tool that takes an XYZ vector tile
source (QGIS, MapLibre) can too, with an API token. A tile is the same for every user: it is kept
until the data change (in a cache of its own, :func:`gridmap.api.cache.kept`), so the many maps
looking at the same streets ask the database once per tile, and a browser holding a tile gets a
bodiless 304. An empty tile is written each time instead (finding nothing is cheap), so that
fields far off the city never push its streets out. PostGIS writes a tile itself
(``ST_AsMVT``); SpatiaLite's features, and the GCJ-02 display on either, are encoded by
:mod:`gridmap.maps.vector_tiles`. Members' homes are never a tile layer (``resolve_layer``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from gridmap.api.cache import Body, kept, packed, send
from gridmap.api.deps import EngineDep, on_connection
from gridmap.api.display import refuse_more_than
from gridmap.api.routes.features import MAX_FEATURES, resolve_layer
from gridmap.api.routes.params import CHECKED
from gridmap.api.security import require
from gridmap.crs import gcj02_to_wgs84, geometries_from_wgs84, shifted_box
from gridmap.errors import NotFoundError
from gridmap.maps import vector_tiles as vt
from gridmap.store.query import map_rows
from gridmap.store.tiles import postgis_tile

router = APIRouter(prefix="/api", tags=["features"], dependencies=[*CHECKED, require("view")])

MVT = vt.MEDIA_TYPE
KEPT_UP_TO = 17  # tiles of the zooms the map asks for are kept; closer ones (QGIS zoomed in
# on a doorway) are small, written each time, and never push the street level out


def _has_features(body: Body) -> bool:
    """Whether a tile is worth its place among the kept ones: one with no feature (no bytes,
    from either writer) is as cheap to write again as it is for the spatial index to find
    nothing."""
    return body.nbytes > 0


@router.get(
    "/tiles/{layer}/{z}/{x}/{y}.mvt",
    summary="矢量瓦片 (Mapbox Vector Tile) / vector tile of a layer",
    name="vector_tile",
    response_class=Response,
    responses={200: {"content": {MVT: {}}, "description": "瓦片；图层名同 layer / the tile"}},
)
async def vector_tile(
    layer: str,
    z: Annotated[int, Path(ge=0, le=22, description="级别 / zoom")],
    x: Annotated[int, Path(ge=0, description="列 / column")],
    y: Annotated[int, Path(ge=0, description="行（自北向南）/ row, from the north")],
    request: Request,
    engine: EngineDep,
    display: Annotated[Literal["wgs84", "gcj02"], Query(description="显示坐标系")] = "wgs84",
) -> Response:
    return await on_connection(
        engine, lambda conn: tile(conn, request, layer, z, x, y, display), reading=True
    )


def tile(conn, request: Request, layer: str, z: int, x: int, y: int, display: str) -> Response:
    """Tile ``z/x/y`` of ``layer`` as ``request`` takes it."""
    return send(request, kept_tile(conn, request, layer, z, x, y, display), MVT)


def kept_tile(conn, request: Request, layer: str, z: int, x: int, y: int, display: str) -> Body:
    """The kept tile ``z/x/y`` of ``layer`` (written now if it is not kept, and kept from now
    on if it has features); a tile off the grid is a 404 and one of more than
    :data:`MAX_FEATURES` features a 400 (zoom in)."""
    base, grid_layer = resolve_layer(conn, layer)
    if not vt.in_grid(z, x, y):
        raise NotFoundError(f"没有瓦片 {z}/{x}/{y}。", f"No tile {z}/{x}/{y}.")

    def make() -> bytes:
        return encoded(conn, base, grid_layer, layer, z, x, y, display)

    if z > KEPT_UP_TO:
        return packed(make())
    return kept(request, conn, ("tile", layer, z, x, y, display), make, among="tiles",
                keep_if=_has_features)  # fmt: skip


def encoded(conn, base: str, grid_layer: str | None, name: str, z: int, x: int, y: int, display: str) -> bytes:  # fmt: skip
    """The tile's bytes: written by PostGIS where it can, else read by box and encoded."""
    if conn.dialect.name == "postgresql" and display == "wgs84":
        data, count = postgis_tile(conn, base, z, x, y, name=name, grid_layer=grid_layer,
                                   extent=vt.EXTENT, buffer=vt.MARGIN, limit=MAX_FEATURES + 1)  # fmt: skip
        refuse_more_than(MAX_FEATURES, count)
        return data
    box = vt.tile_lonlat_bounds(z, x, y, vt.MARGIN / vt.EXTENT)
    if display == "gcj02":  # the stored box whose features, shifted, can meet the tile
        box = shifted_box(box, gcj02_to_wgs84, pad=1e-4)
    names, rows, geoms = map_rows(conn, base, grid_layer=grid_layer, bbox=box, limit=MAX_FEATURES + 1)  # fmt: skip
    refuse_more_than(MAX_FEATURES, len(rows))
    if display == "gcj02":
        geoms = geometries_from_wgs84(geoms, "gcj02")
    return vt.encode(name, names, rows, geoms, z, x, y)

"""The whole plan welded when the editor opens it (``weld_all``), for the whole plan at once, gives
exactly what welding one cell at a time gives: the same cells, the same vertices in the same
order. Plans painted from irregular units: seeded Voronoi tiles cut in two by a chord between
the middles of two edges, dissolved about ten at a time, so that cells meet in T-junctions; in
degrees near Chengdu (as plans are stored) and in metres, with a cell holding an enclave (a ring
of several cells around another) and one of two parts, with and without locked cells."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gridmap.core.coverage_edit import weld_all as reexported
from gridmap.core.weld import weld_all

WELD_DEGREES = 2e-8  # as the route welds
SIZE_M = 1200.0


def reference(cells: gpd.GeoDataFrame, tolerance: float, *, fixed=()) -> dict[str, object]:
    """``weld_all`` as first written: one cell at a time, its neighbours from a spatial index."""
    geoms = {str(c): g for c, g in zip(cells["code"], cells.geometry.values, strict=True)}
    geoms = {c: g for c, g in geoms.items() if g is not None and not g.is_empty}
    codes = list(geoms)
    if len(codes) < 2:
        return {}
    tree = shapely.STRtree(np.array([geoms[c] for c in codes], dtype=object))
    fixed = {str(f) for f in fixed}
    out = {}
    for code in codes:
        if code in fixed:
            continue
        near = [codes[i] for i in tree.query(geoms[code], predicate="dwithin", distance=tolerance)]
        others = np.array([geoms[c] for c in near if c != code], dtype=object)
        if not len(others):
            continue
        corners = np.unique(shapely.get_coordinates(others), axis=0)
        on = shapely.dwithin(shapely.points(corners), geoms[code].boundary, tolerance)
        welded = reference_with_corners(geoms[code], corners[on], tolerance)
        if welded is not None and shapely.is_valid(welded):
            out[code] = welded
    return out


def reference_with_corners(geom, corners: np.ndarray, tolerance: float):
    if not len(corners):
        return None
    gained = False

    def ring(coords: np.ndarray) -> np.ndarray:
        nonlocal gained
        a, b = coords[:-1], coords[1:]
        ab = b - a
        length2 = np.maximum((ab**2).sum(axis=1), 1e-300)
        t = np.clip(((corners[:, None, :] - a[None]) * ab[None]).sum(axis=2) / length2, 0, 1)
        foot = a[None] + t[..., None] * ab[None]
        gap = np.hypot(*(corners[:, None, :] - foot).transpose(2, 0, 1))
        seg = gap.argmin(axis=1)
        rows = np.arange(len(corners))
        vertex = np.hypot(*(corners[:, None, :] - coords[None, :-1]).transpose(2, 0, 1)).min(axis=1)  # fmt: skip
        take = (gap[rows, seg] <= tolerance) & (vertex > tolerance)
        if not take.any():
            return coords
        gained = True
        at, where, points = seg[take], t[rows, seg][take], foot[rows, seg][take]
        order = np.lexsort((where, at))
        return np.insert(coords, at[order] + 1, points[order], axis=0)

    def polygon(p):
        return shapely.Polygon(ring(shapely.get_coordinates(p.exterior)),
                               [ring(shapely.get_coordinates(h)) for h in p.interiors])  # fmt: skip

    parts = [polygon(p) for p in shapely.get_parts(geom)]
    if not gained:
        return None
    return shapely.MultiPolygon(parts) if geom.geom_type == "MultiPolygon" else parts[0]


def halves(tile, rng: np.random.Generator) -> list:
    ring = shapely.get_coordinates(tile.exterior)[:-1]
    n = len(ring)
    a = int(rng.integers(n // 2))
    b = a + n // 2
    mid_a, mid_b = (ring[a] + ring[(a + 1) % n]) / 2, (ring[b] + ring[(b + 1) % n]) / 2
    cut = [shapely.Polygon([mid_a, *ring[a + 1 : b + 1], mid_b]),
           shapely.Polygon([mid_b, *ring[b + 1 :], *ring[: a + 1], mid_a])]  # fmt: skip
    return cut if all(p.is_valid and p.area > 0.01 * tile.area for p in cut) else [tile]


def painted_plan(seed: int, *, degrees: bool, n_units: int = 400) -> gpd.GeoDataFrame:
    """Cells dissolved from Voronoi half-tiles (metres on a 1/64 m grid, so that a chord's end
    lies exactly on the neighbour's edge), then a ring of cells merged around an enclave and two
    cells apart merged into one of two parts."""
    rng = np.random.default_rng(seed)
    square = shapely.box(0, 0, SIZE_M, SIZE_M)
    sites = shapely.multipoints(rng.uniform(0, SIZE_M, (n_units // 2, 2)))
    tiles = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(sites, extend_to=square)), square)  # fmt: skip
    edges = shapely.set_precision(shapely.segmentize(shapely.union_all(shapely.boundary(tiles)), 15.0), 1 / 64)  # fmt: skip
    tiles = shapely.normalize(shapely.get_parts(shapely.polygonize(shapely.get_parts(edges))))
    units = np.array([h for t in tiles for h in halves(t, rng)], dtype=object)
    seeds = shapely.points(rng.uniform(0, SIZE_M, (len(units) // 10, 2)))
    unit, cell = shapely.STRtree(seeds).query_nearest(shapely.centroid(units), all_matches=False)
    geoms = [shapely.union_all(units[unit[cell == k]]) for k in np.unique(cell)]
    middle = int(np.argmin(shapely.distance(shapely.centroid(geoms), shapely.Point(SIZE_M / 2, SIZE_M / 2))))  # fmt: skip
    around = [k for k, g in enumerate(geoms) if k != middle and shapely.intersects(g, geoms[middle])]  # fmt: skip
    apart = [k for k in range(len(geoms)) if k != middle and k not in around][:2]
    merged = [shapely.union_all([geoms[k] for k in around]), shapely.union_all([geoms[k] for k in apart])]  # fmt: skip
    rest = [g for k, g in enumerate(geoms) if k not in around and k not in apart]
    geoms = np.array([*merged, *rest], dtype=object)
    assert shapely.get_num_interior_rings(geoms[0]) == 1 and geoms[1].geom_type == "MultiPolygon"
    if degrees:
        scale = np.array([111_000.0 * np.cos(np.radians(30.6)), 111_000.0])
        geoms = shapely.transform(geoms, lambda xy: np.array([104.0, 30.6]) + xy / scale)
    # stored as plans store cells: each a MultiPolygon, most of them of one part
    geoms = [shapely.MultiPolygon(shapely.get_parts(g)) for g in geoms]
    codes = [f"G{k:03d}" for k in rng.permutation(len(geoms))]
    return gpd.GeoDataFrame({"code": codes}, geometry=geoms, crs=4326 if degrees else 32648)


def assert_identical(got: dict, expected: dict) -> None:
    assert list(got) == list(expected)
    for code, geom in expected.items():
        assert shapely.equals_exact(got[code], geom, 0.0), code
        assert got[code].geom_type == geom.geom_type, code
        assert np.array_equal(shapely.get_coordinates(got[code]), shapely.get_coordinates(geom)), code  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("degrees", [True, False])
def test_welding_the_whole_plan_at_once_gives_what_one_cell_at_a_time_gives(seed, degrees):
    cells = painted_plan(seed, degrees=degrees)
    tolerance = WELD_DEGREES if degrees else 2e-3
    expected = reference(cells, tolerance)
    assert len(expected) > len(cells) // 2  # painted cells meet in T-junctions
    kinds = {c: (len(shapely.get_parts(g)), int(shapely.get_num_interior_rings(shapely.get_parts(g)).sum())) for c, g in zip(cells["code"], cells.geometry.values, strict=True)}  # fmt: skip
    assert {c for c, (parts, holes) in kinds.items() if parts > 1 or holes} <= set(expected)
    assert_identical(weld_all(cells, tolerance), expected)


@pytest.mark.parametrize("seed", [4, 5])
def test_locked_cells_only_lend_their_corners_as_one_cell_at_a_time(seed):
    cells = painted_plan(seed, degrees=True)
    rng = np.random.default_rng(seed)
    fixed = list(rng.choice(cells["code"], size=len(cells) // 3, replace=False))
    expected = reference(cells, WELD_DEGREES, fixed=fixed)
    got = weld_all(cells, WELD_DEGREES, fixed=fixed)
    assert not set(got) & set(fixed)
    assert_identical(got, expected)


def test_welded_cells_keep_their_ground_and_a_second_weld_finds_nothing_left():
    cells = painted_plan(6, degrees=False)
    welded = weld_all(cells, 2e-3)
    geoms = {c: welded.get(c, g) for c, g in zip(cells["code"], cells.geometry.values, strict=True)}  # fmt: skip
    for code, geom in welded.items():
        before = cells.geometry.values[list(cells["code"]).index(code)]
        assert geom.area == pytest.approx(before.area, rel=1e-12)
    assert weld_all(gpd.GeoDataFrame({"code": list(geoms)}, geometry=list(geoms.values()), crs=32648), 2e-3) == {}  # fmt: skip


def test_welding_is_still_imported_from_the_edit_checks():
    assert reexported is weld_all


def test_a_corner_where_two_parts_of_a_cell_touch_is_put_on_the_other_part_too():
    # A's parts touch at (2, 1): a vertex of its eastern part and of B and C, on its western
    # part's edge; welding makes it a vertex of the western part as well
    east = shapely.Polygon([(2, 1), (4, 0), (4, 2)])
    a = shapely.MultiPolygon([shapely.box(0, 0, 2, 2), east])
    b, c = shapely.Polygon([(2, 0), (4, 0), (2, 1)]), shapely.Polygon([(2, 1), (4, 2), (2, 2)])
    cells = gpd.GeoDataFrame({"code": ["A", "B", "C"]}, geometry=[a, b, c], crs=32648)
    got = weld_all(cells, 1e-9)
    assert_identical(got, reference(cells, 1e-9))
    assert shapely.get_coordinates(shapely.get_parts(got["A"])[0]).tolist() == [[2, 0], [2, 1], [2, 2], [0, 2], [0, 0], [2, 0]]  # fmt: skip


def test_two_corners_on_one_edge_go_in_along_it():
    # B's western edge runs south from (4, 3): (4, 2) comes before (4, 1), though it sorts after
    west = [shapely.box(0, 0, 4, 1), shapely.box(0, 1, 4, 2), shapely.box(0, 2, 4, 3)]
    cells = gpd.GeoDataFrame({"code": ["A1", "A2", "A3", "B"]}, geometry=[*west, shapely.box(4, 0, 8, 3)])  # fmt: skip
    got = weld_all(cells, 1e-9)
    assert_identical(got, reference(cells, 1e-9))
    assert got["B"].wkt == "POLYGON ((8 0, 8 3, 4 3, 4 2, 4 1, 4 0, 8 0))"

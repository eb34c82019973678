"""The polygons of a geometry, kept in one place (gridmap/io/polygons.py) for the readers, the
stored layers, the editor's checks, the unit fabric and the grid proposal."""

from __future__ import annotations

import shapely
from shapely import GeometryCollection, LineString, MultiPolygon, Point, Polygon, box

from gridmap.io.polygons import polygons_of


def test_lines_points_and_polygons_of_no_area_are_dropped_at_any_depth():
    flat = Polygon([(5, 5), (6, 6), (7, 7)])  # a polygon with no area
    deep = GeometryCollection(
        [GeometryCollection([GeometryCollection([box(0, 0, 1, 1)]), LineString([(0, 0), (3, 3)])]),
         Point(9, 9), flat, MultiPolygon([box(2, 2, 3, 3)])]
    )  # fmt: skip
    out = polygons_of(deep)
    assert out.geom_type == "MultiPolygon"
    assert sorted(g.bounds for g in out.geoms) == [(0, 0, 1, 1), (2, 2, 3, 3)]
    assert polygons_of(LineString([(0, 0), (1, 1)])).equals(Polygon())


def test_without_a_dust_threshold_every_piece_hole_and_vertex_is_kept():
    holed = Polygon(box(0, 0, 10, 10).exterior, [box(2, 2, 2.01, 2.01).exterior])
    sliver = box(20, 0, 20.01, 0.01)
    out = polygons_of(GeometryCollection([holed, sliver, LineString([(0, 0), (1, 1)])]))
    assert shapely.to_wkb(out) == shapely.to_wkb(MultiPolygon([holed, sliver]))


def test_with_a_dust_threshold_small_pieces_and_holes_go_and_large_holes_stay():
    holed = Polygon(box(0, 0, 10, 10).exterior, [box(2, 2, 2.01, 2.01).exterior,
                                                 box(5, 5, 6, 6).exterior])  # fmt: skip
    out = polygons_of(MultiPolygon([holed, box(20, 0, 20.01, 0.01)]), min_area_m2=1e-3)
    assert out.geom_type == "Polygon" and len(out.interiors) == 1
    assert out.area == 99.0


def test_with_a_dust_threshold_overlapping_pieces_of_a_collection_come_back_valid():
    out = polygons_of(GeometryCollection([box(0, 0, 2, 2), box(1, 0, 3, 2)]), min_area_m2=1e-3)
    assert out.is_valid and out.area == 6.0
    plain = box(0, 0, 1, 1)
    assert polygons_of(plain, min_area_m2=1e-3) is plain  # nothing to drop: as it came

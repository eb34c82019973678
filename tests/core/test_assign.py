"""Members placed in buildings: inside, snapped within the distance, or unplaced."""

from __future__ import annotations

import geopandas as gpd
from shapely import Point, box

from gridmap.config import Settings
from gridmap.core.assign import assign_points


def test_inside_snapped_at_9_m_and_unassigned_at_11_m():
    buildings = gpd.GeoDataFrame(
        {"code": ["B1", "B2"]}, geometry=[box(0, 0, 20, 10), box(100, 0, 120, 10)], crs=4544
    )
    points = gpd.GeoDataFrame({"code": ["in", "nine", "eleven", "edge"]},
                              geometry=[Point(5, 5), Point(29, 5), Point(131, 5), Point(20, 5)], crs=4544)  # fmt: skip
    table = assign_points(points, buildings, Settings())
    assert table[["code", "building_code", "how"]].values.tolist() == [
        ["in", "B1", "inside"], ["nine", "B1", "snapped"], ["eleven", None, "unplaced"], ["edge", "B1", "snapped"],
    ]  # fmt: skip
    assert table["distance_m"].tolist() == [0.0, 9.0, 11.0, 0.0]


def test_snap_distance_is_a_setting():
    buildings = gpd.GeoDataFrame({"code": ["B1"]}, geometry=[box(0, 0, 20, 10)], crs=4544)
    points = gpd.GeoDataFrame({"code": ["p"]}, geometry=[Point(35, 5)], crs=4544)
    assert assign_points(points, buildings, Settings(member_snap_distance_m=20))[
        "how"
    ].tolist() == ["snapped"]

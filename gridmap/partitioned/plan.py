"""Partitions of a run: which communities each holds, its box, its halo, who owns a feature.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point, box
>>> c = gpd.GeoDataFrame({"code": ["C1", "C2"], "subdistrict_code": ["S2", "S1"]},
...                      geometry=[box(104, 30, 104.01, 30.01), box(104.01, 30, 104.02, 30.01)], crs=4326)
>>> parts = plan_partitions(c, "subdistrict")
>>> [(p.key, p.communities) for p in parts]
[('S1', ('C2',)), ('S2', ('C1',))]
>>> owners(np.array([Point(104.005, 30.005), Point(104.03, 30.005), None]), parts).tolist()
[1, 0, 0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from gridmap.config import Settings
from gridmap.errors import InputFileError

BY = ("subdistrict", "community")
METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Partition:
    """One task's share: its key (a subdistrict or community code), communities and box."""

    key: str
    communities: tuple[str, ...]
    box: tuple[float, float, float, float]  # lon/lat bounds of its communities


def plan_partitions(communities: gpd.GeoDataFrame, by: str) -> list[Partition]:
    """The partitions of ``communities`` (EPSG:4326) by ``subdistrict`` or ``community``,
    ordered by key."""
    if by not in BY:
        raise InputFileError(
            f"分区方式只能是 {' 或 '.join(BY)}，而不是 {by}。",
            f"Partition by {' or '.join(BY)}, not {by}.",
        )
    column = "subdistrict_code" if by == "subdistrict" else "code"
    keys = communities.get(column)
    if keys is None or keys.isna().any() or (keys.astype(str) == "").any():
        missing = (
            communities["code"][keys.isna() | (keys.astype(str) == "")]
            if keys is not None
            else communities["code"]
        )
        raise InputFileError(
            f"按街道分区需要每个社区的所属街道编码；缺少的社区: {', '.join(missing.head(5))}。",
            f"Partitioning by subdistrict needs every community's subdistrict code; "
            f"missing for: {', '.join(missing.head(5))}.",
        )  # fmt: skip
    out = []
    for key, group in communities.groupby(keys.astype(str), sort=True):
        bounds = shapely.total_bounds(group.geometry.values)
        out.append(Partition(str(key), tuple(sorted(group["code"])), tuple(map(float, bounds))))
    return out


def halo_metres(settings: Settings) -> float:
    """How far beyond what it reads a partition looks for stations: their walking reach (the
    farthest any rule looks across a border), plus a margin."""
    return max(settings.station_radius_m, settings.member_snap_distance_m) + 100.0


def halo_box(box: tuple[float, float, float, float], metres: float) -> tuple[float, ...]:
    """``box`` grown by at least ``metres`` on every side (degrees of longitude shrink
    towards the poles, so the box's side farther from the equator sets the growth)."""
    x0, y0, x1, y1 = box
    dy = metres / METRES_PER_DEGREE * 1.01
    cos = math.cos(math.radians(min(89.0, max(abs(y0), abs(y1)) + dy)))
    dx = dy / cos
    return (x0 - dx, y0 - dy, x1 + dx, y1 + dy)


def owners(geometries: np.ndarray, partitions: list[Partition]) -> np.ndarray:
    """The index of the partition that owns each geometry placed in no community: the first
    whose box holds its representative point, else the nearest box; none (no geometry): 0."""
    out = np.zeros(len(geometries), dtype=np.int64)
    present = np.flatnonzero(~shapely.is_missing(geometries) & ~shapely.is_empty(geometries))
    if not len(present) or not partitions:
        return out
    points = shapely.point_on_surface(geometries[present])
    boxes = shapely.box(*np.array([p.box for p in partitions]).T)
    tree = shapely.STRtree(boxes)
    point_at, box_at = tree.query(points, predicate="intersects")
    first = np.full(len(points), -1, dtype=np.int64)
    # the smallest box index per point: pairs sorted by box, first write per point wins
    order = np.lexsort((box_at, point_at))
    point_at, box_at = point_at[order], box_at[order]
    leading = np.r_[True, point_at[1:] != point_at[:-1]] if len(point_at) else np.array([], bool)
    first[point_at[leading]] = box_at[leading]
    lost = np.flatnonzero(first < 0)
    if len(lost):
        near_point, near_box = tree.query_nearest(points[lost], all_matches=False)
        first[lost[near_point]] = near_box
    out[present] = first
    return out

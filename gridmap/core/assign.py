"""Points → buildings (落位): members and other household points placed in the building they live in.

Containment first; a point within ``settings.member_snap_distance_m`` of a building wall snaps to
the nearest building; farther points stay unassigned, with their distance. Inputs in a metric CRS.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point, box
>>> from gridmap.config import Settings
>>> b = gpd.GeoDataFrame({"code": ["B1"]}, geometry=[box(0, 0, 20, 10)], crs=4544)
>>> p = gpd.GeoDataFrame({"code": ["in", "near", "far"]}, geometry=[Point(5, 5), Point(29, 5), Point(31, 5)], crs=4544)
>>> assign_points(p, b, Settings())[["code", "building_code", "how", "distance_m"]].values.tolist()
[['in', 'B1', 'inside', 0.0], ['near', 'B1', 'snapped', 9.0], ['far', None, 'unassigned', 11.0]]
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.config import Settings


def assign_points(
    points: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, settings: Settings
) -> pd.DataFrame:
    """One row per point: ``code, building_code, how ('inside'|'snapped'|'unassigned'), distance_m``."""
    geoms = points.geometry.values
    tree_codes = buildings["code"].to_numpy()
    # "within" queried the other way round, as geopandas' sjoin does: each building is prepared
    # once and tested against a tree of points, instead of preparing a million points
    right, left = points.sindex.query(buildings.geometry.values, predicate="contains")
    building = np.full(len(points), None, dtype=object)
    distance = np.zeros(len(points))
    how = np.full(len(points), "inside", dtype=object)
    first = ~pd.Series(left).duplicated().to_numpy()
    building[left[first]] = tree_codes[right[first]]
    rest = np.flatnonzero(pd.isna(building))
    if len(rest):
        (near_left, near_right), dist = buildings.sindex.nearest(
            geoms[rest], return_distance=True, return_all=False
        )
        distance[rest[near_left]] = dist
        close = dist <= settings.member_snap_distance_m
        building[rest[near_left[close]]] = tree_codes[near_right[close]]
        how[rest] = "unassigned"
        how[rest[near_left[close]]] = "snapped"
    out = pd.DataFrame({"code": points["code"].to_numpy(), "building_code": pd.Series(building, dtype=object),
                        "how": how, "distance_m": np.round(distance, 2)})  # fmt: skip
    out["building_code"] = (
        out["building_code"].astype(object).where(out["building_code"].notna(), None)
    )
    return out


def member_counts(members: pd.DataFrame, key: str) -> pd.DataFrame:
    """Members per ``key`` (a column such as compound_code): full, probationary, total.

    One row per ``key`` value with a member of any category, in sorted order (as ``pd.crosstab``
    gives it, counted with ``np.bincount``).
    """
    table = members[members[key].notna() & members["category"].notna()]
    codes, keys = pd.factorize(table[key].to_numpy(dtype=object), sort=True)
    category = table["category"].to_numpy()
    counts = pd.DataFrame(
        {
            c: np.bincount(codes, weights=category == c, minlength=len(keys)).astype(np.int64)
            for c in ("full", "probationary")
        },
        index=pd.Index(list(keys), name=key, dtype=None if len(keys) else table[key].dtype),
    )
    counts.columns.name = "category"
    counts["total"] = counts["full"] + counts["probationary"]
    return counts

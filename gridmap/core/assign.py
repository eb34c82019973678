"""Points → buildings (落位): members and other household points placed in the building they live in.

Containment first; a point within ``settings.member_snap_distance_m`` of a building wall snaps to
the nearest building; farther points stay unplaced (未落位), with their distance. Inputs in a
metric CRS. A member is counted, in every figure, where this places them: in the building, and
so in the compound, grid cell and community of that building (households are counted by
building too), never by where the home point falls among the cells.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point, box
>>> from gridmap.config import Settings
>>> b = gpd.GeoDataFrame({"code": ["B1"]}, geometry=[box(0, 0, 20, 10)], crs=4544)
>>> p = gpd.GeoDataFrame({"code": ["in", "near", "far"]}, geometry=[Point(5, 5), Point(29, 5), Point(31, 5)], crs=4544)
>>> assign_points(p, b, Settings())[["code", "building_code", "how", "distance_m"]].values.tolist()
[['in', 'B1', 'inside', 0.0], ['near', 'B1', 'snapped', 9.0], ['far', None, 'unplaced', 11.0]]
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from pandas.api.extensions import take

from gridmap.config import Settings


def assign_points(
    points: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, settings: Settings
) -> pd.DataFrame:
    """One row per point: ``code, building_code, how ('inside'|'snapped'|'unplaced'), distance_m``
    and ``home``, the row of ``buildings`` it is placed in (-1: none)."""
    geoms = points.geometry.values
    tree_codes = buildings["code"].to_numpy()
    # "within" queried the other way round, as geopandas' sjoin does: each building is prepared
    # once and tested against a tree of points, instead of preparing a million points
    right, left = points.sindex.query(buildings.geometry.values, predicate="contains")
    building = np.full(len(points), None, dtype=object)
    home = np.full(len(points), -1, dtype=np.int64)
    distance = np.zeros(len(points))
    how = np.full(len(points), "inside", dtype=object)
    first = ~pd.Series(left).duplicated().to_numpy()
    building[left[first]] = tree_codes[right[first]]
    home[left[first]] = right[first]
    rest = np.flatnonzero(pd.isna(building))
    if len(rest):
        (near_left, near_right), dist = buildings.sindex.nearest(
            geoms[rest], return_distance=True, return_all=False
        )
        distance[rest[near_left]] = dist
        close = dist <= settings.member_snap_distance_m
        building[rest[near_left[close]]] = tree_codes[near_right[close]]
        home[rest[near_left[close]]] = near_right[close]
        how[rest] = "unplaced"
        how[rest[near_left[close]]] = "snapped"
    out = pd.DataFrame({"code": points["code"].to_numpy(), "building_code": pd.Series(building, dtype=object),
                        "how": how, "distance_m": np.round(distance, 2), "home": home})  # fmt: skip
    out["building_code"] = (
        out["building_code"].astype(object).where(out["building_code"].notna(), None)
    )
    return out


PLACEMENT_COLUMNS = ["code", "category", "building_code", "how", "distance_m", "home"]


def place_members(
    members: gpd.GeoDataFrame | None, buildings: gpd.GeoDataFrame, settings: Settings
) -> pd.DataFrame:
    """Every member placed once (:func:`assign_points`), with their ``category``: the one
    placement the analysis stores and every count of members per place is made from.
    ``None`` (no member layer): no rows."""
    if members is None or members.empty:
        return pd.DataFrame({c: pd.Series([], dtype=np.int64 if c == "home" else object)
                             for c in PLACEMENT_COLUMNS})  # fmt: skip
    placed = assign_points(members, buildings, settings)
    placed.insert(1, "category", members["category"].to_numpy())
    return placed[PLACEMENT_COLUMNS]


def counts_by_placement(placed: pd.DataFrame, unit_of_building: np.ndarray) -> pd.DataFrame:
    """Full, probationary and total members per unit, each member counted in the unit of the
    building :func:`place_members` placed them in (``unit_of_building``: each building row's
    unit code, e.g. its unified cell); members placed in no building count nowhere."""
    home = placed["home"].to_numpy(dtype=np.int64)
    units = np.asarray(unit_of_building, dtype=object)
    unit = take(units, home, allow_fill=True, fill_value=None) if len(units) else np.full(len(home), None)  # fmt: skip
    return member_counts(pd.DataFrame({"unit": unit, "category": placed["category"].to_numpy()}), "unit")  # fmt: skip


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

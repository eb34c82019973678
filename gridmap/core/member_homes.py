"""Where each member lives, as a building (落位), for counting members per drawn cell.

A member counts in the cell of the building they are placed in, with its households, as the
analysis counts them in every figure: by the placement it stored (:mod:`gridmap.store.placement`,
read into a :data:`PLACED` column) when the caller has it, otherwise by the same rule
(:func:`gridmap.core.assign.assign_points`) applied to the buildings at hand. Never by which cell
the home point falls in: a member snapped to a building across a border counts on the
building's side, and one placed in no building counts nowhere.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.config import Settings
from gridmap.core.assign import assign_points

SNAP_M = Settings.model_fields["member_snap_distance_m"].default
# The analysis' placement read into the members' frame. Not the roster's own ``building_code``
# (所住楼栋, as imported): that one is input, often empty, and placing may overrule it.
PLACED = "placed_building_code"


def stored_homes(buildings: gpd.GeoDataFrame, members: gpd.GeoDataFrame) -> np.ndarray | None:
    """Each member's building as a row of ``buildings`` (-1: placed in none of them), from the
    stored placement in the members' :data:`PLACED` column; ``None`` when they have none (the
    roster's own ``building_code`` is not a placement and is not read).

    >>> from shapely import Point, box
    >>> b = gpd.GeoDataFrame({"code": ["B1", "B2"]}, geometry=[box(0, 0, 1, 1), box(2, 0, 3, 1)])
    >>> m = gpd.GeoDataFrame({PLACED: ["B2", None, "B9"]}, geometry=[Point(0, 0)] * 3)
    >>> stored_homes(b, m).tolist()
    [1, -1, -1]
    >>> stored_homes(b, m.rename(columns={PLACED: "building_code"})) is None
    True
    """
    if PLACED not in members:
        return None
    index = pd.Index(buildings["code"].to_numpy(dtype=object))
    return index.get_indexer(members[PLACED].to_numpy(dtype=object)).astype(np.int64)


def placed_homes(building_geoms, member_geoms, snap_distance_m: float = SNAP_M) -> np.ndarray:
    """Each member's building as a row of ``building_geoms`` (-1: none), placed by the rule the
    analysis stores (:func:`gridmap.core.assign.assign_points`: inside, else the nearest within
    ``snap_distance_m``)."""
    member_geoms = np.asarray(member_geoms, dtype=object)
    building_geoms = np.asarray(building_geoms, dtype=object)
    if not len(member_geoms) or not len(building_geoms):
        return np.full(len(member_geoms), -1, dtype=np.int64)
    points = gpd.GeoDataFrame({"code": np.arange(len(member_geoms))}, geometry=member_geoms)
    buildings = gpd.GeoDataFrame({"code": np.arange(len(building_geoms))}, geometry=building_geoms)
    rule = Settings.model_construct(member_snap_distance_m=snap_distance_m)
    return assign_points(points, buildings, rule)["home"].to_numpy(dtype=np.int64)


def cells_of_homes(building_cell: np.ndarray, member_home: np.ndarray) -> np.ndarray:
    """Each member's cell: the cell of the building they are placed in (-1: none)."""
    cell = np.full(len(member_home), -1, dtype=np.int64)
    placed = member_home >= 0
    cell[placed] = building_cell[member_home[placed]]
    return cell

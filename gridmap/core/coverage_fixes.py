"""The editor's one-click fixes (贴合小区边界, 裁到社区内, 并入相邻网格) held to the same tiling
check as a free edit (:func:`gridmap.core.coverage_edit.check_edit`).

A fix may claim ground no cell holds that lies in a community (filling 留白 is its point), and may
let go of ground outside every community; anything else it leaves to no cell is 留白 and refuses
it, as is a new overlap or a change to a locked cell. Clipping a cell to its community cuts off
ground that may be another community's: :func:`clip_giving_cut_off` gives each cut-off piece to
the neighbouring cell with the longest border on it, as filling a gap does.

Pure functions on GeoDataFrames with ``code`` and polygons in one metric CRS.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import pandas as pd
import shapely

from gridmap.core import plans
from gridmap.core.coverage_edit import EDIT_TOLERANCE_M2, EditCheck, check_edit
from gridmap.io.polygons import polygons_of


def clip_giving_cut_off(cells: gpd.GeoDataFrame, code: str, communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:  # fmt: skip
    """Cell ``code`` clipped to its main community, each piece cut off (inside a community)
    joining the neighbouring cell with the longest border on it. Returns the changed cells.

    >>> from shapely import box
    >>> cells = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[box(0, 0, 12, 10), box(12, 0, 20, 10)], crs=32648)  # fmt: skip
    >>> communities = gpd.GeoDataFrame({"code": ["S1", "S2"]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=32648)  # fmt: skip
    >>> out = clip_giving_cut_off(cells, "A", communities)
    >>> [(c, g.area) for c, g in zip(out["code"], out.geometry)]
    [('A', 100.0), ('B', 100.0)]
    """
    cells = cells.reset_index(drop=True)
    at = cells.index[cells["code"].astype(str) == str(code)]
    if len(at) == 0:
        return cells.iloc[:0]
    old = cells.geometry.iloc[at[0]]
    clipped = polygons_of(plans.clip_to_community(old, communities))
    changed = cells.iloc[[at[0]]].copy()
    changed.geometry = [clipped]
    ground = shapely.union_all(communities.geometry.values)
    cut_off = polygons_of(shapely.intersection(shapely.difference(old, clipped), ground))
    others = cells.drop(index=at[0])
    given = plans.fill_gap(others, cut_off) if not cut_off.is_empty and len(others) else others.iloc[:0]  # fmt: skip
    return gpd.GeoDataFrame(pd.concat([changed, given]), geometry="geometry", crs=cells.crs)


def check_fix(
    cells: gpd.GeoDataFrame,
    changed: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    *,
    locked: Iterable[str] = (),
) -> EditCheck:
    """Whether the fix giving ``changed`` (some of ``cells``, reshaped) keeps the cells a tiling
    within the communities' ground (see the module's text).

    >>> from shapely import box
    >>> communities = gpd.GeoDataFrame({"code": ["S1"]}, geometry=[box(0, 0, 30, 10)], crs=32648)
    >>> cells = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[box(0, 0, 10, 10), box(12, 0, 30, 10)], crs=32648)  # fmt: skip
    >>> check_fix(cells, cells.iloc[[0]].assign(geometry=[box(0, 0, 12, 10)]), communities).ok
    True
    >>> list(check_fix(cells, cells.iloc[[0]].assign(geometry=[box(0, 0, 5, 10)]), communities).problems["kind"])
    ['edit_gap']
    """
    ground = shapely.union_all(communities.geometry.values)
    before = cells[["code", "geometry"]].reset_index(drop=True)
    new = dict(zip(changed["code"].astype(str), changed.geometry.values, strict=True))
    after = before.assign(geometry=[new.get(str(c), g) for c, g in zip(before["code"], before.geometry.values, strict=True)])  # fmt: skip
    unheld = shapely.difference(ground, shapely.union_all(before.geometry.values))

    def within(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        return frame.assign(geometry=[polygons_of(shapely.intersection(g, ground)) for g in frame.geometry.values])  # fmt: skip

    check = check_edit(within(before), within(after), locked=locked)
    problems = check.problems
    if len(problems):  # ground no cell held, inside a community: a fix may take it
        claimed = (problems["kind"] == "edit_outside").to_numpy() & (
            shapely.area(shapely.difference(problems.geometry.values, shapely.buffer(unheld, 0.01)))
            <= EDIT_TOLERANCE_M2
        )
        problems = problems[~claimed].reset_index(drop=True)
    return EditCheck(problems, check.changed)

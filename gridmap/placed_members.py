"""Members with the building the latest analysis placed them in (落位), for every reader that
counts members per cell: the editor's figures, a plan's diff, plan exports and the comparison.

The analysis stores each member's placement with its run (:mod:`gridmap.store.placement`);
readers attach it as the :data:`gridmap.core.member_homes.PLACED` column, which
:func:`gridmap.core.plans.cell_figures` and :func:`gridmap.core.plans.diff` follow. Members the
run does not know (loaded since) are placed by the rule
(:func:`gridmap.core.member_homes.placed_homes`); before any analysis, or when members or
buildings changed since it, nothing is attached and every member is placed by the rule.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Connection

from gridmap.core.member_homes import PLACED, placed_homes
from gridmap.crs import metric_crs_for
from gridmap.layers import STORAGE_CRS
from gridmap.store.placement import changed_since, placements_of
from gridmap.store.results import latest_run


def stored_member_homes(conn: Connection, member_codes: Sequence, updated: Sequence, building_codes: Sequence, bbox) -> np.ndarray | None:  # fmt: skip
    """Each member's building as a row of ``building_codes`` as the latest analysis stored it
    (-1: placed in none of them), -2 where the run placed the member nowhere it knows of (a member
    loaded since); ``None`` when there is no analysis yet or members or buildings in ``bbox``
    (lon/lat) changed since it — then the caller places them by the rule."""
    run = latest_run(conn, "analyze")
    if run is None or not len(member_codes):
        return None
    if changed_since(conn, run, pd.Series(list(updated), dtype=object), bbox):
        return None
    stored = placements_of(conn, run, list(member_codes))["building_code"]
    index = pd.Index(np.asarray(building_codes, dtype=object))
    known = pd.Index(np.asarray(member_codes, dtype=object)).isin(stored.index)
    homes = np.full(len(member_codes), -2, dtype=np.int64)
    codes = np.asarray(member_codes, dtype=object)[known]
    homes[known] = index.get_indexer(stored.reindex(codes).to_numpy(dtype=object))
    return homes


def with_placements(conn: Connection, members: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:  # fmt: skip
    """``members`` (with ``updated_at``) with the building the latest analysis placed each in
    (:data:`PLACED`, a code of ``buildings``, ``None``: none), by the rule for members the run
    does not know; ``members`` unchanged before any analysis or after a change since it (the
    bounds of ``buildings`` are checked). Any one CRS for both frames."""
    if members.empty or buildings.empty or "updated_at" not in members:
        return members
    bbox = tuple(buildings.to_crs(STORAGE_CRS).total_bounds)
    codes = buildings["code"].to_numpy(dtype=object)
    homes = stored_member_homes(conn, members["code"].to_numpy(), members["updated_at"].to_numpy(), codes, bbox)  # fmt: skip
    if homes is None:
        return members
    unknown = homes == -2
    if unknown.any():
        crs = metric_crs_for(buildings)
        homes[unknown] = placed_homes(buildings.to_crs(crs).geometry.values, members[unknown].to_crs(crs).geometry.values)  # fmt: skip
    return members.assign(**{PLACED: [codes[h] if h >= 0 else None for h in homes]})

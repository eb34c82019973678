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


def _known_homes(conn: Connection, member_codes, updated, building_codes, bbox, rule) -> np.ndarray | None:  # fmt: skip
    """:func:`stored_member_homes` with the members the run does not know placed by
    ``rule(which)`` (their homes, for a boolean mask of the members); ``None`` when nothing
    stored may be used."""
    homes = stored_member_homes(conn, member_codes, updated, building_codes, bbox)
    if homes is None:
        return None
    unknown = homes == -2
    if unknown.any():
        homes[unknown] = rule(unknown)
    return homes


def member_homes(conn: Connection, member_codes: Sequence, updated: Sequence, building_codes: Sequence, bbox, building_geoms, member_geoms) -> np.ndarray:  # fmt: skip
    """Each member's building as a row of ``building_codes`` (-1: none): as the latest analysis
    stored it, by the rule (:func:`gridmap.core.member_homes.placed_homes`) for members it does
    not know, and for all before any analysis or after a change in ``bbox`` (lon/lat) since it.
    The geometries are in one metric CRS. The editor's live figures call this on raw arrays;
    frames go through :func:`with_placements`."""
    member_geoms = np.asarray(member_geoms, dtype=object)
    homes = _known_homes(conn, member_codes, updated, building_codes, bbox, lambda which: placed_homes(building_geoms, member_geoms[which]))  # fmt: skip
    return placed_homes(building_geoms, member_geoms) if homes is None else homes


def with_placements(conn: Connection, members: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame, bbox=None) -> gpd.GeoDataFrame:  # fmt: skip
    """``members`` (with ``updated_at``) with the building the latest analysis placed each in
    (:data:`PLACED`, a code of ``buildings``, ``None``: none), by the rule for members the run
    does not know; ``members`` unchanged before any analysis or after a change since it, in
    ``bbox`` (lon/lat; the bounds of ``buildings`` when not given). Any one CRS for both frames:
    a geographic one is projected for the rule, a metric one used as it is."""
    if members.empty or buildings.empty or "updated_at" not in members:
        return members
    if bbox is None:
        bbox = tuple(buildings.to_crs(STORAGE_CRS).total_bounds)

    def rule(which: np.ndarray) -> np.ndarray:
        if buildings.crs is None or not buildings.crs.is_geographic:
            return placed_homes(buildings.geometry.values, members.geometry.values[which])
        crs = metric_crs_for(buildings)
        return placed_homes(buildings.to_crs(crs).geometry.values, members[which].to_crs(crs).geometry.values)  # fmt: skip

    codes = buildings["code"].to_numpy(dtype=object)
    homes = _known_homes(conn, members["code"].to_numpy(), members["updated_at"].to_numpy(), codes, bbox, rule)  # fmt: skip
    if homes is None:
        return members
    return members.assign(**{PLACED: [codes[h] if h >= 0 else None for h in homes]})

"""What a partition owns of its analysis: the results about its communities, and its share of
what lies in no community (by :func:`gridmap.partitioned.plan.owners`).

The halo makes the analysis of a partition see everything its own features depend on; what it
found about the halo's features belongs to their own partitions and is dropped here. Besides the
rows it keeps, a partition reports the sums the figures of the whole area are made of (every
building, member and compound counted by exactly one partition).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import bindparam, text

from gridmap.partitioned.plan import owners


@dataclass
class Owned:
    gaps: gpd.GeoDataFrame
    crosswalk: pd.DataFrame
    proposals: gpd.GeoDataFrame | None  # None for integrate runs
    figures: pd.DataFrame | None
    unified: gpd.GeoDataFrame  # rows for the grid table
    summary: dict


def _mine(community: pd.Series, geometries, job) -> np.ndarray:
    """Rows in one of the partition's communities, or in none and owned by it by place."""
    codes = community.fillna("").astype(str).to_numpy()
    ours = np.isin(codes, job.partition.communities)
    nowhere = codes == ""
    if nowhere.any():
        ours[nowhere] = owners(np.asarray(geometries)[nowhere], list(job.plan)) == job.index
    return ours


def owned_results(result, inputs, job) -> Owned:
    """The rows of ``result`` (an Analysis or an Integration) that ``job``'s partition owns."""
    from gridmap.runs import unified_rows

    analysis = result if hasattr(result, "integration") else None
    integration = analysis.integration if analysis is not None else result
    gaps = analysis.gaps if analysis is not None else integration.findings
    gaps = gaps[_mine(gaps["community_code"], gaps.geometry.values, job)]
    unified = integration.unified
    unified = unified[unified["community_code"].isin(job.partition.communities)]
    crosswalk = integration.crosswalk
    crosswalk = crosswalk[crosswalk["unified_code"].isin(set(unified["code"]))]
    summary = {
        "gaps": gaps["kind"].value_counts().sort_index().to_dict(),
        "unified_cells": len(unified),
    }
    moves = integration.moves
    if len(moves):
        moved = moves[moves["compound_code"].isin(_owned_compounds(integration, inputs, job))]
        summary["compounds_moved"] = int(moved["compound_code"].nunique())
    else:
        summary["compounds_moved"] = 0
    if analysis is None:
        summary["findings"] = summary["gaps"]
        return Owned(gaps, crosswalk, None, None, unified_rows(unified), summary)
    proposals = analysis.proposals
    if len(proposals):
        proposals = proposals[_mine(proposals["community_code"], proposals.geometry.values, job)]
    figures = _owned_figures(analysis, inputs, job)
    summary.update(_sums(analysis, inputs, job, gaps, proposals, figures))
    return Owned(gaps, crosswalk, proposals, figures, unified_rows(unified), summary)


def _owned_compounds(integration, inputs, job) -> set[str]:
    h = integration.hierarchy.compounds
    geometry = inputs.layers.compounds.set_index("code").geometry.reindex(h["code"]).values
    return set(h["code"][_mine(h["community_code"], geometry, job)])


def _owned_figures(analysis, inputs, job) -> pd.DataFrame:
    """Community, grid and compound rows (the whole area's row is made once all are in)."""
    f = analysis.figures
    where = np.zeros(len(f), dtype=bool)
    community = (f["level"] == "community").to_numpy()
    where[community] = f["code"][community].isin(job.partition.communities).to_numpy()
    for level, frame in (("compound", inputs.layers.compounds), ("grid", analysis.integration.unified)):  # fmt: skip
        at = (f["level"] == level).to_numpy()
        geometry = frame.set_index("code").geometry.reindex(f["code"][at]).values
        where[at] = _mine(f["community_code"][at], geometry, job)
    return f[where]


def _sums(analysis, inputs, job, gaps, proposals, figures) -> dict:
    """This partition's share of the whole area's counts and of the compounds behind its rates."""
    h = analysis.integration.hierarchy
    layers = inputs.layers
    buildings = h.buildings[_mine(h.buildings["community_code"], layers.buildings.geometry.values, job)]  # fmt: skip
    members = layers.members[owners(layers.members.geometry.values, list(job.plan)) == job.index]
    compounds = analysis.compounds
    geometry = layers.compounds.set_index("code").geometry.reindex(compounds["code"]).values
    compounds = compounds[_mine(compounds["community_code"], geometry, job)]
    homes = compounds[compounds["households"] > 0]
    stations = inputs.stations
    n_stations = int((owners(stations.geometry.values, list(job.plan)) == job.index).sum())
    unassigned = int((gaps["kind"] == "member_unassigned").sum())
    return {
        "counts": {
            "communities": len(job.partition.communities),
            "unified_cells": int((figures["level"] == "grid").sum()),
            "compounds": len(compounds),
            "buildings": len(buildings),
            "households": int(buildings["households"].sum()),
            "members": len(members),
            "members_full": int((members["category"] == "full").sum()),
            "members_assigned": len(members) - unassigned,
            "stations": n_stations,
        },
        "members_probationary": int((members["category"] == "probationary").sum()),
        "rate_sums": {
            "compounds": len(homes),
            "covered": int(homes["covered"].sum()),
            "own_branch": int(homes["own_branch"].sum()),
            "members": int((homes["members"] > 0).sum()),
        },
        "proposals": proposals["kind"].value_counts().sort_index().to_dict() if len(proposals) else {},
        "unchecked": analysis.summary["unchecked"],
        **_staffing(analysis, inputs, job),
    }  # fmt: skip


def _staffing(analysis, inputs, job) -> dict:
    """The staffing rates of the partition's communities, and the flags (one per grid, branch,
    company or compound counted) the whole area's are made of once every partition is in."""
    from gridmap.core.staffing_rates import owned_flags, staffing_flags

    flags = staffing_flags(
        inputs.people, inputs.orgs, analysis.compounds, analysis.integration.hierarchy.buildings,
        job.base, job.settings,
    )  # fmt: skip
    per = analysis.summary.get("staffing") or {}
    return {
        "staffing": {c: per[c] for c in job.partition.communities if c in per},
        "staffing_flags": owned_flags(flags, job.partition.communities),
    }


def copy_unified_cells(conn, communities: tuple[str, ...], layer: str) -> None:
    """The current unified cells of ``communities`` into grid layer ``layer`` (a reused partition)."""
    from gridmap.store.features import ensure_grid_layer

    ensure_grid_layer(conn, layer)
    columns = "code, name, properties, repair_note, source, updated_at, community_code, geom"
    statement = text(
        f"INSERT INTO grid (layer, {columns}) SELECT :layer, {columns} FROM grid "
        "WHERE layer = 'unified' AND community_code IN :codes"
    ).bindparams(bindparam("codes", expanding=True))
    conn.execute(statement, {"layer": layer, "codes": list(communities)})

"""The whole analysis as one pure function: 多网合一, 落位, the gaps, the rules and the rates.

Examples
--------
See ``tests/test_analyze_demo.py``: the demo subdistrict in, every planted gap out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from gridmap.config import Settings
from gridmap.core import branches, coverage
from gridmap.core.assign import assign_points, member_counts
from gridmap.core.gaps import concat_gaps
from gridmap.core.pipeline import Integration, Layers, integrate
from gridmap.crs import metric_crs_for
from gridmap.layers import STORAGE_CRS

REPORT_VERSION = "1.0"


@dataclass
class Analysis:
    integration: Integration
    gaps: gpd.GeoDataFrame
    proposals: gpd.GeoDataFrame
    rates: pd.DataFrame
    figures: pd.DataFrame
    summary: dict = field(default_factory=dict)


def _grid_figures(hierarchy, members: pd.DataFrame, layer: str) -> tuple[dict, dict]:
    column = f"grid_code__{layer}"
    households = hierarchy.buildings.groupby(column)["households"].sum().to_dict()
    per_member = members.dropna(subset=[column]).groupby(column).size().to_dict()
    return households, per_member


def analyze(
    layers: Layers,
    stations: gpd.GeoDataFrame,
    orgs: pd.DataFrame,
    settings: Settings,
    base: str = "party",
    previous: gpd.GeoDataFrame | None = None,
) -> Analysis:
    """Everything ``gridmap analyze`` reports, from the layers as the store holds them."""
    result = integrate(layers, settings, base=base, previous=previous)
    crs = metric_crs_for(layers.communities)
    buildings = layers.buildings.to_crs(crs)
    compounds = layers.compounds.to_crs(crs)
    members = layers.members.to_crs(crs) if layers.members is not None else gpd.GeoDataFrame(
        {"code": [], "category": [], "in_service": [], "reported": []}, geometry=[], crs=crs)  # fmt: skip
    unified = result.unified.to_crs(crs)
    h = result.hierarchy
    placed = assign_points(members, buildings, settings)
    where = h.buildings.set_index("code")
    table = pd.DataFrame({"code": members["code"].to_numpy(), "category": members["category"].to_numpy(),
                          "building_code": placed["building_code"].to_numpy()})  # fmt: skip
    for column in ("compound_code", "community_code", f"grid_code__{base}", "grid_code__unified"):
        table[column] = table["building_code"].map(where[column]).astype(object)
    by_compound = member_counts(table, "compound_code")
    compound_households = h.buildings.groupby("compound_code")["households"].sum().to_dict()
    compound_of = dict(zip(h.buildings["code"], h.buildings["compound_code"], strict=True))
    in_building = table["building_code"].value_counts().to_dict()
    gaps = [result.findings]
    for layer, frame in ((base, layers.grids[base].to_crs(crs)), ("unified", unified)):
        households, per_member = _grid_figures(h, table, layer)
        gaps.append(coverage.out_of_band(frame, households, f"grid:{layer}", settings))
        gaps.append(coverage.grids_without_member(frame, households, per_member, f"grid:{layer}"))
    gaps += [
        coverage.buildings_without_member(buildings, in_building, compound_of),
        coverage.unassigned_members(members, placed),
        coverage.members_not_reported(members),
        coverage.property_without_org(compounds),
        coverage.beyond_station_reach(buildings, compound_of, stations.to_crs(crs), settings),
        branches.check_organisations(orgs, compounds, by_compound, compound_households, settings),
    ]
    proposals = branches.propose(compounds, by_compound, compound_households, settings)
    proposal_of = {
        code: p["kind"]
        for p in proposals[["kind", "compounds"]].to_dict("records")
        for code in str(p["compounds"] or "").split(";")
        if code
    }
    proposals = _inside_branches(proposals, buildings, table, members, compound_of, settings)
    rates = coverage.coverage_rates(
        _compound_table(compounds, orgs, by_compound, compound_households, h), "grid_code__unified"
    )
    figures = coverage.unit_figures(h.buildings, table, rates, proposal_of)
    named = {"community": layers.communities, "grid": unified, "compound": compounds}
    figures.insert(2, "name", None)
    for level, frame in named.items():
        at = figures["level"] == level
        figures.loc[at, "name"] = figures.loc[at, "code"].map(frame.set_index("code")["name"])
    all_gaps = concat_gaps(gaps)
    summary = {
        "version": REPORT_VERSION,
        "base": base,
        "counts": {
            "communities": len(layers.communities),
            "unified_cells": len(unified),
            "compounds": len(compounds),
            "buildings": len(buildings),
            "households": int(buildings["households"].sum()),
            "members": len(members),
            "members_full": int((members["category"] == "full").sum()),
            "members_assigned": int((placed["how"] != "unassigned").sum()),
            "stations": len(stations),
        },
        "gaps": all_gaps["kind"].value_counts().sort_index().to_dict(),
        "proposals": proposals["kind"].value_counts().sort_index().to_dict()
        if len(proposals)
        else {},
        "rates": rates[rates["level"] == "subdistrict"]
        .drop(columns=["level", "code"])
        .to_dict("records")[0],
    }
    out_props = proposals.to_crs(STORAGE_CRS) if len(proposals) else proposals
    return Analysis(result, all_gaps, out_props, rates, figures, summary)


def _compound_table(
    compounds, orgs: pd.DataFrame, counts: pd.DataFrame, households: dict, h
) -> pd.DataFrame:
    own, covered = set(), set()
    for org in orgs.to_dict("records"):
        units = [c for c in str(org.get("covers") or "").split(";") if c]
        if org["kind"] in branches.BRANCH_KINDS:
            covered.update(units)
        if org["kind"] == "branch" and len(units) == 1:
            own.update(units)
    table = h.compounds[["code", "community_code", "grid_code__unified"]].copy()
    table["households"] = table["code"].map(households).fillna(0)
    table["covered"] = table["code"].isin(covered)
    table["own_branch"] = table["code"].isin(own)
    table["members"] = table["code"].map(counts["total"] if len(counts) else {}).fillna(0)
    return table


def _inside_branches(
    proposals, buildings, table, members, compound_of, settings
) -> gpd.GeoDataFrame:
    """Add Party groups, splits of large compounds and member households to the proposals."""
    from gridmap.core import groups

    per_building = member_counts(table, "building_code")
    full, total = per_building["full"], per_building["total"]
    by_compound = buildings.assign(compound=buildings["code"].map(compound_of))
    rows = []
    for p in proposals.to_dict("records"):
        if p["kind"] not in ("branch", "general_branch"):
            continue
        mine = by_compound[by_compound["compound"] == p["compounds"]]
        if p["kind"] == "general_branch":
            rows += groups.split_branches(
                p["compounds"], p["community_code"], mine, full, total, settings
            )
        else:
            rows += groups.party_groups(
                p["compounds"], p["community_code"], mine, full, total, settings
            )
    homes = members[table["building_code"].notna().to_numpy()]
    rows += groups.member_households(buildings, homes, compound_of)
    extra = gpd.GeoDataFrame(rows, geometry="geometry", crs=proposals.crs) if rows else None
    out = (
        pd.concat([proposals, extra], ignore_index=True) if extra is not None else proposals.copy()
    )
    out["details"] = [
        {"buildings": b.split(";")} if isinstance(b, str) and b else None
        for b in out.get("buildings", [None] * len(out))
    ]
    return gpd.GeoDataFrame(
        out.drop(columns=["buildings"], errors="ignore"), geometry="geometry", crs=proposals.crs
    )

"""The whole analysis as one pure function: 多网合一, 落位, the gaps, the rules and the rates.

Examples
--------
See ``tests/test_analyze_demo.py``: the demo subdistrict in, every planted gap out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
from pandas.api.extensions import take

from gridmap.config import Settings
from gridmap.core import branches, coverage
from gridmap.core.assign import member_counts
from gridmap.core.gap_names import names_of, with_names
from gridmap.core.gaps import concat_gaps, unchecked_kinds, with_community_codes
from gridmap.core.integrate import Integration, Layers, integrate
from gridmap.core.staffing import People, Places, check_staffing
from gridmap.core.staffing_rates import staffing_figures
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
    # the places as given (EPSG:4326: community, compound, station), for the report's maps
    places: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    # per compound: households, covered, own_branch, members (what the rates are made of), so
    # that the rates of a larger area can be made from the compounds of several analyses
    compounds: pd.DataFrame | None = None


def _grid_figures(hierarchy, housed: np.ndarray, layer: str) -> tuple[dict, dict]:
    """Households and members per grid of ``layer``; ``housed`` is members per building row."""
    grid = hierarchy.buildings[f"grid_code__{layer}"]
    households = hierarchy.buildings.groupby(grid)["households"].sum().to_dict()
    per_member = pd.Series(housed).groupby(grid.to_numpy()).sum()
    return households, per_member[per_member > 0].to_dict()


@dataclass
class _Placed:
    """The metric layers after 多网合一, and every member placed once: ``table`` holds each
    member's category, building and that building's compound, community and grids; ``home`` each
    member's building as a row of ``buildings`` (-1: none)."""

    metric: Layers
    result: Integration
    unified: gpd.GeoDataFrame
    members: gpd.GeoDataFrame
    placed: pd.DataFrame
    table: pd.DataFrame
    home: np.ndarray
    base: str

    @property
    def h(self):
        return self.result.hierarchy


def analyze(
    layers: Layers,
    stations: gpd.GeoDataFrame,
    orgs: pd.DataFrame,
    settings: Settings,
    base: str = "party",
    previous: gpd.GeoDataFrame | None = None,
    people: People | None = None,
) -> Analysis:
    """Everything ``gridmap analyze`` reports, from the layers as the store holds them.

    ``people``: the staff roster, property companies and owners' committees (``None``: none
    loaded, and the checks of who serves the places are listed as not checked)."""
    people = people or People()
    crs = metric_crs_for(layers.communities)
    s = _integrate_and_place(layers, settings, base, previous, crs)
    stations_m = stations.to_crs(crs)
    counts = _compound_counts(s)
    gaps = _gaps_of(s, stations_m, orgs, people, counts, settings)
    proposals, proposal_of = _proposals(s, counts, settings)
    compound_table = _compound_table(s.metric.compounds, orgs, counts[0], counts[1], s.h)
    staffing = coverage.staffing_rates(people, orgs, compound_table, s.h.buildings, base, settings)
    rates = coverage.coverage_rates(compound_table, "grid_code__unified")
    figures = _figures(s, layers, people, orgs, compound_table, rates, proposal_of, settings)
    unchecked, all_gaps = _checked_gaps(gaps, s, layers, stations, orgs, people)
    summary = _summary(s, layers, stations, all_gaps, unchecked, proposals, staffing, rates)
    out_props = proposals.to_crs(STORAGE_CRS) if len(proposals) else proposals
    places = {"community": layers.communities, "compound": layers.compounds, "station": stations}
    return Analysis(s.result, all_gaps, out_props, rates, figures, summary, places, compound_table)


def _integrate_and_place(layers: Layers, settings: Settings, base: str, previous, crs) -> _Placed:
    """The layers projected once, 多网合一 on them, and each member's building found once (as a
    row position: the hierarchy's rows are the rows of ``buildings``), with its compound,
    community and grids taken from there."""
    # projected once here; integrate finds them in its CRS already and leaves them be
    metric = Layers(
        layers.communities.to_crs(crs), layers.compounds.to_crs(crs), layers.buildings.to_crs(crs),
        {k: v.to_crs(crs) for k, v in layers.grids.items() if k != "unified"},
        layers.members.to_crs(crs) if layers.members is not None else None,
    )  # fmt: skip
    result = integrate(metric, settings, base=base, previous=previous, crs=crs)
    members = metric.members if metric.members is not None else gpd.GeoDataFrame(
        {"code": [], "category": [], "in_service": [], "reported": []}, geometry=[], crs=crs)  # fmt: skip
    h = result.hierarchy
    placed = result.placements  # each member placed once, by the integration
    table = pd.DataFrame({"code": members["code"].to_numpy(), "category": members["category"].to_numpy(),
                          "building_code": placed["building_code"].to_numpy()})  # fmt: skip
    home = placed["home"].to_numpy()
    for column in ("compound_code", "community_code", f"grid_code__{base}", "grid_code__unified"):
        values = h.buildings[column].to_numpy(dtype=object)
        table[column] = take(values, home, allow_fill=True, fill_value=np.nan)
    unified = result.unified.to_crs(crs)
    return _Placed(metric, result, unified, members, placed, table, home, base)


def _compound_counts(s: _Placed) -> tuple[pd.DataFrame, dict, dict]:
    """Members per compound (full, probationary, total), households per compound, and each
    building's compound."""
    h = s.h
    by_compound = member_counts(s.table, "compound_code")
    compound_households = h.buildings.groupby("compound_code")["households"].sum().to_dict()
    compound_of = dict(
        zip(h.buildings["code"].tolist(), h.buildings["compound_code"].tolist(), strict=True)
    )
    return by_compound, compound_households, compound_of


def _gaps_of(s: _Placed, stations, orgs, people: People, counts, settings) -> list:
    """The gaps found beside the integration's: households and members per grid, buildings and
    members, property companies, stations' reach, the Party organisations and the staffing."""
    h, base, home = s.h, s.base, s.home
    buildings, compounds = s.metric.buildings, s.metric.compounds
    by_compound, compound_households, compound_of = counts
    in_building = dict.fromkeys(h.buildings["code"].to_numpy()[np.unique(home[home >= 0])].tolist())
    gaps = [s.result.findings]
    housed = np.bincount(home[home >= 0], minlength=len(h.buildings))
    grid_households = {}
    for layer, frame in ((base, s.metric.grids[base]), ("unified", s.unified)):
        households, per_member = _grid_figures(h, housed, layer)
        grid_households[layer] = households
        gaps.append(coverage.out_of_band(frame, households, f"grid:{layer}", settings))
        gaps.append(coverage.grids_without_member(frame, households, per_member, f"grid:{layer}"))
    places = Places(
        s.metric.grids[base], f"grid:{base}", grid_households[base], orgs, compounds, buildings,
        s.metric.communities, h.buildings.groupby("community_code")["households"].sum().to_dict(),
    )  # fmt: skip
    gaps += [
        coverage.buildings_without_member(buildings, in_building, compound_of),
        coverage.unassigned_members(s.members, s.placed),
        coverage.members_not_reported(s.members),
        coverage.property_without_org(compounds),
        coverage.beyond_station_reach(buildings, compound_of, stations, settings),
        branches.check_organisations(orgs, compounds, by_compound, compound_households, settings),
        check_staffing(people, places, settings, settings.staffing_as_of or date.today()),
    ]
    return gaps


def _proposals(s: _Placed, counts, settings: Settings) -> tuple[gpd.GeoDataFrame, dict]:
    """The proposed organisations (单独建、联合建, with Party groups, splits and member
    households inside them), and the kind proposed for each compound."""
    by_compound, compound_households, compound_of = counts
    compounds, buildings = s.metric.compounds, s.metric.buildings
    proposals = branches.propose_branches(compounds, by_compound, compound_households, settings)
    if proposals.empty:  # no member in any compound: a frame without the proposals' columns
        proposals = proposals.assign(kind=None, community_code=None, compounds=None)
    proposal_of = {
        code: p["kind"]
        for p in proposals[["kind", "compounds"]].to_dict("records")
        for code in str(p["compounds"] or "").split(";")
        if code
    }
    compound = s.h.buildings["compound_code"].to_numpy(dtype=object)
    proposals = _inside_branches(
        proposals, buildings, s.table, s.home, compound, s.members, s.placed, compound_of, settings
    )
    return proposals, proposal_of


def _figures(s: _Placed, layers: Layers, people, orgs, compound_table, rates, proposal_of, settings):  # fmt: skip
    """The figures of every unit (what a map click shows), with the staffing rates and names."""
    h = s.h
    figures = coverage.unit_figures(h.buildings, s.table, rates, proposal_of)
    figures = staffing_figures(figures, people, orgs, compound_table, h.buildings, s.base, settings)
    named = {"community": layers.communities, "grid": s.unified, "compound": s.metric.compounds}
    figures.insert(2, "name", None)
    for level, frame in named.items():
        at = figures["level"] == level
        figures.loc[at, "name"] = figures.loc[at, "code"].map(frame.set_index("code")["name"])
    return figures


def _checked_gaps(gaps: list, s: _Placed, layers: Layers, stations, orgs, people: People):
    """The kinds not checked for want of a column or a layer, and every gap of the kinds that
    were, each naming its community and its places by name first, codes second."""
    # a kind whose inputs are missing was not checked: listed as such, and its findings (every
    # grid "without members" when no member was loaded) are no findings
    unchecked = unchecked_kinds({
        "grid": layers.grids.get(s.base), "compound": layers.compounds, "building": layers.buildings,
        "member": layers.members, "station": stations, "org": orgs, "staff": people.staff,
        "property": people.properties, "owners_committee": people.committees,
    })  # fmt: skip
    skipped = [u["kind"] for u in unchecked]
    gaps = [g[~g["kind"].isin(skipped)] for g in gaps]
    # the integration's findings name their community already; the gaps found here are named now
    all_gaps = with_community_codes(concat_gaps(gaps), s.metric.communities)
    # read by names first, codes second (members never named)
    named_places = {"community": layers.communities, "grid": [s.unified, *s.metric.grids.values()],
                    "compound": s.metric.compounds, "building": s.metric.buildings, "org": orgs,
                    "station": stations, "property": people.properties,
                    "owners_committee": people.committees}  # fmt: skip
    return unchecked, with_names(all_gaps, names_of(named_places))


def _summary(s: _Placed, layers, stations, all_gaps, unchecked, proposals, staffing, rates) -> dict:  # fmt: skip
    """The report's summary: counts, gaps and proposals by kind, staffing and the rates."""
    buildings, members, placed = s.metric.buildings, s.members, s.placed
    return {
        "version": REPORT_VERSION,
        "base": s.base,
        "counts": {
            "communities": len(layers.communities),
            "unified_cells": len(s.unified),
            "compounds": len(s.metric.compounds),
            "buildings": len(buildings),
            "households": int(buildings["households"].sum()),
            "members": len(members),
            "members_full": int((members["category"] == "full").sum()),
            "members_assigned": int((placed["how"] != "unplaced").sum()),
            "stations": len(stations),
        },
        "gaps": all_gaps["kind"].value_counts().sort_index().to_dict(),
        # the kinds not checked for want of a column or a layer, and why (not zero findings)
        "unchecked": unchecked,
        "proposals": proposals["kind"].value_counts().sort_index().to_dict()
        if len(proposals)
        else {},
        "staffing": coverage.staffing_by_unit(staffing),
        "rates": rates[rates["level"] == "subdistrict"]
        .drop(columns=["level", "code"])
        .to_dict("records")[0],
    }


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
    proposals, buildings, table, home, compound, members, placed, compound_of, settings
) -> gpd.GeoDataFrame:
    """Add Party groups, splits of large compounds and member households to the proposals.

    ``home`` is each member's building as a row of ``buildings`` (-1: none), ``compound`` each
    building's compound code.
    """
    rows = _groups_and_splits(proposals, buildings, table, home, compound, settings)
    households = _member_households(buildings, home, members, placed, compound_of, settings)
    extra = [f for f in (rows, households) if f is not None and len(f)]
    out = proposals.copy()
    if extra:
        joined = pd.concat(extra, ignore_index=True)
        # columns inferred from plain values, as for rows written one by one
        added = gpd.GeoDataFrame(
            {c: joined[c].tolist() for c in joined}, geometry="geometry", crs=proposals.crs
        )
        out = pd.concat([proposals, added], ignore_index=True)
    out["details"] = [
        {"buildings": b.split(";")} if isinstance(b, str) and b else None
        for b in out.get("buildings", [None] * len(out))
    ]
    return gpd.GeoDataFrame(
        out.drop(columns=["buildings"], errors="ignore"), geometry="geometry", crs=proposals.crs
    )


def _groups_and_splits(proposals, buildings, table, home, compound, settings):
    """Party groups inside each proposed branch, and the split of each proposed general branch
    (None: neither); ``home`` is each member's row in ``buildings``."""
    from gridmap.core import groups

    # members per building counted by position (``home``: each member's row in ``buildings``)
    category = table["category"].to_numpy()
    full, total = (
        pd.Series(np.bincount(home[(home >= 0) & np.isin(category, kinds)], minlength=len(buildings)),
                  index=buildings["code"].to_numpy())
        for kinds in (["full"], ["full", "probationary"])
    )  # fmt: skip
    by_compound = buildings.assign(compound=compound)
    kinds = proposals["kind"].to_numpy() if len(proposals) else np.array([], dtype=object)
    inside = proposals[np.isin(kinds, ("branch", "general_branch"))]
    branch_rows = inside[["compounds", "community_code"]].rename(columns={"compounds": "compound"})
    general = (inside["kind"] == "general_branch").to_numpy()
    parts = [
        groups.party_groups_of(branch_rows[~general], by_compound, full, total, settings)
        .assign(branch=lambda f: np.flatnonzero(~general)[f["branch"].astype(np.int64)]),
        groups.split_branches_of(branch_rows[general], by_compound, full, total, settings)
        .assign(branch=lambda f: np.flatnonzero(general)[f["branch"].astype(np.int64)]),
    ]  # fmt: skip
    rows = (
        pd.concat([p for p in parts if len(p)], ignore_index=True) if any(map(len, parts)) else None
    )
    if rows is not None:
        rows = rows.sort_values("branch", kind="stable").drop(columns="branch")
    return rows


def _member_households(buildings, home, members, placed, compound_of, settings):
    """党员中心户: the member households proposed in the buildings members live in."""
    from gridmap.core import groups

    # a member inside a building is 0 m from it; snapped ones are close enough unless the snap
    # distance is set beyond NEIGHBOUR_M
    housed = home >= 0
    near = placed["how"].to_numpy() == "inside"
    if settings.member_snap_distance_m <= groups.NEIGHBOUR_M:
        near = housed
    lived_in = np.zeros(len(buildings), dtype=bool)
    lived_in[home[near & housed]] = True
    households = groups.member_households_of(buildings, members[housed], compound_of, lived_in)
    return households

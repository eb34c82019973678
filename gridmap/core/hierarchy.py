"""The place hierarchy (空间层级): building → compound → grid → community, by largest area share.

Shares are recorded; a share below ``settings.share_threshold`` or a tie is a finding
(``ambiguous_parent``), never a silent choice. Inputs in a metric CRS.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> from gridmap.config import Settings
>>> kids = gpd.GeoDataFrame({"code": ["b1"]}, geometry=[box(0, 0, 10, 10)], crs=4544)
>>> mums = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[box(-5, -5, 7, 15), box(7, -5, 20, 15)], crs=4544)
>>> table, found = assign_by_area(kids, mums, "building", "compound", Settings())
>>> table[["code", "parent", "share", "second", "second_share"]].values.tolist()
[['b1', 'A', 0.7, 'B', 0.3]]
>>> found["kind"].tolist()
['ambiguous_parent']
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.config import Settings
from gridmap.core.gaps import Gap, concat_gaps, empty_gaps
from gridmap.core.pieces import piece_positions, representative_points
from gridmap.core.topology import reprojected_gaps, run_starts


def assign_by_area(
    children: gpd.GeoDataFrame,
    parents: gpd.GeoDataFrame,
    child_layer: str,
    parent_layer: str,
    settings: Settings,
    report: bool = True,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Each child's parent by largest area share; returns (table, ambiguous_parent findings).

    The table has one row per child: ``code, parent, share, second, second_share`` (parent is
    ``None`` when the child touches no parent).
    """
    child, parent, area, share = piece_positions(children, parents)
    # by child, largest area first (ties keep the order the pieces were found in)
    order = np.lexsort((-area, child))
    child, parent, share = child[order], parent[order], share[order]
    first = run_starts(child)
    second = ~first & np.r_[False, first[:-1]]
    # None, not NaN, for no parent: set here instead of by a ``where`` over every column
    mum_codes = parents["code"].to_numpy(dtype=object, copy=True)
    mum_codes[pd.isna(mum_codes)] = None

    def pick(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        code = np.full(len(children), None, dtype=object)
        code[child[rows]] = mum_codes[parent[rows]]
        fraction = np.zeros(len(children))
        fraction[child[rows]] = share[rows]
        return pd.Series(code, dtype=object), np.round(fraction, 4)

    table = pd.DataFrame({"code": children["code"].to_numpy()})
    table["parent"], table["share"] = pick(first)
    table["second"], table["second_share"] = pick(second)
    if not report:
        return table, empty_gaps()
    tie = (
        (table["second_share"] > 0) & ((table["share"] - table["second_share"]).abs() < 1e-3)
    ).to_numpy()
    weak = (table["parent"].notna() & (table["share"] < settings.share_threshold)).to_numpy()
    rows = np.flatnonzero(tie | weak)
    geoms = children.geometry.values
    records = [
        Gap("ambiguous_parent", child_layer, code, "", float(sh), "share",
            f"{code} 归属{parent_layer} {mum} 不明确 ({'两者占比相同' if is_tie else f'最大占比仅 {sh:.0%}'}; 其次 {nxt} {nsh:.0%})",
            f"{code}'s {parent_layer} {mum} is uncertain ({'a tie' if is_tie else f'largest share only {sh:.0%}'}; next {nxt} {nsh:.0%})",
            geom, codes=";".join(c for c in (code, mum, nxt) if c))
        for code, mum, sh, nxt, nsh, is_tie, geom in zip(
            table["code"].to_numpy()[rows], table["parent"].to_numpy()[rows], table["share"].to_numpy()[rows],
            table["second"].to_numpy()[rows], table["second_share"].to_numpy()[rows], tie[rows], geoms[rows], strict=True)
    ]  # fmt: skip
    return table, reprojected_gaps(records, children.crs)


@dataclass
class Hierarchy:
    """Where every building and compound sits, and what was uncertain."""

    buildings: pd.DataFrame  # code, households, compound_code, community_code, grid_code__<layer> …
    compounds: pd.DataFrame  # code, community_code, grid_code__<layer> …
    findings: gpd.GeoDataFrame


def assign_by_point(children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> pd.Series:
    """Each child's parent by containment of its representative point (for counting only)."""
    hits = gpd.sjoin(
        representative_points(children), parents[["code", "geometry"]], predicate="within"
    )
    hits = hits[~hits.index.duplicated()]
    return pd.Series(hits["code"], index=hits.index).reindex(range(len(children))).astype(object)


def build_hierarchy(
    buildings: gpd.GeoDataFrame,
    compounds: gpd.GeoDataFrame,
    grids: dict[str, gpd.GeoDataFrame],
    communities: gpd.GeoDataFrame,
    settings: Settings,
    report_grid_layers: tuple[str, ...] = ("party", "unified"),
) -> Hierarchy:
    """Place every building and compound in its compound, grids (every layer) and community.

    Buildings follow the chain building → compound → community by area share; a building in no
    compound is placed in its community directly. Grid layers named in ``report_grid_layers`` are
    assigned by area share with uncertain cases reported; other (departmental) layers by the
    building's representative point, which is all their counts need: unit grids (城管's 100 m
    squares) cut buildings by design, and listing each would bury everything else.
    """
    placed = _places(buildings, compounds, communities, settings)
    return with_grids(placed, buildings, compounds, grids, settings, report_grid_layers)


def _places(
    buildings: gpd.GeoDataFrame,
    compounds: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    settings: Settings,
) -> Hierarchy:
    """Buildings in compounds and communities, compounds in communities (no grids yet)."""
    findings = []
    b_compound, found = assign_by_area(buildings, compounds, "building", "compound", settings)
    findings.append(found)
    c_community, found = assign_by_area(compounds, communities, "compound", "community", settings)
    findings.append(found)
    c_table = pd.DataFrame({"code": compounds["code"].to_numpy(), "community_code": c_community["parent"].to_numpy(),
                            "community_share": c_community["share"].to_numpy()})  # fmt: skip
    b_table = pd.DataFrame({"code": buildings["code"].to_numpy(), "households": buildings["households"].to_numpy(),
                            "compound_code": b_compound["parent"].to_numpy(), "compound_share": b_compound["share"].to_numpy()})  # fmt: skip
    b_table["community_code"] = (
        b_table["compound_code"].map(c_table.set_index("code")["community_code"]).astype(object)
    )
    loose = b_table["community_code"].isna().to_numpy()
    if loose.any():
        direct, found = assign_by_area(
            buildings[loose], communities, "building", "community", settings
        )
        b_table.loc[loose, "community_code"] = direct["parent"].to_numpy()
        findings.append(found)
    b_table = b_table.where(b_table.notna(), None)
    return Hierarchy(b_table, c_table.where(c_table.notna(), None), concat_gaps(findings))


def with_grids(
    hierarchy: Hierarchy,
    buildings: gpd.GeoDataFrame,
    compounds: gpd.GeoDataFrame,
    grids: dict[str, gpd.GeoDataFrame],
    settings: Settings,
    report_grid_layers: tuple[str, ...] = ("party", "unified"),
) -> Hierarchy:
    """``hierarchy`` with its buildings and compounds placed in the cells of ``grids`` as well
    (columns ``grid_code__<layer>``, as :func:`build_hierarchy` places them)."""
    b_table, c_table = hierarchy.buildings.copy(), hierarchy.compounds.copy()
    findings = [hierarchy.findings]
    for name, grid in grids.items():
        if name in report_grid_layers:
            # compounds first: a building wholly inside a compound wholly inside a cell is then
            # known to lie in that cell without a test (see gridmap.core.pieces)
            table, _ = assign_by_area(
                compounds, grid, "compound", f"grid:{name}", settings, report=False
            )
            c_table[f"grid_code__{name}"] = table["parent"].to_numpy()
            table, found = assign_by_area(buildings, grid, "building", f"grid:{name}", settings)
            b_table[f"grid_code__{name}"] = table["parent"].to_numpy()
            findings.append(found)
        else:
            b_table[f"grid_code__{name}"] = _none_for_missing(assign_by_point(buildings, grid))
            c_table[f"grid_code__{name}"] = _none_for_missing(assign_by_point(compounds, grid))
    return Hierarchy(b_table, c_table, concat_gaps(findings))


def _none_for_missing(codes: pd.Series) -> np.ndarray:
    return codes.where(codes.notna(), None).to_numpy()

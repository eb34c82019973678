"""Inside a branch: Party groups (党小组), splits of large compounds, member households (党员中心户).

Buildings are grouped into clusters of neighbours (within ``CLUSTER_M`` of each other) with the
STRtree; a large branch gets one Party group per cluster that houses members; a compound with more
members than a branch should hold is split into contiguous building groups along its longer
axis; a building with households and no member within ``NEIGHBOUR_M`` gets a member-household
proposal. All are proposals, never decisions. Inputs in a metric CRS.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> b = gpd.GeoDataFrame({"code": ["a", "b", "c"]}, geometry=[box(0, 0, 10, 10), box(15, 0, 25, 10), box(200, 0, 210, 10)], crs=4544)
>>> clusters(b).tolist()
[0, 0, 1]
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridmap.config import Settings

CLUSTER_M = 30.0  # buildings this close form one cluster (楼院)
NEIGHBOUR_M = 50.0  # a member this close can serve a building's households


def clusters(buildings: gpd.GeoDataFrame, distance: float = CLUSTER_M) -> np.ndarray:
    """Connected groups of buildings no farther than ``distance`` apart (labels 0, 1, …)."""
    geoms = buildings.geometry.values
    left, right = buildings.sindex.query(geoms, predicate="dwithin", distance=distance)
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(len(geoms), len(geoms)))
    _, labels = connected_components(graph, directed=False)
    # relabel in order of first appearance so labels are stable across runs
    _, first = np.unique(labels, return_index=True)
    order = {old: new for new, old in enumerate(labels[np.sort(first)])}
    return np.array([order[label] for label in labels])


def _row(pid: str, kind: str, community, compound: str, buildings: list[str], full: int, total: int,
         zh: str, en: str, geom) -> dict:  # fmt: skip
    return {"proposal_id": pid, "kind": kind, "committee": None, "community_code": community,
            "compounds": compound, "buildings": ";".join(buildings), "full_members": full,
            "probationary_members": total - full, "explanation_zh": zh, "explanation_en": en,
            "geometry": geom}  # fmt: skip


def party_groups(
    compound: str,
    community,
    buildings: gpd.GeoDataFrame,
    full: pd.Series,
    total: pd.Series,
    settings: Settings,
) -> list[dict]:
    """One Party group per building cluster with members, for a branch large enough to need them."""
    members = int(total.reindex(buildings["code"]).fillna(0).sum())
    if members < settings.committee_min_full_members or len(buildings) < 2:
        return []
    labels = clusters(buildings)
    rows = []
    for label in np.unique(labels):
        part = buildings[labels == label]
        codes = part["code"].tolist()
        f, t = int(full.reindex(codes).fillna(0).sum()), int(total.reindex(codes).fillna(0).sum())
        if t == 0:
            continue
        rows.append(_row(f"G-{compound}-{label + 1}", "party_group", community, compound, codes, f, t,
                         f"建议: 按楼院设党小组 ({len(codes)} 栋楼, {t} 名党员)",
                         f"Proposed: a Party group for this building cluster ({len(codes)} buildings, {t} members)",
                         shapely.union_all(part.geometry.values)))  # fmt: skip
    return rows if len(rows) > 1 else []


def split_branches(
    compound: str,
    community,
    buildings: gpd.GeoDataFrame,
    full: pd.Series,
    total: pd.Series,
    settings: Settings,
) -> list[dict]:
    """Contiguous building groups of at most ``branch_max_members`` members each, along the long axis."""
    members = total.reindex(buildings["code"]).fillna(0).astype(int).to_numpy()
    parts = math.ceil(members.sum() / settings.branch_max_members)
    if parts < 2:
        return []
    x0, y0, x1, y1 = buildings.total_bounds
    centres = buildings.geometry.centroid
    key = centres.x.to_numpy() if (x1 - x0) >= (y1 - y0) else centres.y.to_numpy()
    order = np.argsort(key, kind="stable")
    target = members.sum() / parts
    rows, start, acc = [], 0, 0
    for position, i in enumerate(order):
        acc += members[i]
        last = position == len(order) - 1
        if (acc >= target and len(rows) < parts - 1) or last:
            chosen = buildings.iloc[order[start : position + 1]]
            codes = chosen["code"].tolist()
            f, t = (
                int(full.reindex(codes).fillna(0).sum()),
                int(total.reindex(codes).fillna(0).sum()),
            )
            rows.append(_row(f"S-{compound}-{len(rows) + 1}", "split_branch", community, compound, codes, f, t,
                             f"建议: 按相邻楼栋分设党支部之一 ({len(codes)} 栋楼, {t} 名党员)",
                             f"Proposed: one of {parts} branches by contiguous building group ({t} members)",
                             shapely.union_all(chosen.geometry.values)))  # fmt: skip
            start, acc = position + 1, 0
    return rows


def member_households(
    buildings: gpd.GeoDataFrame, homes: gpd.GeoDataFrame, compound_of: dict
) -> list[dict]:
    """党员中心户 proposals for buildings with households and no member within ``NEIGHBOUR_M``."""
    lived = buildings["households"].to_numpy() > 0
    if homes.empty:
        near = np.zeros(len(buildings), dtype=bool)
    else:
        hit, _ = homes.sindex.query(
            buildings.geometry.values, predicate="dwithin", distance=NEIGHBOUR_M
        )
        near = np.zeros(len(buildings), dtype=bool)
        near[hit] = True
    rows = []
    for i in np.flatnonzero(lived & ~near):
        code = buildings["code"].iloc[i]
        compound = compound_of.get(code) if isinstance(compound_of.get(code), str) else None
        rows.append(_row(f"H-{code}", "member_household", None, compound or "", [code], 0, 0,
                         f"建议: 楼栋 {code} ({buildings['households'].iloc[i]} 户) {NEIGHBOUR_M:.0f} 米内没有党员，培育党员中心户或安排党员联系",
                         f"Proposed: a member household for building {code}: no member within {NEIGHBOUR_M:.0f} m",
                         buildings.geometry.values[i]))  # fmt: skip
    return rows

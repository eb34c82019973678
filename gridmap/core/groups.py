"""Inside a branch: Party groups (党小组), splits of large compounds, member households (党员中心户).

Buildings are grouped into clusters of neighbours (within ``CLUSTER_M`` of each other) with the
STRtree; a large branch gets one Party group per cluster that houses members; a compound with more
members than a branch should hold is split into contiguous building groups along its longer
axis; a building with households and no member within ``NEIGHBOUR_M`` gets a member-household
proposal. All are proposals, never decisions. Inputs in a metric CRS.

The ``*_of`` functions work on every branch of a subdistrict at once (one tree query, grouped
sums and unions); ``party_groups`` and ``split_branches`` are the same for one compound.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> b = gpd.GeoDataFrame({"code": ["a", "b", "c"]}, geometry=[box(0, 0, 10, 10), box(15, 0, 25, 10), box(200, 0, 210, 10)], crs=4544)
>>> clusters(b).tolist()
[0, 0, 1]
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from gridmap.config import Settings
from gridmap.core.topology import run_starts, union_by

CLUSTER_M = 30.0  # buildings this close form one cluster (楼院)
NEIGHBOUR_M = 50.0  # a member this close can serve a building's households

ROW_COLUMNS = ["proposal_id", "kind", "committee", "community_code", "compounds", "buildings",
               "full_members", "probationary_members", "explanation_zh", "explanation_en",
               "geometry"]  # fmt: skip


def _first_seen(labels: np.ndarray) -> np.ndarray:
    """Relabel 0, 1, … in order of first appearance (stable across runs)."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.ravel()]


def _components(geoms: np.ndarray, distance: float, same: np.ndarray | None = None) -> np.ndarray:
    """Connected components of the 'no farther than ``distance``' graph (pairs only within ``same``)."""
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=distance)
    if same is not None:
        keep = same[left] == same[right]
        left, right = left[keep], right[keep]
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(len(geoms), len(geoms)))
    return connected_components(graph, directed=False)[1]


def clusters(buildings: gpd.GeoDataFrame, distance: float = CLUSTER_M) -> np.ndarray:
    """Connected groups of buildings no farther than ``distance`` apart (labels 0, 1, …)."""
    return _first_seen(_components(buildings.geometry.values, distance))


def _branch_buildings(branches: pd.DataFrame, buildings: gpd.GeoDataFrame, full: pd.Series,
                      total: pd.Series) -> pd.DataFrame:  # fmt: skip
    """One row per (branch, building of its compound) in frame order, with member counts."""
    own = pd.DataFrame(
        {"compound": buildings["compound"].to_numpy(), "row": np.arange(len(buildings))}
    )
    pairs = pd.DataFrame(
        {"branch": np.arange(len(branches)), "compound": branches["compound"].to_numpy()}
    )
    pairs = pairs.merge(own.dropna(subset=["compound"]), on="compound")
    pairs = pairs.sort_values(["branch", "row"], kind="stable", ignore_index=True)
    codes = buildings["code"].to_numpy()[pairs["row"].to_numpy()]
    pairs["code"] = codes
    pairs["full"] = full.reindex(codes).fillna(0).astype(np.int64).to_numpy()
    pairs["total"] = total.reindex(codes).fillna(0).astype(np.int64).to_numpy()
    return pairs


def _rows(parts: pd.DataFrame, geoms: np.ndarray, prefix: str, kind: str) -> pd.DataFrame:
    """Proposal rows from grouped building parts (columns branch, number, compound, community …)."""
    return pd.DataFrame({
        "proposal_id": prefix + "-" + parts["compound"].astype(str) + "-" + parts["number"].astype(str),
        "kind": kind, "committee": None, "community_code": parts["community_code"].to_numpy(),
        "compounds": parts["compound"].to_numpy(), "buildings": parts["codes"].to_numpy(),
        "full_members": parts["full"].to_numpy(), "probationary_members": (parts["total"] - parts["full"]).to_numpy(),
        "explanation_zh": parts["zh"].to_numpy(), "explanation_en": parts["en"].to_numpy(),
        "geometry": geoms, "branch": parts["branch"].to_numpy(),
    })  # fmt: skip


def _no_rows() -> pd.DataFrame:
    return pd.DataFrame(columns=[*ROW_COLUMNS, "branch"])


def _grouped(pairs: pd.DataFrame, key: str) -> pd.DataFrame:
    """Sums, sizes and ';'-joined codes per (branch, ``key``), building order kept."""
    pairs = pairs.sort_values(["branch", key], kind="stable")
    branch, label = pairs["branch"].to_numpy(), pairs[key].to_numpy()
    starts = np.flatnonzero(run_starts(branch, label))
    ends = np.r_[starts[1:], len(pairs)]
    separator = np.full(len(pairs), ";", dtype=object)
    separator[ends - 1] = ""
    codes = pairs["code"].to_numpy(dtype=object) + separator
    return pd.DataFrame({"branch": branch[starts], key: label[starts],
                         "full": np.add.reduceat(pairs["full"].to_numpy(), starts),
                         "total": np.add.reduceat(pairs["total"].to_numpy(), starts),
                         "n": ends - starts, "codes": np.add.reduceat(codes, starts)})  # fmt: skip


def party_groups_of(branches: pd.DataFrame, buildings: gpd.GeoDataFrame, full: pd.Series,
                    total: pd.Series, settings: Settings) -> pd.DataFrame:  # fmt: skip
    """Party groups of every branch: one per building cluster with members, where needed.

    ``branches`` has ``compound`` and ``community_code`` (one row per branch), ``buildings`` has
    ``code`` and ``compound``; ``full``/``total`` are members per building code. Rows carry
    ``branch``, the position of their branch in ``branches``.
    """
    pairs = _branch_buildings(branches, buildings, full, total)
    per_branch = pairs.groupby("branch").agg(members=("total", "sum"), n=("row", "size"))
    big = per_branch.index[
        (per_branch["members"] >= settings.committee_min_full_members) & (per_branch["n"] >= 2)
    ]
    pairs = pairs[pairs["branch"].isin(big)].reset_index(drop=True)
    if pairs.empty:
        return _no_rows()
    geoms = buildings.geometry.to_numpy()[pairs["row"].to_numpy()]
    branch = pairs["branch"].to_numpy()
    component = _components(geoms, CLUSTER_M, same=branch)
    _, first = np.unique(component, return_index=True)
    # per branch, clusters numbered in order of first appearance (first[c] ascends with branch)
    ranked = pd.Series(branch[first]).iloc[np.argsort(first, kind="stable")]
    local = np.empty(len(first), dtype=np.int64)
    local[ranked.index.to_numpy()] = ranked.groupby(ranked.to_numpy()).cumcount().to_numpy()
    pairs["label"] = local[component]
    parts = _grouped(pairs, "label")
    parts = parts[parts["total"] > 0]
    parts = parts[parts.groupby("branch")["branch"].transform("size") > 1].reset_index(drop=True)
    parts["number"] = parts["label"] + 1
    parts["compound"] = branches["compound"].to_numpy()[parts["branch"].to_numpy()]
    parts["community_code"] = branches["community_code"].to_numpy()[parts["branch"].to_numpy()]
    parts["zh"] = [f"建议: 按楼院设党小组 ({n} 栋楼, {t} 名党员)" for n, t in zip(parts["n"], parts["total"], strict=True)]  # fmt: skip
    parts["en"] = [f"Proposed: a Party group for this building cluster ({n} buildings, {t} members)"
                   for n, t in zip(parts["n"], parts["total"], strict=True)]  # fmt: skip
    return _rows(parts, _union_of(pairs, parts, geoms, "label"), "G", "party_group")


def _union_of(pairs: pd.DataFrame, parts: pd.DataFrame, geoms: np.ndarray, key: str) -> np.ndarray:
    """The union of the buildings of every row of ``parts`` (matched on branch and ``key``)."""
    which = (
        pairs[["branch", key]]
        .merge(
            parts[["branch", key]].assign(_part=np.arange(len(parts))),
            how="left",
            on=["branch", key],
        )["_part"]
        .to_numpy()
    )
    kept = ~np.isnan(which)
    return union_by(geoms[kept], which[kept].astype(np.int64), len(parts))


def _cuts(
    branch: np.ndarray, members: np.ndarray, parts: np.ndarray, target: np.ndarray
) -> np.ndarray:
    """Segment number of every building (sorted by branch, then along its axis).

    A segment closes at the first building where its members reach ``target``, while fewer than
    ``parts - 1`` segments are closed; the last takes the rest. All branches advance together,
    one segment per round.
    """
    cum = np.cumsum(members)
    before = np.r_[0, cum]  # members before a position
    starts = np.flatnonzero(run_starts(branch))
    ends = np.r_[starts[1:], len(branch)] - 1  # last position of each branch
    start, made = starts.copy(), np.zeros(len(starts), dtype=np.int64)
    active = np.arange(len(starts))
    opened = np.zeros(len(branch), dtype=np.int64)
    while len(active):
        s, b = start[active], branch[starts[active]]
        reach = np.searchsorted(cum, before[s] + target[b], side="left")
        cut = (made[active] < parts[b] - 1) & (reach <= ends[active])
        stop = np.where(cut, reach, ends[active])
        opened[s] = 1
        made[active] += 1
        start[active] = stop + 1
        active = active[cut & (stop < ends[active])]
    return np.cumsum(opened) - 1


def split_branches_of(branches: pd.DataFrame, buildings: gpd.GeoDataFrame, full: pd.Series,
                      total: pd.Series, settings: Settings) -> pd.DataFrame:  # fmt: skip
    """Contiguous building groups of at most ``branch_max_members`` members each, along the long axis.

    Same inputs and outputs as :func:`party_groups_of`, for general-branch proposals.
    """
    pairs = _branch_buildings(branches, buildings, full, total)
    sums = pairs.groupby("branch")["total"].sum()
    parts = np.ceil(sums / settings.branch_max_members).astype(np.int64)
    pairs = pairs[pairs["branch"].isin(parts.index[parts >= 2])].reset_index(drop=True)
    if pairs.empty:
        return _no_rows()
    geoms = buildings.geometry.to_numpy()[pairs["row"].to_numpy()]
    x0, y0, x1, y1 = shapely.bounds(geoms).T
    box = pd.DataFrame({"x0": x0, "y0": y0, "x1": x1, "y1": y1}).groupby(pairs["branch"].to_numpy())
    low, high = box.min(), box.max()
    wide = (high["x1"] - low["x0"]) >= (high["y1"] - low["y0"])
    centres = shapely.centroid(geoms)
    key = np.where(
        wide.reindex(pairs["branch"]).to_numpy(dtype=bool),
        shapely.get_x(centres),
        shapely.get_y(centres),
    )
    order = np.lexsort((key, pairs["branch"].to_numpy()))  # stable: ties keep frame order
    pairs, geoms = pairs.iloc[order].reset_index(drop=True), geoms[order]
    n_parts = parts.reindex(np.arange(len(branches)), fill_value=0).to_numpy()
    target = (sums / parts).reindex(np.arange(len(branches)), fill_value=0.0).to_numpy()
    pairs["segment"] = _cuts(pairs["branch"].to_numpy(), pairs["total"].to_numpy(), n_parts, target)
    out = _grouped(pairs, "segment")
    out["number"] = out.groupby("branch").cumcount() + 1
    out["compound"] = branches["compound"].to_numpy()[out["branch"].to_numpy()]
    out["community_code"] = branches["community_code"].to_numpy()[out["branch"].to_numpy()]
    out["zh"] = [f"建议: 按相邻楼栋分设党支部之一 ({n} 栋楼, {t} 名党员)" for n, t in zip(out["n"], out["total"], strict=True)]  # fmt: skip
    out["en"] = [f"Proposed: one of {p} branches by contiguous building group ({t} members)"
                 for p, t in zip(n_parts[out["branch"].to_numpy()], out["total"], strict=True)]  # fmt: skip
    return _rows(out, _union_of(pairs, out, geoms, "segment"), "S", "split_branch")


def _records(rows: pd.DataFrame) -> list[dict]:
    return rows[ROW_COLUMNS].to_dict("records")


def _one(
    compound: str, community, buildings: gpd.GeoDataFrame
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    branch = pd.DataFrame({"compound": [compound], "community_code": [community]})
    return branch, buildings.assign(compound=compound)


def party_groups(compound: str, community, buildings: gpd.GeoDataFrame, full: pd.Series,
                 total: pd.Series, settings: Settings) -> list[dict]:  # fmt: skip
    """One Party group per building cluster with members, for a branch large enough to need them."""
    return _records(party_groups_of(*_one(compound, community, buildings), full, total, settings))


def split_branches(compound: str, community, buildings: gpd.GeoDataFrame, full: pd.Series,
                   total: pd.Series, settings: Settings) -> list[dict]:  # fmt: skip
    """Contiguous building groups of at most ``branch_max_members`` members each, along the long axis."""
    return _records(split_branches_of(*_one(compound, community, buildings), full, total, settings))


def member_households_of(buildings: gpd.GeoDataFrame, homes: gpd.GeoDataFrame,
                         compound_of: dict, lived_in: np.ndarray | None = None) -> pd.DataFrame:  # fmt: skip
    """党员中心户 proposals for buildings with households and no member within ``NEIGHBOUR_M``.

    ``lived_in`` (optional) marks buildings a member of ``homes`` is known to live in or have
    snapped to: they need no distance query.
    """
    lived = buildings["households"].to_numpy() > 0
    ask = lived if lived_in is None else lived & ~lived_in
    near = np.zeros(len(buildings), dtype=bool)
    if not homes.empty and ask.any():
        hit, _ = homes.sindex.query(
            buildings.geometry.values[ask], predicate="dwithin", distance=NEIGHBOUR_M
        )
        near[np.flatnonzero(ask)[hit]] = True
    if lived_in is not None:
        near |= lived_in
    pick = np.flatnonzero(lived & ~near)
    codes = buildings["code"].to_numpy()[pick]
    households = buildings["households"].to_numpy()[pick]
    compounds = [c if isinstance(c := compound_of.get(code), str) and c else "" for code in codes]
    return pd.DataFrame({
        "proposal_id": [f"H-{c}" for c in codes], "kind": "member_household", "committee": None,
        "community_code": None, "compounds": compounds, "buildings": codes, "full_members": 0,
        "probationary_members": 0,
        "explanation_zh": [f"建议: 楼栋 {c} ({n} 户) {NEIGHBOUR_M:.0f} 米内没有党员，培育党员中心户或安排党员联系"
                           for c, n in zip(codes, households, strict=True)],
        "explanation_en": [f"Proposed: a member household for building {c}: no member within {NEIGHBOUR_M:.0f} m"
                           for c in codes],
        "geometry": buildings.geometry.values[pick],
    }, columns=ROW_COLUMNS)  # fmt: skip


def member_households(
    buildings: gpd.GeoDataFrame, homes: gpd.GeoDataFrame, compound_of: dict
) -> list[dict]:
    """党员中心户 proposals for buildings with households and no member within ``NEIGHBOUR_M``."""
    return _records(member_households_of(buildings, homes, compound_of))

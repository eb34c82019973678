"""Topology checks of one layer and of parent/child nesting (拓扑检查), as gap frames.

Like QGIS's Topology Checker, but knowing what a grid is: findings carry the kinds of docs/domain.md,
the codes involved, a measure in m² or m, and a sentence in Chinese and English.

All functions take GeoDataFrames in a **metric** CRS (see :func:`gridmap.crs.metric_crs_for`) with
the columns of :mod:`gridmap.layers`; geometry of findings is returned in EPSG:4326.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> from gridmap.config import Settings
>>> grids = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[box(0, 0, 100, 100), box(90, 0, 200, 100)], crs=4544)
>>> found = overlaps(grids, "grid:party", Settings())
>>> found[["kind", "code", "codes", "measure"]].values.tolist()
[['grid_overlap', 'A', 'A;B', 1000.0]]
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.config import Settings
from gridmap.core.gaps import Gap, empty_gaps, make_gaps
from gridmap.core.parallel import by_rows
from gridmap.core.pieces import is_valid, piece_shares, remembered, share_inside
from gridmap.core.pieces import shared_pieces as shared_pieces  # the integration's block
from gridmap.layers import STORAGE_CRS


def _to_storage(geoms, crs) -> np.ndarray:
    return gpd.GeoSeries(list(geoms), crs=crs).to_crs(STORAGE_CRS).values


def reprojected_gaps(records: list[Gap], crs) -> gpd.GeoDataFrame:
    """Records whose geometry is in ``crs`` → a gap frame in EPSG:4326."""
    if not records:
        return empty_gaps()
    geoms = _to_storage([r.geometry for r in records], crs)
    for record, geom in zip(records, geoms, strict=True):
        record.geometry = geom
    return make_gaps(records)


def mean_width(geoms) -> np.ndarray:
    """2 × area / perimeter: about the width of a long thin piece (碎片的平均宽度)."""
    length = shapely.length(geoms)
    return np.where(length > 0, 2 * shapely.area(geoms) / np.where(length > 0, length, 1), 0.0)


def run_starts(*keys: np.ndarray) -> np.ndarray:
    """True on the first row of every run of equal keys (rows sorted by them); works on no rows."""
    first = np.zeros(len(keys[0]), dtype=bool)
    first[:1] = True
    for key in keys:
        first[1:] |= key[1:] != key[:-1]
    return first


def union_by(geoms: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """``shapely.union_all`` of each group (``group`` holds 0 … n_groups-1, any order).

    Members of a group are unioned in the order they come in, exactly as one ``union_all``
    call per group would; groups of one size go to GEOS together in one vectorised call.
    """
    order = np.argsort(group, kind="stable")
    sizes = np.bincount(group, minlength=n_groups)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    out = np.empty(n_groups, dtype=object)
    for size in np.unique(sizes[sizes > 0]):
        # groups of one size side by side: one vectorised call per distinct size
        which = np.flatnonzero(sizes == size)
        table = geoms[order[starts[which, None] + np.arange(size)]]
        out[which] = by_rows(shapely.union_all, table, axis=1)
    return out


def self_pairs(
    frame: gpd.GeoDataFrame, predicate: str = "intersects"
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of features of one frame that meet, through the STRtree."""
    geoms = frame.geometry.values
    # boxes first, the predicate only on pairs i < j: every feature meets itself, and asking
    # the tree for the predicate would test each of those pairs (the same pairs, same order)
    left, right = frame.sindex.query(geoms)
    keep = left < right
    left, right = left[keep], right[keep]
    meet = getattr(shapely, predicate)(geoms[left], geoms[right])
    return left[meet], right[meet]


def _meeting(frame: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs i < j of one layer that meet, and whether they only touch (asked by two checks)."""

    def compute():
        left, right = self_pairs(frame)
        geoms = frame.geometry.values
        return left, right, shapely.touches(geoms[left], geoms[right])

    return remembered("meeting", frame.geometry.values, compute)


def layer_defects(frame: gpd.GeoDataFrame, layer: str, settings: Settings) -> gpd.GeoDataFrame:
    """invalid_geometry (repaired on import or still invalid), multipart_feature, duplicate_feature."""
    records: list[Gap] = []
    codes, names = (
        frame["code"].to_numpy(),
        frame.get("name", pd.Series([""] * len(frame))).fillna(""),
    )
    notes = frame["repair_note"] if "repair_note" in frame else pd.Series([None] * len(frame))
    geoms = frame.geometry.values
    still_invalid = ~is_valid(frame)
    for i in np.flatnonzero(
        notes.notna().to_numpy() & (notes.astype(str) != "").to_numpy() | still_invalid
    ):
        note = (
            notes.iloc[i] if isinstance(notes.iloc[i], str) else shapely.is_valid_reason(geoms[i])
        )
        records.append(Gap("invalid_geometry", layer, codes[i], names.iloc[i], float(shapely.area(geoms[i])), "m2",
                           f"{codes[i]} 的几何无效，已修复: {note}", f"{codes[i]} had an invalid geometry, repaired: {note}",
                           geoms[i], codes=codes[i]))  # fmt: skip
    parts = shapely.get_num_geometries(geoms)
    for i in np.flatnonzero(parts > 1):
        records.append(Gap("multipart_feature", layer, codes[i], names.iloc[i], float(parts[i]), "count",
                           f"{codes[i]} 由 {parts[i]} 个不相连的部分组成", f"{codes[i]} has {parts[i]} separate parts",
                           geoms[i], codes=codes[i]))  # fmt: skip
    left, right, touching = _meeting(frame)
    # neighbours that only touch differ by both their areas (kept when those are tiny)
    area = shapely.area(geoms)
    keep = ~touching
    keep |= area[left] + area[right] <= 2 * settings.overlap_tolerance_m2
    left, right = left[keep], right[keep]
    if len(left):
        difference = shapely.area(shapely.symmetric_difference(geoms[left], geoms[right]))
        for i, j in zip(
            left[difference <= settings.overlap_tolerance_m2],
            right[difference <= settings.overlap_tolerance_m2],
            strict=True,
        ):
            first, second = sorted((codes[i], codes[j]))
            records.append(Gap("duplicate_feature", layer, second, names.iloc[j], float(shapely.area(geoms[j])), "m2",
                               f"{second} 与 {first} 图形相同 (重复录入)", f"{second} repeats {first}",
                               geoms[j], codes=f"{first};{second}"))  # fmt: skip
    return reprojected_gaps(records, frame.crs)


def overlaps(grids: gpd.GeoDataFrame, layer: str, settings: Settings) -> gpd.GeoDataFrame:
    """grid_overlap (or sliver, when thin) between features of one grid layer."""
    geoms, codes = grids.geometry.values, grids["code"].to_numpy()
    left, right, touching = _meeting(grids)
    # neighbours that only touch share no ground: nothing to measure
    keep = ~touching
    left, right = left[keep], right[keep]
    if not len(left):
        return empty_gaps()
    shared = shapely.intersection(geoms[left], geoms[right])
    area = shapely.area(shared)
    width = mean_width(shared)
    # decide on one side shrunk by the snapping tolerance: centimetre noise along a shared border
    # vanishes there, a real overlap does not
    shrunk = shapely.buffer(geoms[right], -settings.snap_tolerance_m)
    real = shapely.area(shapely.intersection(geoms[left], shrunk))
    records = []
    for k in np.flatnonzero(real > settings.overlap_tolerance_m2):
        a, b = sorted((codes[left[k]], codes[right[k]]))
        thin = width[k] < settings.sliver_max_width_m
        kind = "sliver" if thin else "grid_overlap"
        zh = f"{a} 与 {b} {'之间有细长重叠碎片' if thin else '重叠'} {area[k]:.0f} 平方米"
        en = f"{a} and {b} overlap by {area[k]:.0f} m²{' in a thin sliver' if thin else ''}"
        records.append(Gap(kind, layer, a, "", round(float(area[k] if not thin else width[k]), 2), "m2" if not thin else "m",
                           zh, en, shared[k], codes=f"{a};{b}"))  # fmt: skip
    return reprojected_gaps(records, grids.crs)


def coverage_gaps(
    grids: gpd.GeoDataFrame, parents: gpd.GeoDataFrame, layer: str, settings: Settings
) -> gpd.GeoDataFrame:
    """uncovered_area (留白) — or sliver, when thin — inside each parent (community)."""
    records = []
    tree = shapely.STRtree(grids.geometry.values)
    snap = settings.snap_tolerance_m
    for code, parent in zip(parents["code"], parents.geometry.values, strict=True):
        near = tree.query(parent, predicate="intersects")
        covered = shapely.union_all(grids.geometry.values[near]) if len(near) else shapely.Polygon()
        # grown by the snapping tolerance so centimetre noise along shared borders is no gap
        covered = shapely.buffer(covered, snap, join_style="mitre")
        found = shapely.get_parts(shapely.difference(parent, covered))
        # grown back by the tolerance: the gaps' real extent and area (all pieces in one call;
        # only those grown across the community's border are cut back to it)
        pieces = shapely.buffer(found, snap, join_style="mitre")
        # asked of a copy: shapely prepares the community for the call, and the communities
        # are shared with the unified grid's overlays, whose predicates a prepared community
        # can answer differently at float noise
        across = ~shapely.contains(shapely.from_wkb(shapely.to_wkb(parent)), pieces)
        pieces[across] = shapely.intersection(pieces[across], parent)
        pieces = pieces[shapely.area(pieces) > settings.gap_tolerance_m2]
        contacts = _neighbours_by_contact(grids, near, pieces, snap)
        for piece, neighbours in zip(pieces, contacts, strict=True):
            area = piece.area
            width = float(mean_width(piece))
            thin = width < settings.sliver_max_width_m
            joined = ";".join(neighbours)
            if thin:
                records.append(Gap("sliver", layer, neighbours[0] if neighbours else code, "", round(width, 2), "m",
                                   f"社区 {code} 内网格 {joined} 之间有约 {width:.2f} 米宽的缝隙",
                                   f"A gap about {width:.2f} m wide between grids {joined} in community {code}",
                                   piece, codes=joined, community_code=code))  # fmt: skip
            else:
                records.append(Gap("uncovered_area", layer, neighbours[0] if neighbours else code, "", round(float(area), 1), "m2",
                                   f"社区 {code} 内有 {area:.0f} 平方米不属于任何网格 (留白)，相邻网格: {joined or '无'}",
                                   f"{area:.0f} m² of community {code} lie in no grid; next to: {joined or 'none'}",
                                   piece, codes=joined, community_code=code))  # fmt: skip
    return reprojected_gaps(records, grids.crs)


def _neighbours_by_contact(
    grids: gpd.GeoDataFrame, near: np.ndarray, pieces: np.ndarray, snap: float
) -> list[list[str]]:
    """The cells along each gap piece, most contact first (ties in the order of ``near``);
    cells touching a piece at a point only are left out. All pieces in a few calls."""
    out: list[list[str]] = [[] for _ in range(len(pieces))]
    if not len(pieces) or not len(near):
        return out
    reach = shapely.buffer(pieces, 2 * snap)
    geoms = grids.geometry.values[near]
    piece, cell = shapely.STRtree(geoms).query(reach, predicate="intersects")
    contact = shapely.area(shapely.intersection(geoms[cell], reach[piece]))
    keep = contact > 2 * snap * 1.0
    piece, cell, contact = piece[keep], cell[keep], contact[keep]
    codes = grids["code"].to_numpy()[near]
    for k in np.lexsort((cell, -contact, piece)):
        out[piece[k]].append(str(codes[cell[k]]))
    return out


def _across(shares: pd.DataFrame, min_area: float, min_share: float = 0.01) -> pd.DataFrame:
    """The shares of children held by two or more parents (the second by at least ``min_share``),
    sorted by child and falling share; computed vectorised, not group by group."""
    shares = shares[shares["area"] > min_area]
    shares = shares[shares["child"].duplicated(keep=False)]
    shares = shares.sort_values(["child", "share"], ascending=[True, False], kind="stable")
    rank = shares.groupby("child").cumcount()
    second = shares[rank == 1].set_index("child")["share"]
    keep = shares["child"].map(second).fillna(0) >= min_share
    return shares[keep.to_numpy()]


def _split_groups(split: pd.DataFrame, children: gpd.GeoDataFrame):
    """(child, parents, shares, geometry) per split child, in code order (``split`` from ``_across``)."""
    if split.empty:
        return
    # position of each code's (last) feature, as a dict of the layer would give it
    position = dict(zip(children["code"].tolist(), range(len(children)), strict=True))
    geoms = children.geometry.values
    child = split["child"].to_numpy(dtype=object)
    parent, share = split["parent"].to_numpy(dtype=object), split["share"].to_numpy(dtype=float)
    starts = np.flatnonzero(run_starts(child))
    for a, b in zip(starts.tolist(), [*starts[1:].tolist(), len(child)], strict=True):
        yield child[a], parent[a:b].tolist(), share[a:b], geoms[position[child[a]]]


def straddles(
    children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame, kind: str, layer: str, settings: Settings
) -> gpd.GeoDataFrame:
    """Children across two or more parents (a grid or compound across communities), with shares."""
    split = _across(piece_shares(children, parents), settings.overlap_tolerance_m2)
    records = []
    for child, mums, shares, geom in _split_groups(split, children):
        parts_zh = "、".join(f"{p} {s:.0%}" for p, s in zip(mums, shares, strict=True))
        minor = float(shares[1:].sum())
        records.append(Gap(kind, layer, child, "", round(minor, 4), "share",
                           f"{child} 跨越 {len(mums)} 个社区: {parts_zh}", f"{child} straddles {len(mums)} communities: {parts_zh}",
                           geom, codes=";".join([child, *mums]), community_code=mums[0]))  # fmt: skip
    return reprojected_gaps(records, children.crs)


def outside(
    children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame, kind: str, layer: str, parent_label: str
) -> gpd.GeoDataFrame:
    """Children that lie mostly (over half) outside every parent: a compound in no community …"""
    inside = share_inside(children, parents)
    records = []
    for i in np.flatnonzero(inside < 0.5):
        code = children["code"].iloc[i]
        records.append(Gap(kind, layer, code, str(children.get("name", pd.Series([""] * len(children))).iloc[i] or ""),
                           round(1 - float(inside[i]), 4), "share",
                           f"{code} 不在任何{parent_label[0]}内 ({1 - inside[i]:.0%} 在外)", f"{code} lies in no {parent_label[1]} ({1 - inside[i]:.0%} outside)",
                           children.geometry.values[i], codes=code))  # fmt: skip
    return reprojected_gaps(records, children.crs)


def compound_splits(
    compounds: gpd.GeoDataFrame, grids: gpd.GeoDataFrame, layer: str, settings: Settings
) -> gpd.GeoDataFrame:
    """compound_split: a compound cut between grids of one layer (shares on each side)."""
    split = _across(piece_shares(compounds, grids), settings.overlap_tolerance_m2)
    records = []
    for child, mums, shares, geom in _split_groups(split, compounds):
        parts = "、".join(f"{p} {s:.0%}" for p, s in zip(mums, shares, strict=True))
        records.append(Gap("compound_split", layer, child, "", round(float(shares[1:].sum()), 4), "share",
                           f"小区 {child} 被网格分割: {parts}", f"Compound {child} is cut between grids: {parts}",
                           geom, codes=";".join([child, *mums])))  # fmt: skip
    return reprojected_gaps(records, compounds.crs)

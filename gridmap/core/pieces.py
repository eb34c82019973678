"""Area shares of children in parents (buildings in compounds, compounds in grids …), measured once.

Most children lie wholly inside one parent: those are found with a vectorised ``contains`` on
prepared parents and get share 1 without an intersection; exact areas are computed only for
children that cross a border. Inside :func:`shared_pieces` the pieces of the same two layers are
measured once, and a child known to lie wholly inside a middle feature that lies wholly inside a
parent (a building in a compound in a grid cell) is not tested against that parent again.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> kids = gpd.GeoDataFrame({"code": ["b1", "b2"]}, geometry=[box(0, 0, 1, 1), box(9, 0, 11, 1)], crs=4544)
>>> mums = gpd.GeoDataFrame({"code": ["A", "B"]}, geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10)], crs=4544)
>>> piece_shares(kids, mums).values.tolist()
[['b1', 'A', 1.0, 1.0], ['b2', 'A', 1.0, 0.5], ['b2', 'B', 1.0, 0.5]]
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.core.parallel import by_rows, prepared_predicate

_SHARED: ContextVar[dict | None] = ContextVar("shared_pieces", default=None)


@contextmanager
def shared_pieces() -> Iterator[None]:
    """Inside this block the pieces of the same two layers are computed once.

    One integration asks for compounds in communities three times (straddles, outside,
    hierarchy), buildings in compounds twice …; the frames must not change inside the block.
    """
    token = _SHARED.set({"pieces": {}})
    try:
        yield
    finally:
        _SHARED.reset(token)


def remembered(kind: str, geoms, compute):
    """``compute()`` once per kind and geometry array inside the block (every time outside it)."""
    cache = _SHARED.get()
    if cache is None:
        return compute()
    known = cache.setdefault(kind, {})
    hit = known.get(id(geoms))
    if hit is None or hit[0] is not geoms:
        hit = known[id(geoms)] = (geoms, compute())
    return hit[1]


def _validity(geoms) -> np.ndarray:
    return remembered("valid", geoms, lambda: by_rows(shapely.is_valid, np.asarray(geoms)))


def is_valid(frame: gpd.GeoDataFrame) -> np.ndarray:
    """``shapely.is_valid`` of every feature (asked by the layer checks and the shortcut below)."""
    return _validity(frame.geometry.values)


def representative_points(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A point surely inside each feature, as a frame (its spatial index built once per block).

    Buildings are counted by their point in every departmental layer and in the crosswalk.
    """
    return remembered(
        "points",
        frame.geometry.values,
        lambda: gpd.GeoDataFrame(
            geometry=frame.geometry.representative_point().values, crs=frame.crs
        ),
    )


def _pieces(children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame):
    """(child, parent, area, share) arrays of children wholly inside a parent, and of the rest."""
    cache = _SHARED.get()
    kids, mums = children.geometry.values, parents.geometry.values
    if cache is None:
        return _measure_pieces(children, parents, None)
    key = (id(kids), id(mums))
    hit = cache["pieces"].get(key)
    if hit is None or hit[0] is not kids or hit[1] is not mums:
        implied = _implied_parents(children, parents, cache["pieces"])
        hit = cache["pieces"][key] = (kids, mums, _measure_pieces(children, parents, implied))
    return hit[2]


def _implied_parents(children, parents, measured: dict) -> np.ndarray | None:
    """For each child, a parent known to contain it (−1 where none is known), or None.

    Containment is transitive: a child wholly inside a middle feature that lies wholly inside a
    parent is wholly inside that parent. Used only where all three are valid geometries.
    """
    kids, mums = children.geometry.values, parents.geometry.values
    for k, middle, (whole, _) in list(measured.values()):
        hit = measured.get((id(middle), id(mums)))
        if k is not kids or hit is None or hit[0] is not middle or hit[1] is not mums:
            continue
        (mid_inside, mid_parent, _, _), _ = hit[2]
        to_parent = np.full(len(middle), -1)
        to_parent[mid_inside] = mid_parent
        kid, mid = whole[0], whole[1]
        parent = to_parent[mid]
        ok = (parent >= 0) & _validity(middle)[mid] & _validity(kids)[kid]
        ok[ok] &= _validity(mums)[parent[ok]]
        implied = np.full(len(kids), -1)
        implied[kid[ok]] = parent[ok]
        return implied
    return None


def _first_containing(mums, right, kids, left, implied) -> np.ndarray:
    """``contains(mums[right], kids[left])`` where it decides a child's first containing parent.

    Pairs come grouped by child; a child's pair with its implied parent is true without a test,
    and the pairs after it are never looked at (left false).
    """
    if implied is None:
        return prepared_predicate("contains", mums, right, kids, left)
    at = right == implied[left]
    position = np.arange(len(left))
    known_at = np.full(len(kids), len(left))
    known_at[left[at]] = position[at]
    test = position < known_at[left]
    inside = np.zeros(len(left), dtype=bool)
    inside[test] = prepared_predicate("contains", mums, right[test], kids, left[test])
    inside[at] = True
    return inside


def _measure_pieces(children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame, implied):
    kids = np.asarray(children.geometry.values, dtype=object)
    mums = np.asarray(parents.geometry.values, dtype=object)
    left, right = parents.sindex.query(kids)  # bounding boxes only: cheap
    inside = _first_containing(mums, right, kids, left, implied)
    whole_kid, first = np.unique(left[inside], return_index=True)
    whole = (
        whole_kid,
        right[inside][first],
        shapely.area(kids[whole_kid]),
        np.ones(len(whole_kid)),
    )
    rest = ~np.isin(left, whole_kid)
    left, right = left[rest], right[rest]
    area = shapely.area(shapely.intersection(kids[left], mums[right])) if len(left) else np.zeros(0)
    child_area = shapely.area(kids[left])
    share = np.where(child_area > 0, area / np.where(child_area > 0, child_area, 1), 0.0)
    cut = area > 0
    return whole, (left[cut], right[cut], area[cut], share[cut])


def piece_positions(
    children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`piece_shares` by row position: arrays ``child, parent, area, share``, same rows."""
    whole, cut = _pieces(children, parents)
    child, parent, area, share = (np.concatenate(pair) for pair in zip(whole, cut, strict=True))
    return child.astype(np.intp), parent.astype(np.intp), area.astype(float), share.astype(float)


def piece_shares(children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> pd.DataFrame:
    """Every (child, parent) pair that shares ground, with the area and the child's share."""
    kid_codes, mum_codes = children["code"].to_numpy(), parents["code"].to_numpy()
    whole, cut = _pieces(children, parents)
    frames = [
        pd.DataFrame({"child": kid_codes[c], "parent": mum_codes[p], "area": a, "share": s})
        for c, p, a, s in (whole, cut)
    ]
    out = pd.concat(frames, ignore_index=True)
    return out if len(out) else pd.DataFrame(columns=["child", "parent", "area", "share"])


def share_inside(children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> np.ndarray:
    """The share of each child lying in any parent, summed per child code."""
    codes = children["code"]
    if not (codes.is_unique and codes.notna().all()):
        shares = piece_shares(children, parents).groupby("child")["share"].sum()
        return codes.map(shares).fillna(0.0).to_numpy()
    # one code per row: sums by row position, without a frame of code strings; a child wholly
    # inside a parent has that one share, the others are summed as the groupby above would
    (whole_kid, _, _, whole_share), (kid, _, _, share) = _pieces(children, parents)
    inside = np.zeros(len(children))
    inside[whole_kid] = whole_share
    if len(kid):
        sums = pd.Series(share).groupby(kid).sum()
        inside[sums.index.to_numpy()] = sums.to_numpy()
    return inside


def overlay_pieces(children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gpd.overlay(children, parents, how="intersection", keep_geom_type=True)``, same rows.

    A valid child lying wholly inside a valid parent is its own piece there: its intersection
    with that parent is not computed (most compounds lie inside one community, most cells too).
    Children that cross a border go through ``gpd.overlay`` as they are. The two frames must
    not share column names other than the geometry's.

    >>> kids = gpd.GeoDataFrame({"k": ["b1", "b2"]}, geometry=[shapely.box(0, 0, 1, 1), shapely.box(9, 0, 11, 1)])
    >>> mums = gpd.GeoDataFrame({"m": ["A", "B"]}, geometry=[shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)])
    >>> pieces = overlay_pieces(kids, mums)
    >>> pieces[["k", "m"]].values.tolist(), pieces.area.tolist()
    ([['b1', 'A'], ['b2', 'A'], ['b2', 'B']], [1.0, 1.0, 1.0])
    """
    shared = set(children.columns) & set(parents.columns) - {children.geometry.name}
    if shared:  # overlay would suffix them _1 and _2; the callers name their columns apart
        raise ValueError(f"overlay_pieces: columns in both frames: {sorted(shared)}")
    kids = np.asarray(children.geometry.values, dtype=object)
    mums = np.asarray(parents.geometry.values, dtype=object)
    left, right = parents.sindex.query(kids)  # bounding boxes only
    held = prepared_predicate("contains", mums, right, kids, left)
    held &= _validity(children.geometry.values)[left] & _validity(parents.geometry.values)[right]
    loose = np.unique(left[~held])  # children with a parent they are not wholly inside
    whole = ~np.isin(left, loose)
    parts = [(left[whole], right[whole], kids[left[whole]])]
    if len(loose):
        kid, mum = "__gridmap_child", "__gridmap_parent"
        cut = gpd.overlay(
            children.iloc[loose].assign(**{kid: loose}),
            parents.assign(**{mum: np.arange(len(parents))}),
            how="intersection",
            keep_geom_type=True,
        )
        parts.append((cut[kid].to_numpy(), cut[mum].to_numpy(), cut.geometry.to_numpy()))
    kid, mum, geoms = (np.concatenate(arrays) for arrays in zip(*parts, strict=True))
    kid, mum = kid.astype(np.intp), mum.astype(np.intp)
    order = np.lexsort((mum, kid))  # overlay's order: by child, then parent
    attrs = pd.concat([_attributes(children, kid[order]), _attributes(parents, mum[order])], axis=1)
    return gpd.GeoDataFrame(attrs, geometry=geoms[order], crs=children.crs)


def _attributes(frame: gpd.GeoDataFrame, rows: np.ndarray) -> pd.DataFrame:
    """The columns of ``frame`` but its geometry, at row positions ``rows``, indexed from 0."""
    return pd.DataFrame(frame.drop(columns=frame.geometry.name)).iloc[rows].reset_index(drop=True)

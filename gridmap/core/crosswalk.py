"""The crosswalk of the unified grid to every departmental grid, and where departments disagree.

Each row is a unified cell × a departmental cell sharing ground: the shared area in m², the share
of each cell, and the households of the buildings whose representative point lies in the shared
part. A departmental cell split across communities or across several unified cells is a
disagreement (多网合一 asks each department to redraw it). Metric CRS, as in :mod:`.integrate`.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> unified = gpd.GeoDataFrame({"code": ["U1", "U2"]}, geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=4544)
>>> dept = gpd.GeoDataFrame({"code": ["D1"]}, geometry=[box(50, 0, 150, 100)], crs=4544)
>>> homes = gpd.GeoDataFrame({"households": [12, 30]}, geometry=[box(60, 10, 70, 20), box(120, 10, 130, 20)], crs=4544)
>>> crosswalk(unified, {"zongzhi": dept}, homes)[["unified_code", "dept_code", "shared_area_m2", "households_shared"]].values.tolist()
[['U1', 'D1', 5000.0, 12], ['U2', 'D1', 5000.0, 30]]
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.core.pieces import piece_shares, representative_points
from gridmap.core.topology import run_starts


def crosswalk(
    unified: gpd.GeoDataFrame, departments: dict[str, gpd.GeoDataFrame], buildings: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Unified cell × departmental cell: shared area m², each side's share, households shared."""
    return joined_crosswalk(crosswalk_layers(unified, departments, buildings))


def crosswalk_layers(
    unified: gpd.GeoDataFrame, departments: dict[str, gpd.GeoDataFrame], buildings: gpd.GeoDataFrame
) -> list[pd.DataFrame]:
    """The rows of :func:`crosswalk`, one frame per layer (see :func:`joined_crosswalk`)."""
    rows = []
    points = representative_points(buildings)
    households_of = buildings["households"].to_numpy()
    for layer, dept in departments.items():
        left = gpd.GeoDataFrame({"unified_code": unified["code"].to_numpy(), "u_area": unified.area.to_numpy()},
                                geometry=unified.geometry.values, crs=unified.crs)  # fmt: skip
        right = gpd.GeoDataFrame({"dept_code": dept["code"].to_numpy(), "d_area": dept.area.to_numpy()},
                                 geometry=dept.geometry.values, crs=unified.crs)  # fmt: skip
        pieces = gpd.overlay(left, right, how="intersection", keep_geom_type=True)
        pieces = pieces[pieces.area > 1.0].reset_index(drop=True)
        hits = gpd.sjoin(points, pieces[["geometry"]], predicate="within")
        households = (
            pd.Series(households_of[hits.index.to_numpy()])
            .groupby(hits["index_right"].to_numpy())
            .sum()
        )
        rows.append(pd.DataFrame({
            "unified_code": pieces["unified_code"], "layer": layer, "dept_code": pieces["dept_code"],
            "shared_area_m2": pieces.area.round(1),
            "share_of_unified": (pieces.area / pieces["u_area"]).round(4),
            "share_of_dept": (pieces.area / pieces["d_area"]).round(4),
            "households_shared": pieces.index.map(households).fillna(0).astype(int),
        }))  # fmt: skip
    return rows


def joined_crosswalk(rows: list[pd.DataFrame]) -> pd.DataFrame:
    """The frames of :func:`crosswalk_layers` (layers in the order given) as one sorted table."""
    if not rows:
        return pd.DataFrame(columns=["unified_code", "layer", "dept_code", "shared_area_m2", "share_of_unified",
                                     "share_of_dept", "households_shared"])  # fmt: skip
    out = pd.concat(rows, ignore_index=True)
    return out.sort_values(["layer", "dept_code", "unified_code"], kind="stable").reset_index(
        drop=True
    )


def sorted_joins(keys: pd.Series, values: pd.Series) -> dict:
    """key → its values sorted and ';'-joined (duplicates kept), for every key at once.

    >>> sorted_joins(pd.Series(["D2", "D1", "D2"]), pd.Series(["U3", "U1", "U2"]))
    {'D1': 'U1', 'D2': 'U2;U3'}
    """
    pairs = pd.DataFrame(
        {"key": keys.to_numpy(dtype=object), "value": values.to_numpy(dtype=object)}
    )
    if pairs.empty:
        return {}
    pairs = pairs.sort_values(["key", "value"], kind="stable")
    key, value = pairs["key"].to_numpy(), pairs["value"].to_numpy()
    starts = np.flatnonzero(run_starts(key))
    separator = np.full(len(value), ";", dtype=object)
    separator[np.r_[starts[1:], len(value)] - 1] = ""
    return dict(
        zip(key[starts].tolist(), np.add.reduceat(value + separator, starts).tolist(), strict=True)
    )


def disagreements(
    cross: pd.DataFrame,
    departments: dict[str, gpd.GeoDataFrame],
    communities: gpd.GeoDataFrame,
    min_share: float = 0.05,
) -> pd.DataFrame:
    """Departmental cells split across communities or across several unified cells."""
    rows = []
    for layer, dept in departments.items():
        parts = cross[(cross["layer"] == layer) & (cross["share_of_dept"] >= min_share)]
        unified = sorted_joins(parts["dept_code"], parts["unified_code"])
        shares = piece_shares(dept, communities)
        shares = shares[shares["share"] >= min_share]
        comm = sorted_joins(shares["child"], shares["parent"])
        for code in dept["code"].tolist():
            u, c = unified.get(code, ""), comm.get(code, "")
            n_u, n_c = len(u.split(";")) if u else 0, len(c.split(";")) if c else 0
            if n_u > 1 or n_c > 1:
                rows.append({"layer": layer, "dept_code": code, "n_unified": n_u, "unified_codes": u,
                             "n_communities": n_c, "community_codes": c})  # fmt: skip
    return pd.DataFrame(
        rows,
        columns=[
            "layer",
            "dept_code",
            "n_unified",
            "unified_codes",
            "n_communities",
            "community_codes",
        ],
    )

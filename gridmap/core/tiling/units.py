"""Units (划分单元): compounds and clusters of loose buildings, of the unit fabric and the grid
proposal alike.

Every compound (小区) is placed in the community holding its largest area share and clipped to it,
with the households of the buildings it holds; buildings in no compound form one unit per cluster
of neighbouring buildings (楼院). What lies in no community is noted, not placed. Overlapping units
give the shared ground to the earlier one.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> comm = gpd.GeoDataFrame({"code": ["C1"]}, geometry=[box(0, 0, 300, 100)], crs=4544)
>>> xq = gpd.GeoDataFrame({"code": ["X1"]}, geometry=[box(10, 10, 90, 90)], crs=4544)
>>> ld = gpd.GeoDataFrame({"code": ["B1", "B2"], "households": [120, 80]},
...                       geometry=[box(20, 20, 80, 80), box(220, 20, 280, 80)], crs=4544)
>>> units, notes = units_of(xq, ld, comm)
>>> units[["code", "kind", "households", "compounds", "loose_buildings"]].values.tolist()
[['X1', 'compound', 120, 'X1', ''], ['B2', 'buildings', 80, '', 'B2']]
>>> notes
[]
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from gridmap.core.groups import clusters
from gridmap.core.tiling.geometry import DUST_M2
from gridmap.core.topology import piece_shares
from gridmap.io.polygons import polygons_of


@dataclass
class UnitNote:
    """What :func:`units_of` could not place as drawn: a compound across a community border
    (``compound_straddles_community``, ``measure`` the share outside, ``units`` its unit), or a
    compound or building in no community (``…_outside_community``, ``measure`` its households,
    ``codes`` its code). The grid proposal reports them (its ``PROBLEM_KINDS``)."""

    kind: str
    community: str | None
    units: list[int]
    measure: float
    codes: str = ""


def largest_share(children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame):
    """Each child's parent position by largest area share (-1: none) and that share."""
    parent, share = np.full(len(children), -1), np.zeros(len(children))
    if len(children) and len(parents):

        def numbered(f):  # positions, not codes: duplicate codes are a finding, not a crash
            return gpd.GeoDataFrame(
                {"code": np.arange(len(f))}, geometry=f.geometry.values, crs=f.crs
            )

        shares = piece_shares(numbered(children), numbered(parents))
        shares = shares.sort_values(["child", "area"], ascending=[True, False], kind="stable")
        shares = shares.drop_duplicates("child")
        parent[shares["child"].to_numpy(dtype=int)] = shares["parent"].to_numpy(dtype=int)
        share[shares["child"].to_numpy(dtype=int)] = shares["share"].to_numpy(dtype=float)
    return parent, share


def units_of(compounds, buildings, communities) -> tuple[gpd.GeoDataFrame, list[UnitNote]]:
    """Compounds (clipped to their community) and clusters of loose buildings, with households."""
    notes: list[UnitNote] = []
    areas, comm_codes = communities.geometry.values, communities["code"].to_numpy()
    households = buildings["households"].fillna(0).to_numpy(dtype=np.int64)
    home, share = largest_share(compounds, communities)
    in_compound, _ = largest_share(buildings, compounds)
    held = in_compound >= 0
    per_compound = np.bincount(in_compound[held], households[held], minlength=len(compounds))
    codes = compounds["code"].astype(str).to_numpy()
    rows = []
    for i in np.flatnonzero(home < 0):
        notes.append(UnitNote("compound_outside_community", None, [], float(per_compound[i]), codes=codes[i]))  # fmt: skip
    for i in np.flatnonzero(home >= 0):
        seed = compounds.geometry.values[i]
        if share[i] < 1.0:
            seed = polygons_of(shapely.intersection(seed, areas[home[i]]), min_area_m2=DUST_M2)
            if shapely.area(compounds.geometry.values[i]) - shapely.area(seed) > 1.0:
                notes.append(UnitNote("compound_straddles_community", comm_codes[home[i]], [len(rows)], round(1 - share[i], 4)))  # fmt: skip
        rows.append({"code": codes[i], "kind": "compound", "community_code": comm_codes[home[i]],
                     "households": int(per_compound[i]), "compounds": codes[i], "loose_buildings": "",
                     "geometry": seed})  # fmt: skip
    loose = buildings[~held]
    where, _ = largest_share(loose, communities)
    b_codes = loose["code"].astype(str).to_numpy()
    for i in np.flatnonzero(where < 0):
        notes.append(UnitNote("building_outside_community", None, [], float(households[~held][i]), codes=b_codes[i]))  # fmt: skip
    for c in np.unique(where[where >= 0]):
        mine = np.flatnonzero(where == c)
        for group in np.unique(label := clusters(loose.iloc[mine])):
            members = mine[label == group]
            rows.append({"code": b_codes[members[0]], "kind": "buildings", "community_code": comm_codes[c],
                         "households": int(households[~held][members].sum()), "compounds": "",
                         "loose_buildings": ";".join(b_codes[members]),
                         "geometry": polygons_of(shapely.intersection(shapely.union_all(loose.geometry.values[members]), areas[c]), min_area_m2=DUST_M2)})  # fmt: skip
    columns = ["code", "kind", "community_code", "households", "compounds", "loose_buildings", "geometry"]  # fmt: skip
    return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=communities.crs), notes


def without_overlaps(seeds: np.ndarray) -> np.ndarray:
    """Overlapping units (a digitising error) give the shared ground to the earlier one."""
    seeds = seeds.copy()
    # "intersects", not "overlaps": a duplicate or a compound drawn inside another must go too
    left, right = shapely.STRtree(seeds).query(seeds, predicate="intersects")
    for i, j in sorted(zip(left, right, strict=True)):
        if i < j and shapely.area(shapely.intersection(seeds[i], seeds[j])) > DUST_M2:
            seeds[j] = polygons_of(shapely.difference(seeds[j], seeds[i]), min_area_m2=DUST_M2)
    return seeds

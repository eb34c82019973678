"""The proposal on the unit fabric (单元底图): what its units hold and how they read in problems.

The proposal groups the units of :func:`gridmap.core.fabric.unit_fabric` (or the stored fabric),
so that every proposed cell is the dissolve of its units and the plan can be painted like any
other. These helpers give each fabric unit its own ground (for the distance of an exclave), the
code a planner reads (the compound's code, not the fabric's), the compounds without ground of
their own (a duplicate, or one drawn inside another) and the unit holding them, and the ground of
a territory cut off from its unit.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> fabric = gpd.GeoDataFrame({"code": ["C1-X1", "C1-X2-1", "C1-LB7"], "community_code": ["C1"] * 3,
...     "compound_code": ["X1", "X2", None], "kind": ["compound", "compound_part", "buildings"]},
...     geometry=[box(0, 0, 1, 1)] * 3, crs=4544)
>>> shown_codes(fabric).tolist()
['X1', 'X2-1', 'B7']
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from gridmap.core.tiling.geometry import DUST_M2
from gridmap.io.polygons import polygons_of


def shown_codes(fabric: gpd.GeoDataFrame) -> np.ndarray:
    """The code a planner reads for each unit: the compound's own code for a whole compound, the
    first building's code for loose buildings, the fabric code without its community otherwise."""
    out = []
    for code, community, compound, kind in zip(fabric["code"], fabric["community_code"], fabric["compound_code"], fabric["kind"], strict=True):  # fmt: skip
        if kind == "compound" and isinstance(compound, str):
            out.append(compound)
            continue
        short = code.removeprefix(f"{community}-")
        if kind == "ground":  # a community with no unit: nothing to name
            short = ""
        out.append(short[1:] if kind == "buildings" and short.startswith("L") else short)
    return np.array(out, dtype=object)


def own_ground(fabric: gpd.GeoDataFrame, base: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame):
    """Each unit's own ground inside its territory: its compound, or its buildings (the territory
    where it holds neither, e.g. a community's ground with no unit)."""
    terr = np.asarray(fabric.geometry.values, dtype=object)
    compound_geom = {(c, k): g for c, k, g, kind in zip(base["community_code"], base["code"], base.geometry.values, base["kind"], strict=True) if kind == "compound"}  # fmt: skip
    footprint = dict(zip(buildings["code"].astype(str), buildings.geometry.values, strict=True))
    seeds = terr.copy()
    for i, unit in enumerate(fabric[["community_code", "compound_code", "kind", "building_codes"]].itertuples(index=False)):  # fmt: skip
        listed = [footprint[b] for b in str(unit.building_codes or "").split(";") if b in footprint]
        if unit.kind == "compound" and (unit.community_code, unit.compound_code) in compound_geom:
            own = compound_geom[(unit.community_code, unit.compound_code)]
        elif listed:
            own = shapely.union_all(listed)
        else:
            continue
        clipped = polygons_of(shapely.intersection(own, terr[i]), min_area_m2=DUST_M2)
        if not clipped.is_empty:
            seeds[i] = clipped
    return seeds


def detached_ground(terr: np.ndarray, seeds: np.ndarray) -> list[tuple[int, float]]:
    """Pieces of a territory (over 1 m²) that touch neither its unit's own ground nor another
    territory: ground of the community lying apart (飞地), given to the nearest unit."""
    found = []
    for i in np.flatnonzero(shapely.get_num_geometries(terr) > 1):
        others = shapely.union_all(np.delete(terr, i))
        for piece in shapely.get_parts(terr[i]):
            if piece.area > 1.0 and not piece.intersects(seeds[i]) and not piece.intersects(others):
                found.append((int(i), float(piece.area)))
    return found


def without_ground(fabric: gpd.GeoDataFrame, base: gpd.GeoDataFrame) -> list[tuple[str, str, int]]:
    """Compounds of ``base`` with no unit in the fabric (a duplicate, or one inside another):
    ``(community, compound code, position of the unit holding most of it)``."""
    held = set(zip(fabric["community_code"], fabric["compound_code"], strict=True))
    terr = np.asarray(fabric.geometry.values, dtype=object)
    community = fabric["community_code"].to_numpy(dtype=object)
    out = []
    for c, code, geom, kind in zip(base["community_code"], base["code"], base.geometry.values, base["kind"], strict=True):  # fmt: skip
        if kind != "compound" or (c, code) in held:
            continue
        mine = np.flatnonzero(community == c)
        if not len(mine) or geom is None or geom.is_empty:
            continue
        overlap = shapely.area(shapely.intersection(terr[mine], geom))
        if overlap.max() > 0:
            holder = mine[np.argmax(overlap)]
        else:
            holder = mine[np.argmin(shapely.distance(terr[mine], geom))]
        out.append((c, code, int(holder)))
    return out

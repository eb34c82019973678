"""The unit fabric (单元底图) of each community: territories of compounds that tile it exactly.

A plan painted from these units (a cell is the dissolve of the units assigned to it) can have no
overlap and no 留白, as in the redistricting tools that assign base units to districts. Per
community:

1. **Units**: every compound (小区) whose largest share lies in the community, clipped to it, and
   every cluster of buildings in no compound (楼院) — :func:`gridmap.core.tiling.units.units_of`,
   the units of the automatic proposal too, so a proposal and the fabric agree. A compound across a
   community border (``compound_straddles_community``) is a unit in each community holding a
   part of it (:func:`community_parts`): each community's grid holds its part whole, so no
   painting can cut it; a sliver over the border stays whole in the unit holding most of it.
2. **Territories** (辖区): the community partitioned among its units by the Voronoi diagram of
   their outlines, each unit keeping its own ground, and ground cut off from its unit or far from
   every unit joining the neighbour with the longest border (or the nearest unit) —
   :func:`gridmap.core.tiling.territories.territories`. momepy's tessellations
   (``morphological_tessellation``, ``enclosed_tessellation``) build the same Voronoi diagram of
   outlines, but shrink every outline first (so a compound's own ground is not wholly its own),
   leave cut-off pieces where they fall and would add a dependency; the proposal's diagram is
   tested already and keeps the fabric and the proposal on the same territories. What overlays
   leave (slivers of ground in no territory, or in two) is then given to one unit
   (:func:`_close`), so the territories tile the community to floating-point precision.
3. **The ceiling**: a unit above the household ceiling with two buildings or more is split into
   contiguous building groups: its territory is tessellated by its buildings the same way, and
   the tree cut of the proposal (:func:`gridmap.core.tiling.ceiling.fit_ceiling`) cuts it into
   groups within the band where the buildings allow, and under the ceiling otherwise.

Households, buildings and members of a unit are those whose representative point lies in its
territory, as :func:`gridmap.core.plans.figures_of` counts a drawn cell: a cell painted from units
holds exactly the sum of its units. Inputs in one metric CRS.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> comm = gpd.GeoDataFrame({"code": ["C1"]}, geometry=[box(0, 0, 300, 100)], crs=4544)
>>> xq = gpd.GeoDataFrame({"code": ["X1"]}, geometry=[box(10, 10, 90, 90)], crs=4544)
>>> ld = gpd.GeoDataFrame({"code": ["B1", "B2"], "households": [120, 80]},
...                       geometry=[box(20, 20, 80, 80), box(220, 20, 280, 80)], crs=4544)
>>> units = unit_fabric(comm, xq, ld)
>>> units[["code", "kind", "compound_code", "households", "buildings"]].values.tolist()
[['C1-LB2', 'buildings', None, 80, 1], ['C1-X1', 'compound', 'X1', 120, 1]]
>>> float(round(units.area.sum(), 6))  # the two territories tile the community
30000.0
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.core.plans import Band, cell_holding, figures_of
from gridmap.core.tiling.ceiling import fit_ceiling
from gridmap.core.tiling.geometry import DUST_M2, FUZZ_M, coverage_union
from gridmap.core.tiling.territories import adjacency, join_islands, territories
from gridmap.core.tiling.units import largest_share, units_of, without_overlaps
from gridmap.errors import CRSError
from gridmap.io.polygons import polygons_of

UNIT_COLUMNS = ["code", "community_code", "compound_code", "kind", "households", "buildings",
                "members_full", "members_probationary", "building_codes", "geometry"]  # fmt: skip
PART_MIN_SHARE = 0.01  # a compound's part in another community is a unit from 1 % of it …
PART_MIN_M2 = 1.0  # … and over 1 m² (validation's tolerance); smaller parts stay whole in a unit
KINDS = {
    "compound": "小区 (跨社区的小区在每个社区各为一个单元)",
    "compound_part": "小区的一组楼栋 (小区超过户数上限而拆分)",
    "buildings": "不属于任何小区的楼栋群",
    "ground": "没有小区和楼栋的社区用地",
}


def unit_fabric(
    communities: gpd.GeoDataFrame,
    compounds: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    members: gpd.GeoDataFrame | None = None,
    *,
    floor: int = 300,
    ceiling: int = 500,
    seed: int = 0,
) -> gpd.GeoDataFrame:
    """The units of every community, their territories tiling it, and their figures.

    Parameters
    ----------
    communities, compounds, buildings : GeoDataFrame
        Layers with the columns of :mod:`gridmap.layers`, in one metric CRS.
    members : GeoDataFrame, optional
        Members' homes (points) with ``category`` (``full`` or not), for the member counts.
    floor, ceiling : int
        The household band of a grid: a unit above ``ceiling`` is split into building groups,
        each within the band where its buildings allow.
    seed : int
        Same inputs and seed, same fabric.

    Returns
    -------
    GeoDataFrame
        ``UNIT_COLUMNS``: code (community code + ``-`` + compound code, ``-N`` for the parts of a
        split compound, ``-L`` + first building code for loose buildings, ``-G`` for a community
        with no unit), community_code, compound_code, kind (see ``KINDS``), households,
        buildings, members_full, members_probationary, building_codes (of parts and loose
        clusters), geometry (the territory). Sorted by code.
    """
    _check(communities, compounds, buildings)
    units, _ = units_of(compounds, buildings, communities)
    parts, slivers = community_parts(compounds, communities, units)
    units = pd.concat([units, parts], ignore_index=True)
    rows: list[dict] = []
    rng = np.random.default_rng(seed)
    for code, area in zip(communities["code"], communities.geometry.values, strict=True):
        mine = units[units["community_code"].to_numpy() == code]
        if mine.empty:
            rows.append(_row(f"{code}-G", code, None, "ground", "", area))
            continue
        terr, _ = territories(area, without_overlaps(mine.geometry.values))
        terr = _close(_kept_whole(terr, slivers.get(code, [])), area)
        for unit, geom in zip(mine.itertuples(), terr, strict=True):
            if geom.is_empty:  # a compound inside another: its buildings count in the other's
                continue
            if unit.kind == "compound":
                rows.append(_row(f"{code}-{unit.code}", code, unit.code, "compound", "", geom))
            else:
                first = sorted(unit.loose_buildings.split(";"))[0]
                rows.append(_row(f"{code}-L{first}", code, None, "buildings", unit.loose_buildings, geom))  # fmt: skip
    frame = gpd.GeoDataFrame(rows, columns=UNIT_COLUMNS, geometry="geometry", crs=communities.crs)
    frame = _split_above_ceiling(frame, buildings, floor, ceiling, rng)
    return _with_figures(frame, buildings, members, floor, ceiling)


def community_parts(compounds, communities, units) -> tuple[gpd.GeoDataFrame, dict[str, list]]:
    """The parts of compounds across a community border in the communities other than their
    own (the one holding most of them, where ``units`` place them).

    A part of at least ``PART_MIN_SHARE`` of its compound and over ``PART_MIN_M2`` is a unit of
    its community (``kind`` compound, coded ``<community>-<compound>`` like every compound's
    unit): each community's grid then holds its part whole, as the analysis reports the compound
    as ``compound_straddles_community`` and validation does not call it cut for lying in cells
    of two communities. Smaller parts (digitising slivers along a border) are returned per
    community, to be kept whole in the unit holding most of them.
    """
    columns = list(units.columns)
    rows: list[dict] = []
    slivers: dict[str, list] = {}
    if compounds.empty or communities.empty:
        return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=units.crs), slivers
    home, _ = largest_share(compounds, communities)
    taken = set(zip(units["community_code"], units["compounds"], strict=True))
    geoms = np.asarray(compounds.geometry.values, dtype=object)
    areas = np.asarray(communities.geometry.values, dtype=object)
    comm_codes = communities["code"].to_numpy(dtype=object)
    codes = compounds["code"].astype(str).to_numpy()
    k, c = shapely.STRtree(areas).query(geoms, predicate="intersects")
    for i, j in sorted(zip(k.tolist(), c.tolist(), strict=True), key=lambda p: (codes[p[0]], comm_codes[p[1]])):  # fmt: skip
        if home[i] < 0 or home[i] == j:  # in no community, or its own
            continue
        part = polygons_of(shapely.intersection(geoms[i], areas[j]), min_area_m2=DUST_M2)
        if part.is_empty:
            continue
        # a duplicate code with a unit of its own there already: that unit stands for it
        if (comm_codes[j], codes[i]) in taken:
            continue
        if part.area > PART_MIN_M2 and part.area >= PART_MIN_SHARE * shapely.area(geoms[i]):
            taken.add((comm_codes[j], codes[i]))
            rows.append({"code": codes[i], "kind": "compound", "community_code": comm_codes[j],
                         "households": 0, "compounds": codes[i], "loose_buildings": "",
                         "geometry": part})  # fmt: skip
        else:
            slivers.setdefault(comm_codes[j], []).append(part)
    return gpd.GeoDataFrame(rows, columns=columns, geometry="geometry", crs=units.crs), slivers


def _kept_whole(terr: np.ndarray, pieces: list) -> np.ndarray:
    """Each piece given whole to the territory holding most of it (a sliver of a compound of
    another community, which the Voronoi diagram would share out among its neighbours)."""
    terr = terr.copy()
    for piece in pieces:
        held = shapely.area(shapely.intersection(terr, piece))
        if not (held > 0).any():
            continue
        j = int(np.argmax(held))
        for i in np.flatnonzero(held > 0):
            terr[i] = (
                shapely.union(terr[i], piece) if i == j else shapely.difference(terr[i], piece)
            )
    return terr


def _check(*frames: gpd.GeoDataFrame) -> None:
    crs = {str(f.crs) for f in frames}
    if len(crs) != 1 or frames[0].crs is None or not frames[0].crs.is_projected:
        raise CRSError(
            f"单元底图需要同一个米制坐标系的图层，收到: {', '.join(sorted(crs))}。",
            f"The unit fabric needs all layers in one metric CRS; got: {', '.join(sorted(crs))}.",
        )


def _row(code, community, compound, kind, building_codes, geom) -> dict:
    return {"code": code, "community_code": community, "compound_code": compound, "kind": kind,
            "building_codes": building_codes, "geometry": geom}  # fmt: skip


def _close(terr: np.ndarray, area) -> np.ndarray:
    """Territories that tile ``area`` exactly: ground in none joins the territory with the
    longest shared border (the nearest one if it touches none), ground in two stays with the
    first. The overlays of the diagram leave such slivers of square millimetres."""
    terr = np.array([shapely.intersection(t, area) for t in terr], dtype=object)
    solid = np.flatnonzero(~shapely.is_empty(terr))
    left, right = shapely.STRtree(terr[solid]).query(terr[solid], predicate="intersects")
    left, right = solid[left], solid[right]
    # interiors meeting (one inside the other too), not borders touching
    shared = (left < right) & shapely.relate_pattern(terr[left], terr[right], "2********")
    for a, b in zip(left[shared], right[shared], strict=True):
        terr[b] = shapely.difference(terr[b], terr[a])
    gap = shapely.difference(area, shapely.union_all(terr[solid]))
    tree = shapely.STRtree(terr[solid])
    for piece in shapely.get_parts(gap):
        if shapely.area(piece) <= 0:
            continue
        near = tree.query(piece, predicate="dwithin", distance=FUZZ_M)
        border = shapely.length(shapely.intersection(shapely.boundary(terr[solid[near]]), shapely.buffer(piece, FUZZ_M)))  # fmt: skip
        if len(near) and border.max() > 0:
            j = solid[near[np.argmax(border)]]
        else:
            j = solid[tree.query_nearest(piece, all_matches=False)[0]]
        terr[j] = shapely.union(terr[j], piece)
    return np.array([polygons_of(g) for g in terr], dtype=object)  # no dust dropped: exact


def _split_above_ceiling(frame, buildings, floor: int, ceiling: int, rng) -> gpd.GeoDataFrame:
    """Units above the ceiling replaced by contiguous building groups (``-1``, ``-2`` …)."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    points = shapely.point_on_surface(np.asarray(buildings.geometry.values, dtype=object))
    at = cell_holding(geoms, points)
    households = buildings["households"].fillna(0).to_numpy(dtype=np.int64)
    per_unit = np.bincount(at[at >= 0], households[at >= 0], minlength=len(frame))
    out = []
    for i, unit in enumerate(frame.to_dict("records")):
        mine = np.flatnonzero(at == i)
        if per_unit[i] <= ceiling or len(mine) < 2:
            out.append(unit)
            continue
        labels, parts = building_groups(
            geoms[i], buildings.geometry.values[mine], households[mine], floor, ceiling, rng
        )
        if len(parts) == 1:  # one building above the ceiling holds (nearly) all: nothing to cut
            out.append(unit)
            continue
        codes = buildings["code"].astype(str).to_numpy()[mine]
        for k, part in enumerate(_reading_order(parts), start=1):
            listed = ";".join(sorted(codes[labels == part[0]]))
            out.append({**unit, "code": f"{unit['code']}-{k}", "kind": "compound_part"
                        if unit["kind"] == "compound" else "buildings",
                        "building_codes": listed, "geometry": part[1]})  # fmt: skip
    return gpd.GeoDataFrame(out, columns=UNIT_COLUMNS, geometry="geometry", crs=frame.crs)


def building_groups(territory, footprints, households, floor: int, ceiling: int, rng):
    """A territory cut into contiguous groups of its buildings under ``ceiling``.

    Returns each building's group label and the groups as ``(label, geometry)``; the geometries
    tile ``territory``. Groups are within ``floor``–``ceiling`` where the buildings allow it (the
    cut of the proposal), under the ceiling otherwise unless one building alone is above it.

    >>> import numpy as np
    >>> from shapely import box
    >>> feet = [box(10 + 50 * i, 10, 40 + 50 * i, 40) for i in range(4)]
    >>> labels, parts = building_groups(box(0, 0, 200, 50), feet, np.array([215, 215, 215, 215]),
    ...                                 300, 500, np.random.default_rng(0))
    >>> sorted(np.bincount(labels, [215] * 4).tolist()), [round(g.area) for _, g in parts]
    ([430.0, 430.0], [5000, 5000])
    """
    seeds = np.array([polygons_of(shapely.intersection(f, territory), min_area_m2=DUST_M2) for f in footprints], dtype=object)  # fmt: skip
    seeds = without_overlaps(seeds)
    solid = np.flatnonzero(~shapely.is_empty(seeds))
    labels = np.zeros(len(seeds), dtype=int)
    if len(solid) < 2:
        return labels, [(0, territory)]
    terr, _ = territories(territory, seeds[solid])
    terr = _close(terr, territory)
    graph, _ = join_islands(adjacency(terr), seeds[solid])
    xy = shapely.get_coordinates(shapely.centroid(terr))
    hh = np.asarray(households, dtype=np.int64)[solid]
    local, over = fit_ceiling(np.zeros(len(solid), dtype=int), hh, graph, xy, floor, ceiling, rng)
    if len(over):  # no cut keeps every group in the band: keep them under the ceiling at least
        local, _ = fit_ceiling(local, hh, graph, xy, 1, ceiling, rng)
    labels[solid] = local
    hollow = np.flatnonzero(shapely.is_empty(seeds))  # wholly inside another building
    if len(hollow):
        nearest = shapely.STRtree(terr).query_nearest(shapely.point_on_surface(np.asarray(footprints, dtype=object)[hollow]), all_matches=False)[1]  # fmt: skip
        labels[hollow] = local[nearest]
    parts = [(r, polygons_of(coverage_union(terr[local == r]))) for r in np.unique(local)]
    return labels, parts


def _reading_order(parts: list[tuple[int, object]]) -> list[tuple[int, object]]:
    """Parts north first, then west: the order their codes are numbered in."""
    xy = shapely.get_coordinates(shapely.point_on_surface([g for _, g in parts]))
    return [parts[i] for i in np.lexsort((xy[:, 0], -np.round(xy[:, 1])))]


def _with_figures(frame, buildings, members, floor: int, ceiling: int) -> gpd.GeoDataFrame:
    """Households, buildings and members of each unit, counted by representative point."""
    if members is None or members.empty:
        member_geoms, full = np.array([], dtype=object), np.array([], dtype=bool)
    else:
        member_geoms = members.geometry.values
        full = members["category"].eq("full").to_numpy() if "category" in members else np.zeros(len(members), bool)  # fmt: skip
    empty = np.array([], dtype=object)
    figures = figures_of(
        frame["code"].to_numpy(), frame.geometry.values, buildings.geometry.values,
        buildings["households"].fillna(0).to_numpy(dtype=np.int64), empty, empty,
        member_geoms, full, empty, empty, band=Band(floor, ceiling), station_radius_m=0.0,
    )  # fmt: skip
    for column in ("households", "buildings", "members_full", "members_probationary"):
        frame[column] = figures[column].to_numpy(dtype=np.int64)
    frame["compound_code"] = frame["compound_code"].astype(object).where(frame["compound_code"].notna(), None)  # fmt: skip
    return frame[UNIT_COLUMNS].sort_values("code", ignore_index=True)


def as_table(units: gpd.GeoDataFrame) -> pd.DataFrame:
    """The units without geometry, with the area of each in m² (for CSV and the API)."""
    table = pd.DataFrame(units.drop(columns="geometry"))
    table["area_m2"] = np.round(shapely.area(np.asarray(units.geometry.values, dtype=object)), 1)
    return table

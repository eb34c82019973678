"""Automatic grid proposal (自动划分网格建议): compounds grouped into grids of 300–500 households.

A draft a planner starts from, never a decision. The proposal works on the unit fabric
(单元底图, :func:`gridmap.core.fabric.unit_fabric`, or the stored one passed as ``fabric``), the
units a planner paints with: each cell is the dissolve of its units
(:func:`gridmap.core.unit_plans.cells_from_assignment`), so a proposal opens in paint mode and
its unit table gives back exactly its assignment. Per community, independently:

1. **Units** (划分单元): every compound (小区) with the households of its buildings; buildings in
   no compound form one unit per cluster of neighbouring buildings (楼院,
   :func:`gridmap.core.groups.clusters`); a compound above the ceiling with two buildings or more
   is split into contiguous building groups (the fabric's ``compound_part`` units).
2. **Territories** (辖区): digitised compounds rarely touch — roads lie between them — so the
   community is first partitioned among its units: a Voronoi diagram of points sampled along
   every unit's outline, dissolved per unit and clipped to the community. Each unit keeps its own
   ground whole; roads and open ground go to the nearest unit; pieces cut off from their unit join
   the neighbour with the longest shared border (as 多网合一 does with gap ground). Territories
   tile the community, so the cells made of them do too, with no 留白, and adjacency is a shared
   border of at least ``MIN_BORDER_M`` (rook; a corner is not a border, so a cell is one polygon).
3. **Regions** (分区): max-p regions (Duque, Anselin & Rey 2012; the heuristic of Wei, Rey &
   Knaap 2020 that spopt implements): regions grown from units in random order until they reach
   the floor, units left over (enclaves) given to a neighbouring region, the construction with
   the most regions kept (then the most compact), then a local search that moves border units
   where that makes regions more compact. Max-p fits the rule better than the other
   regionalisations: it finds the number of grids itself (the most cells that each reach the
   floor, so cells sit near the floor and rarely pass the ceiling), where SKATER, AZP, Ward or
   region k-means need that number given, and SKATER's tree cuts make long, thin cells.

   It is written here rather than called from :class:`spopt.region.MaxPHeuristic` (spopt 0.7):
   (a) spopt's annealing never ends when no movable unit borders another region — three
   compounds of 200 households in a row and a floor of 300 are enough (pysal/spopt#506, fixed
   after 0.7.0); (b) it knows no ceiling. Speed does not decide it: on one community of 2,000
   compounds spopt's solve alone took 4–9 times as long as this whole proposal on a loaded
   machine (load 7–9, 2026-11-26), and 1.4 s against 2.1 s for the whole proposal, fabric and
   balancing included, at load 3–4 (2026-12-06; ``benchmarks/bench_propose.py`` compares the two
   on the same units). Here regions grow towards the free neighbour nearest their centroid that
   keeps them under the ceiling, enclaves go to the nearest region with room, and moves never
   push a region over the ceiling.

   A region still above the ceiling is cut in two along a spanning tree of its units (the minimum
   spanning tree of centroid distances first, for compact parts; seeded random trees next), the
   part cut off within the band and the rest at least at the floor, again until it fits; a region
   too small to cut in two hands border units to neighbouring regions that have room.
4. **Balance** (均衡, :mod:`gridmap.core.propose.balance`): cells still out of the band give or
   take border units, or are merged with one or two neighbouring cells and cut again along
   spanning trees, wherever that brings them into the band without taking another cell out; a
   community whose units admit a partition in the band thus gets one far more often than max-p
   alone gives it. Same inputs and ``seed``, same proposal (a ``numpy.random.Generator`` of its
   own; NumPy's global one is left alone).

What cannot be satisfied is reported, never hidden (``PROBLEM_KINDS``), saying why: a compound
above the ceiling that the fabric could not split (one building, or one building above the
ceiling on its own) becomes a cell of its own; a compound that was split is listed with its groups
and their cells; a community below the floor becomes one cell; ground or units
with no neighbour (an exclave, 飞地) are joined to the nearest unit (the cell is then not one
polygon); units hemmed in by compounds above the ceiling that cannot reach the floor form a cell of
their own; a cell no cut, move or recombination brings into the band stays as it is. Messages
name compounds and communities by name (名称（编号）) where the layers have names. Inputs in one
metric CRS.

Each step has its own module: max-p regions in :mod:`gridmap.core.propose.regions`, the
problems and their messages in :mod:`gridmap.core.propose.problems` beside this one; units,
territories and their adjacency, cuts and moves for the ceiling and the overlay clean-up, which
the unit fabric shares, in :mod:`gridmap.core.tiling` (``units``, ``territories``, ``ceiling``,
``geometry``). This module checks the inputs, runs the steps community by community and names and
codes the cells.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> comm = gpd.GeoDataFrame({"code": ["C1"], "name": ["一社区"]}, geometry=[box(0, 0, 400, 100)], crs=4544)
>>> xq = gpd.GeoDataFrame({"code": ["X1", "X2", "X3", "X4"]},
...                       geometry=[box(10 + 100 * i, 10, 90 + 100 * i, 90) for i in range(4)], crs=4544)
>>> ld = gpd.GeoDataFrame({"code": ["B1", "B2", "B3", "B4"], "households": [200, 150, 180, 170]},
...                       geometry=[box(20 + 100 * i, 20, 80 + 100 * i, 80) for i in range(4)], crs=4544)
>>> result = propose_grids(xq, ld, comm)
>>> result.cells[["code", "name", "households", "compounds"]].values.tolist()
[['C1001', '一社区第1网格', 350, 'X1;X2'], ['C1002', '一社区第2网格', 350, 'X3;X4']]
>>> len(result.problems)
0
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.core.fabric import unit_fabric
from gridmap.core.gap_names import names_of, place_names
from gridmap.core.propose.fabric import detached_ground, own_ground, shown_codes, without_ground
from gridmap.core.propose.problems import Note, problem_table
from gridmap.core.propose.regions import regions
from gridmap.core.tiling.geometry import DUST_M2
from gridmap.core.tiling.territories import adjacency, join_islands
from gridmap.core.tiling.units import units_of
from gridmap.core.unit_plans import cells_from_assignment
from gridmap.errors import CRSError, GridmapError, NotFoundError
from gridmap.io.polygons import polygons_of


@dataclass
class GridProposal:
    """A proposed grid (网格划分建议) and what it could not satisfy.

    ``cells``: code, name, community_code, households, compounds (";"-joined), loose_buildings
    (buildings in no compound, ";"-joined), geometry. ``units``: the fabric's units (compounds,
    their building groups, clusters of loose buildings) with their territory (辖区) and
    cell_code. ``problems``: ``PROBLEM_COLUMNS``.
    """

    cells: gpd.GeoDataFrame
    units: gpd.GeoDataFrame
    problems: pd.DataFrame


def propose_grids(
    compounds: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    *,
    floor: int = 300,
    ceiling: int = 500,
    seed: int = 0,
    community: str | None = None,
    fabric: gpd.GeoDataFrame | None = None,
) -> GridProposal:
    """Group compounds into contiguous, compact grids of ``floor``–``ceiling`` households.

    Parameters
    ----------
    compounds, buildings, communities : GeoDataFrame
        Layers with the columns of :mod:`gridmap.layers`, in one metric CRS.
    floor, ceiling : int
        The household band of a grid (``settings.grid_households_min`` / ``_max``).
    seed : int
        Same inputs and seed, same proposal.
    community : str, optional
        Propose for this community only; pass every community all the same, so that compounds
        are placed by their largest share among all of them.
    fabric : GeoDataFrame, optional
        The unit fabric to group (``gridmap.core.fabric.UNIT_COLUMNS``, in the same CRS), e.g.
        the stored one, so that the cells are made of the units planners paint with; made from
        the layers with ``floor``, ``ceiling`` and ``seed`` when not given.

    Returns
    -------
    GridProposal
        Cells coded community code + 3-digit sequence in reading order (north-west first), named
        「XX社区第N网格」, each the dissolve of its fabric units; the fabric's units with their
        ``cell_code`` (the proposal as a unit assignment); the problems (see ``PROBLEM_KINDS``).
    """
    _check(compounds, buildings, communities, floor, ceiling)
    if fabric is None:
        fabric = unit_fabric(communities, compounds, buildings, floor=floor, ceiling=ceiling, seed=seed)  # fmt: skip
    fabric = fabric.reset_index(drop=True)
    base, remarks = units_of(compounds, buildings, communities)
    seeds = own_ground(fabric, base, buildings)
    chosen = _chosen(communities, community)
    cell_of, found = _regions_by_community(fabric, seeds, chosen["code"], floor, ceiling, seed)
    nested = without_ground(fabric, base)
    notes = _notes(remarks, found, base, fabric, cell_of, nested)
    frame, codes = _cell_frame(fabric, cell_of, nested, communities)
    if community is not None:  # what lies in other communities, or in none, is not asked about
        notes = [n for n in notes if n.community == community]
    shown = fabric.assign(code=shown_codes(fabric))
    names = place_names(names_of({"community": communities, "compound": compounds}))
    problems = problem_table(notes, codes, shown, cell_of, floor, ceiling, names)
    return GridProposal(frame, _assignment(fabric, cell_of, codes), problems)


def _chosen(communities: gpd.GeoDataFrame, community: str | None) -> gpd.GeoDataFrame:
    """The communities to propose for: all of them, or the one coded ``community``."""
    if community is None:
        return communities
    chosen = communities[communities["code"] == community]
    if chosen.empty:
        raise NotFoundError(f"没有社区 {community}。", f"No community {community}.")
    return chosen


def _regions_by_community(
    fabric, seeds, codes, floor: int, ceiling: int, seed: int
) -> tuple[np.ndarray, list[Note]]:
    """Max-p regions of the units of each community in ``codes``, one community at a time: the
    cell of each unit by position (-1 where none; numbered on from one community to the next)
    and the notes of what the regions could not satisfy."""
    households = fabric["households"].to_numpy(dtype=np.int64)
    community_of = fabric["community_code"].to_numpy(dtype=object)
    territory = np.asarray(fabric.geometry.values, dtype=object)
    cell_of, count, notes = np.full(len(fabric), -1), 0, []
    for code in codes:
        mine = np.flatnonzero(community_of == code)
        if not len(mine):  # a stored fabric older than the community
            continue
        terr = territory[mine]
        labels, found, islands = _community_regions(
            terr, households[mine], seeds[mine], floor, ceiling, seed
        )
        cell_of[mine], count = count + labels, count + labels.max() + 1
        notes += _community_notes(
            code, mine, found, islands, detached_ground(terr, seeds[mine]), fabric
        )
    return cell_of, notes


def _community_regions(terr, households, seeds, floor: int, ceiling: int, seed: int):
    """The regions of one community's units (territories ``terr``, own ground ``seeds``), numbered
    from 0, what they could not satisfy, and the islands joined to their nearest unit; units by
    position among them."""
    graph, islands = join_islands(adjacency(terr), seeds)
    xy = shapely.get_coordinates(shapely.centroid(terr))
    labels, found = regions(households, graph, xy, floor, ceiling, seed)
    return labels, found, islands


def _community_notes(code: str, mine: np.ndarray, found, islands, detached, fabric) -> list[Note]:
    """The notes of community ``code`` on the fabric's units (``mine``: its units' positions):
    what its regions could not satisfy, its islands and its ground lying apart (飞地)."""
    notes = [_why(Note(k, code, list(mine[u]), m), fabric) for k, u, m in found]
    notes += [Note("island", code, list(mine[u]), d, near=mine[v]) for u, v, d in islands]
    return notes + [Note("island", code, [mine[u]], a, ground=True) for u, a in detached]


def _notes(remarks, found: list[Note], base, fabric, cell_of, nested) -> list[Note]:
    """Every note of the proposal on the fabric's units: the remarks on the units of the layers,
    the regions' notes, the compounds the fabric split and those with no unit of their own."""
    notes = [Note(r.kind, r.community, r.units, r.measure, codes=r.codes) for r in remarks] + found
    notes = _on_fabric(notes, base, fabric) + _splits(fabric, cell_of)
    return notes + [
        Note("compound_within_compound", c, [u], 0.0, codes=k, near=u) for c, k, u in nested
    ]


def _assignment(fabric, cell_of, codes) -> gpd.GeoDataFrame:
    """The placed units of the fabric with the code of their cell (the proposal as a unit
    assignment)."""
    units = fabric.assign(cell_code=np.where(cell_of >= 0, codes[cell_of], None))
    return units[cell_of >= 0].reset_index(drop=True)


def _why(note: Note, fabric) -> Note:
    """A unit above the ceiling with its buildings, for the message saying why it is whole."""
    if note.kind == "over_ceiling":
        unit = fabric.iloc[note.units[0]]
        note.buildings, note.split = int(unit["buildings"]), unit["kind"] != "compound"
    return note


def _splits(fabric, cell_of) -> list[Note]:
    """A note for every compound the fabric split into building groups, with their cells."""
    parts = fabric[(fabric["kind"] == "compound_part").to_numpy() & (cell_of >= 0)]
    return [Note("compound_split", c, list(group.index), float(group["households"].sum()), codes=k)
            for (c, k), group in parts.groupby(["community_code", "compound_code"], sort=True)]  # fmt: skip


def _on_fabric(notes: list[Note], base, fabric) -> list[Note]:
    """Notes about units of ``base`` (a compound straddling communities) moved to the fabric's
    unit of that compound in its community; notes about nothing placed stay as they are."""
    at = {}
    for i, key in enumerate(zip(fabric["community_code"], fabric["compound_code"], strict=True)):
        at.setdefault(key, i)
    keys = list(zip(base["community_code"], base["code"], strict=True))
    out = []
    for note in notes:
        if note.kind == "compound_straddles_community":
            key = keys[note.units[0]]
            note = Note(note.kind, note.community, [at[key]] if key in at else [], note.measure, codes=key[1])  # fmt: skip
        out.append(note)
    return out


def _check(compounds, buildings, communities, floor: int, ceiling: int) -> None:
    crs = {str(f.crs) for f in (compounds, buildings, communities)}
    if len(crs) != 1 or communities.crs is None or not communities.crs.is_projected:
        raise CRSError(
            f"自动划分网格需要同一个米制坐标系的图层，收到: {', '.join(sorted(crs))}。",
            f"Proposing grids needs all layers in one metric CRS; got: {', '.join(sorted(crs))}.",
        )
    if not 0 < floor <= ceiling:
        raise GridmapError(
            f"网格户数下限 {floor} 和上限 {ceiling} 不合理 (需 0 < 下限 ≤ 上限)。",
            f"Household floor {floor} and ceiling {ceiling} make no band (need 0 < floor ≤ ceiling).",
        )


def _cell_frame(fabric, cell_of, nested, communities):
    """The cells as dissolves of their units (:func:`~gridmap.core.unit_plans.cells_from_assignment`),
    coded in reading order per community and named, with their compounds and loose buildings;
    and the code of each cell by its position."""
    placed = cell_of >= 0
    assignment = pd.DataFrame({"unit_code": fabric["code"].to_numpy()[placed], "cell_code": [f"{c:09d}" for c in cell_of[placed]]})  # fmt: skip
    frame = cells_from_assignment(fabric, assignment)  # positions in order: codes are zero-padded
    # the dissolve leaves parts of no area where unit borders are not noded alike
    frame = frame.set_geometry(
        [polygons_of(g, min_area_m2=DUST_M2) for g in frame.geometry.values], crs=frame.crs
    )
    compounds = [set() for _ in range(len(frame))]
    loose = [set() for _ in range(len(frame))]
    for unit, cell in zip(fabric.itertuples(index=False), cell_of, strict=True):
        if cell < 0:
            continue
        if isinstance(unit.compound_code, str) and unit.compound_code:
            compounds[cell].add(unit.compound_code)
        elif unit.kind == "buildings":
            loose[cell].update(b for b in str(unit.building_codes or "").split(";") if b)
    for _, code, holder in nested:
        if cell_of[holder] >= 0:
            compounds[cell_of[holder]].add(code)
    frame["compounds"] = [";".join(sorted(c)) for c in compounds]
    frame["loose_buildings"] = [";".join(sorted(b)) for b in loose]
    names = dict(zip(communities["code"], communities.get("name", communities["code"]).fillna(communities["code"]), strict=True))  # fmt: skip
    areas = dict(zip(communities["code"], communities.geometry.values, strict=True))
    centre = shapely.get_coordinates(shapely.point_on_surface(frame.geometry.values))
    codes, labels = np.empty(len(frame), dtype=object), np.empty(len(frame), dtype=object)
    for code, group in frame.groupby("community_code", sort=False).groups.items():
        pos = np.asarray(group)  # the frame's index is its positions
        top, band = areas[code].bounds[3], np.sqrt(areas[code].area / len(pos)) or 1.0
        order = pos[np.lexsort((centre[pos, 0], np.floor((top - centre[pos, 1]) / band)))]
        for seq, i in enumerate(order, start=1):
            codes[i], labels[i] = f"{code}{seq:03d}", f"{names[code]}第{seq}网格"
    frame["code"], frame["name"] = codes, labels
    frame["households"] = frame["households"].astype(int)
    columns = ["code", "name", "community_code", "households", "compounds", "loose_buildings", "geometry"]  # fmt: skip
    return frame[columns].sort_values("code", ignore_index=True), codes

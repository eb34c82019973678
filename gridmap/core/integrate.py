"""多网合一 (many grids, one grid) as one pure function: layers in, checked unified grid and
crosswalk out. The unified grid itself is built by :mod:`gridmap.core.unified_grid`.

Converts every layer once to the metric CRS of the place, runs the topology checks of every
layer, builds the hierarchy, the unified grid, its figures and its crosswalk, and returns all
results in EPSG:4326.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import box
>>> from gridmap.config import Settings
>>> c = gpd.GeoDataFrame({"code": ["C1"], "name": ["社区"]}, geometry=[box(104.0, 30.0, 104.01, 30.01)], crs=4326)
>>> g = gpd.GeoDataFrame({"code": ["G1"]}, geometry=[box(104.0, 30.0, 104.01, 30.01)], crs=4326)
>>> empty = gpd.GeoDataFrame({"code": [], "households": []}, geometry=[], crs=4326)
>>> result = integrate(Layers(c, empty, empty, {"party": g}), Settings())
>>> result.unified["code"].tolist(), len(result.findings)
(['C1001'], 0)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import pyproj

from gridmap.config import Settings
from gridmap.core import crosswalk as cw
from gridmap.core import fabric, parallel, topology
from gridmap.core.assign import place_members
from gridmap.core.cell_geometry import in_storage_crs
from gridmap.core.coverage import unified_cell_figures
from gridmap.core.gap_names import names_of, with_names
from gridmap.core.gaps import concat_gaps, with_community_codes
from gridmap.core.hierarchy import Hierarchy, build_hierarchy, with_grids
from gridmap.core.unified_grid import unified_grid
from gridmap.crs import metric_crs_for
from gridmap.errors import NotFoundError
from gridmap.layers import STORAGE_CRS


@dataclass
class Layers:
    """The inputs, as the store hands them (EPSG:4326, columns of gridmap.layers)."""

    communities: gpd.GeoDataFrame
    compounds: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    grids: dict[str, gpd.GeoDataFrame]
    members: gpd.GeoDataFrame | None = None


@dataclass
class Integration:
    unified: gpd.GeoDataFrame
    moves: pd.DataFrame
    crosswalk: pd.DataFrame
    disagreements: pd.DataFrame
    findings: gpd.GeoDataFrame
    hierarchy: Hierarchy
    summary: dict = field(default_factory=dict)
    fabric: gpd.GeoDataFrame | None = None  # the unit fabric (:mod:`gridmap.core.fabric`)
    placements: pd.DataFrame | None = None  # each member's building (:func:`place_members`)


def check_layers(
    m: Layers,
    settings: Settings,
    base: str,
    coverage: Callable[[], dict[str, gpd.GeoDataFrame]] | None = None,
) -> gpd.GeoDataFrame:
    """Every topology check of docs/domain.md on metric layers.

    ``coverage``, when given, returns the coverage gaps (留白) of every grid layer found
    elsewhere (see :func:`coverage_gaps`); it is asked for after the other checks.
    """
    found = [
        topology.layer_defects(m.communities, "community", settings),
        topology.layer_defects(m.compounds, "compound", settings),
        topology.layer_defects(m.buildings, "building", settings),
        topology.straddles(
            m.compounds, m.communities, "compound_straddles_community", "compound", settings
        ),
        topology.outside(
            m.compounds,
            m.communities,
            "compound_outside_community",
            "compound",
            ("社区", "community"),
        ),
        topology.outside(
            m.buildings, m.compounds, "building_outside_compound", "building", ("小区", "compound")
        ),
    ]
    per_grid = {}
    for name, grid in m.grids.items():
        label = f"grid:{name}"
        per_grid[name] = (
            topology.layer_defects(grid, label, settings),
            topology.overlaps(grid, label, settings),
            topology.straddles(grid, m.communities, "grid_straddles_community", label, settings),
        )
    splits = topology.compound_splits(m.compounds, m.grids[base], f"grid:{base}", settings)
    gaps = coverage() if coverage is not None else coverage_gaps(m, settings)
    for name, (defects, overlaps, straddles) in per_grid.items():
        found += [defects, overlaps, gaps[name], straddles]
    return concat_gaps([*found, splits])


def coverage_gaps(m: Layers, settings: Settings) -> dict[str, gpd.GeoDataFrame]:
    """The coverage gaps (留白) inside the communities of every grid layer, by layer name."""
    return {
        name: topology.coverage_gaps(grid, m.communities, f"grid:{name}", settings)
        for name, grid in m.grids.items()
    }


def _to(frame: gpd.GeoDataFrame, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """The frame in ``crs``; a frame already there is used as it is (its spatial index too)."""
    return frame if frame.crs is not None and frame.crs.is_exact_same(crs) else frame.to_crs(crs)


def integrate(
    layers: Layers,
    settings: Settings,
    base: str = "party",
    previous: gpd.GeoDataFrame | None = None,
    crs: pyproj.CRS | None = None,
) -> Integration:
    """Check every layer, then build the unified grid from ``base`` and its crosswalk.

    ``crs`` is the metric CRS of the place (found from the communities when not given).
    """
    if base not in layers.grids:
        raise NotFoundError(
            f"没有网格图层 {base}，无法作为全科网格的基础。已有: {', '.join(layers.grids) or '无'}。",
            f"No grid layer {base} to build the unified grid from; have: {', '.join(layers.grids) or 'none'}.",
        )
    crs = crs or metric_crs_for(layers.communities)
    m = Layers(
        _to(layers.communities, crs), _to(layers.compounds, crs), _to(layers.buildings, crs),
        {k: _to(v, crs) for k, v in layers.grids.items() if k != "unified"},
        _to(layers.members, crs) if layers.members is not None else None,
    )  # fmt: skip
    if previous is not None and len(previous):
        previous = _to(previous, crs)
    with topology.shared_pieces():
        return _integrate(m, settings, base, previous, crs)


def _size(m: Layers) -> int:
    frames = [m.communities, m.compounds, m.buildings, *m.grids.values()]
    return sum(len(frame) for frame in frames)


def _unified_steps(m: Layers, settings: Settings, base: str, previous: gpd.GeoDataFrame | None):
    """The coverage gaps of every grid layer, the unified cells and compound moves, the
    crosswalk to every grid layer but ``base``, then the unit fabric."""
    yield coverage_gaps(m, settings)
    cells, moves = unified_grid(m.communities, m.compounds, m.grids[base], settings, previous)
    yield cells, moves
    departments = {k: v for k, v in m.grids.items() if k != base}
    yield cw.crosswalk_layers(cells, departments, m.buildings)
    yield unit_fabric_of(m, settings)


def unit_fabric_of(m: Layers, settings: Settings) -> gpd.GeoDataFrame:
    """The unit fabric of metric layers, with each unit's area, in the storage CRS."""
    units = fabric.unit_fabric(
        m.communities, m.compounds, m.buildings, m.members,
        floor=settings.grid_households_min, ceiling=settings.grid_households_max,
    )  # fmt: skip
    table = gpd.GeoDataFrame(fabric.as_table(units), geometry=units.geometry.values, crs=units.crs)  # fmt: skip
    return in_storage_crs(table, STORAGE_CRS)


def _integrate(
    m: Layers, settings: Settings, base: str, previous: gpd.GeoDataFrame | None, crs: pyproj.CRS
) -> Integration:
    # for large layers the coverage gaps, the unified grid and most of its crosswalk are made in
    # a second process meanwhile; the other checks stay here, as the hierarchy asks for the
    # pieces they measure again, and the hierarchy of the other layers is built before the
    # cells are waited for
    with parallel.forked(_unified_steps, m, settings, base, previous, geometries=_size(m)) as step:
        findings = check_layers(m, settings, base, coverage=step)
        reported = (base, "unified")
        hierarchy = build_hierarchy(
            m.buildings, m.compounds, m.grids, m.communities, settings, reported
        )
        cells, moves = step()
        hierarchy = with_grids(
            hierarchy, m.buildings, m.compounds, {"unified": cells}, settings, reported
        )
        building_cells = hierarchy.buildings["grid_code__unified"]
        placed = place_members(m.members, m.buildings, settings)
        cells = unified_cell_figures(cells, building_cells, m.buildings["households"], placed)
        rows = cw.crosswalk_layers(cells, {base: m.grids[base]}, m.buildings)
        cross = cw.joined_crosswalk(rows + step())
        units = step()
    departments = {k: v for k, v in m.grids.items() if k != base}
    disagree = cw.disagreements(cross, {base: m.grids[base], **departments}, m.communities)
    # every finding in a community names it, so drilling into a community lists its own
    all_findings = with_community_codes(concat_gaps([findings, hierarchy.findings]), m.communities)
    named = {"community": m.communities, "grid": [cells, *m.grids.values()], "compound": m.compounds, "building": m.buildings}  # fmt: skip
    all_findings = with_names(all_findings, names_of(named))  # names first, codes second
    summary = {
        "base": base,
        "metric_crs": crs.to_string(),
        "unified_cells": len(cells),
        "compounds_moved": int(moves["compound_code"].nunique()) if len(moves) else 0,
        "findings": all_findings["kind"].value_counts().sort_index().to_dict(),
        "disagreements": len(disagree),
    }
    return Integration(
        in_storage_crs(cells, STORAGE_CRS),
        moves,
        cross,
        disagree,
        all_findings,
        hierarchy,
        summary,
        units,
        placed,
    )

"""Units shared by the unit fabric and the grid proposal: what cannot be placed as drawn is noted."""

from __future__ import annotations

import geopandas as gpd
from shapely import box

from gridmap.core.tiling.units import UnitNote, units_of


def frame(codes, geoms, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": codes, **columns}, geometry=list(geoms), crs=4544)


def test_compounds_and_buildings_outside_every_community_are_noted_not_placed():
    communities = frame(["C1"], [box(0, 0, 100, 100)])
    compounds = frame(["X1", "X2", "X3"], [box(10, 10, 50, 50), box(80, 10, 120, 50), box(300, 0, 340, 40)])  # fmt: skip
    footprints = [box(20, 20, 30, 30), box(85, 20, 95, 30), box(500, 0, 510, 10)]
    buildings = frame(["B1", "B2", "B9"], footprints, households=[40, 30, 12])
    units, notes = units_of(compounds, buildings, communities)
    assert units["code"].tolist() == ["X1", "X2"]
    assert units.loc[1, "geometry"].bounds == (80.0, 10.0, 100.0, 50.0)  # clipped to its community
    assert notes == [
        UnitNote("compound_outside_community", None, [], 0.0, codes="X3"),
        UnitNote("compound_straddles_community", "C1", [1], 0.5),
        UnitNote("building_outside_community", None, [], 12.0, codes="B9"),
    ]

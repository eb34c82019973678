"""Coverage gaps (留白 of Party work) and the 两个覆盖 rates on hand-made, irregular geometry
(metres, CGCS2000 zone 38: EPSG:4526)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon, box

from gridmap.config import Settings
from gridmap.core import coverage

CRS = "EPSG:4526"
X0, Y0 = 38_500_000, 3_300_000  # on the central meridian of zone 38 (114° E), near 30° N


def at(*xy):
    return [(X0 + x, Y0 + y) for x, y in xy]


# an L-shaped grid and a triangle beside it
GRIDS = gpd.GeoDataFrame(
    {"code": ["L", "T"]},
    geometry=[Polygon(at((0, 0), (60, 0), (60, 20), (20, 20), (20, 70), (0, 70))),
              Polygon(at((60, 0), (120, 0), (60, 60)))],
    crs=CRS,
)  # fmt: skip
BUILDINGS = gpd.GeoDataFrame(
    {"code": ["B1", "B2", "B3"], "households": [30, 0, 12]},
    geometry=[Polygon(at((2, 30), (12, 30), (12, 48), (7, 52), (2, 48))),
              box(X0 + 30, Y0 + 5, X0 + 40, Y0 + 15),
              Polygon(at((70, 5), (90, 5), (75, 25)))],
    crs=CRS,
)  # fmt: skip


def test_out_of_band_flags_grids_on_either_side_of_the_band_and_not_its_edges():
    settings = Settings(grid_households_min=100, grid_households_max=200)
    households = {"L": 100, "T": 201}
    found = coverage.out_of_band(GRIDS, households, "grid:party", settings)
    assert found[["kind", "code", "measure"]].values.tolist() == [["grid_out_of_band", "T", 201.0]]
    below = coverage.out_of_band(GRIDS, {"L": 99, "T": 200}, "grid:party", settings)
    assert below["code"].tolist() == ["L"]
    assert "低于" in below["message_zh"].iloc[0] and "under" in below["message_en"].iloc[0]


def test_a_grid_without_households_is_no_blank_grid_and_the_gap_is_in_lon_lat():
    found = coverage.grids_without_member(GRIDS, {"L": 42, "T": 0}, {"L": 0}, "grid:party")
    assert found["code"].tolist() == ["L"]  # T holds no households: nobody to serve
    assert found.crs.to_epsg() == 4326
    minx, miny, maxx, maxy = found.total_bounds
    assert 100 < minx < maxx < 120 and 20 < miny < maxy < 40  # degrees, not metres


def test_buildings_without_member_name_their_compound_and_skip_empty_buildings():
    found = coverage.buildings_without_member(BUILDINGS, {"B3": None}, {"B1": "K1", "B2": "K1"})
    assert found[["code", "codes", "measure"]].values.tolist() == [["B1", "B1;K1", 30.0]]


def test_unassigned_and_unreported_members_are_named_by_code_only():
    points = gpd.GeoDataFrame(
        {"code": ["M1", "M2", "M3"], "in_service": [True, True, None], "reported": [False, True, None]},
        geometry=[Point(X0 + 5, Y0 + 40), Point(X0 + 200, Y0 + 200), Point(X0 + 7, Y0 + 35)], crs=CRS,
    )  # fmt: skip
    placed = pd.DataFrame({"code": ["M1", "M2", "M3"], "how": ["inside", "unplaced", "snapped"],
                           "distance_m": [0.0, 143.2, 3.0]})  # fmt: skip
    lost = coverage.unassigned_members(points, placed)
    assert lost[["code", "measure"]].values.tolist() == [["M2", 143.2]]
    assert coverage.members_not_reported(points)["code"].tolist() == ["M1"]


def test_property_without_org_needs_a_company_and_a_known_no():
    compounds = gpd.GeoDataFrame(
        {"code": ["K1", "K2", "K3", "K4"], "name": ["甲", "乙", "丙", None],
         "property_company": ["物业甲", "物业乙", None, "物业丁"],
         "property_has_org": [False, None, False, False]},
        geometry=[box(X0, Y0, X0 + 10, Y0 + 10)] * 4, crs=CRS,
    )  # fmt: skip
    found = coverage.property_without_org(compounds)
    # K2: not known, K3: no company
    assert found["code"].tolist() == ["K1", "K4"]


def test_beyond_station_reach_groups_households_by_compound_and_measures_from_the_nearest():
    stations = gpd.GeoDataFrame({"code": ["S1", "S2"]}, geometry=[Point(X0 + 5, Y0 + 40), Point(X0 + 2000, Y0)], crs=CRS)  # fmt: skip
    settings = Settings(station_radius_m=50)
    far = coverage.beyond_station_reach(BUILDINGS, {"B3": "K9"}, stations, settings)
    # B1 is at the station; B2 holds nobody; B3 (12 households, ~70 m away) is beyond reach
    assert far[["kind", "layer", "code", "codes", "measure"]].values.tolist() == [
        ["beyond_station_reach", "compound", "K9", "K9;B3", 12.0]
    ]
    assert coverage.beyond_station_reach(BUILDINGS, {}, stations.iloc[:0], settings).empty


def test_rates_count_only_compounds_with_households_per_community_and_grid():
    table = pd.DataFrame({
        "code": ["K1", "K2", "K3", "K4"], "community_code": ["C1", "C1", "C2", "C2"],
        "grid_code__unified": ["G1", "G1", "G1", "G2"], "households": [10, 0, 5, 7],
        "covered": [True, True, False, True], "own_branch": [True, False, False, False],
        "members": [2, 0, 0, 1],
    })  # fmt: skip
    rates = coverage.coverage_rates(table, "grid_code__unified").set_index(["level", "code"])
    assert rates.loc[("subdistrict", "")].tolist() == pytest.approx([3, 0.6667, 0.3333, 0.6667])
    assert rates.loc[("community", "C1")].tolist() == [1, 1.0, 1.0, 1.0]  # K2 has no households
    assert rates.loc[("grid", "G1")].tolist() == [2, 0.5, 0.5, 0.5]


def test_unified_cell_figures_count_members_in_their_buildings_cell():
    cells = GRIDS.rename(index=str)
    building_cells = pd.Series(["L", "L", "T"])
    placed = pd.DataFrame({"home": np.array([0, 2, -1, 2]), "category": ["full", "probationary", "full", "full"]})  # fmt: skip
    out = coverage.unified_cell_figures(cells, building_cells, BUILDINGS["households"], placed)
    columns = ["code", "n_buildings", "households", "members_full", "members_probationary"]
    assert out[columns].values.tolist() == [["L", 2, 30, 1, 0], ["T", 1, 12, 1, 1]]
    assert out["area_m2"].tolist() == [2200.0, 1800.0]

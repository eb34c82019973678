"""Topology checks on hand-made geometry (metres, EPSG:4544): exact findings."""

from __future__ import annotations

import geopandas as gpd
from shapely import Polygon, box

from gridmap.config import Settings
from gridmap.core import topology

S = Settings()


def frame(**features) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": list(features)}, geometry=list(features.values()), crs=4544)


def test_overlap_above_tolerance_is_reported_with_both_codes_and_area():
    found = topology.overlaps(frame(A=box(0, 0, 100, 100), B=box(90, 0, 200, 100)), "grid:party", S)
    assert found[["kind", "code", "codes", "measure", "unit"]].values.tolist() == [
        ["grid_overlap", "A", "A;B", 1000.0, "m2"]
    ]


def test_grids_sharing_a_border_do_not_overlap():
    assert topology.overlaps(
        frame(A=box(0, 0, 100, 100), B=box(100, 0, 200, 100)), "grid:x", S
    ).empty


def test_thin_overlap_is_a_sliver_not_an_overlap():
    found = topology.overlaps(frame(A=box(0, 0, 100.5, 100), B=box(100, 0, 200, 100)), "grid:x", S)
    assert found["kind"].tolist() == ["sliver"] and found["unit"].tolist() == ["m"]


def test_gap_inside_a_community_is_uncovered_area_with_its_neighbours():
    community = frame(C1=box(0, 0, 300, 100))
    grids = frame(A=box(0, 0, 100, 100), B=box(200, 0, 300, 100))
    found = topology.coverage_gaps(grids, community, "grid:party", S)
    assert found[["kind", "code", "codes", "measure", "community_code"]].values.tolist() == [
        ["uncovered_area", "A", "A;B", 10000.0, "C1"]
    ]


def test_thin_gap_is_a_sliver_and_centimetre_noise_is_nothing():
    community = frame(C1=box(0, 0, 300, 100))
    thin = topology.coverage_gaps(
        frame(A=box(0, 0, 149.5, 100), B=box(150, 0, 300, 100)), community, "g", S
    )
    assert thin["kind"].tolist() == ["sliver"] and abs(thin["measure"].iloc[0] - 0.5) < 0.01
    noise = topology.coverage_gaps(
        frame(A=box(0, 0, 149.99, 100), B=box(150, 0, 300, 100)), community, "g", S
    )
    assert noise.empty


def test_grid_across_two_communities_reports_the_shares():
    communities = frame(C1=box(0, 0, 100, 100), C2=box(100, 0, 200, 100))
    found = topology.straddles(
        frame(G=box(0, 0, 140, 100)), communities, "grid_straddles_community", "grid:p", S
    )
    assert found["codes"].tolist() == ["G;C1;C2"]
    assert "C1 71%" in found["message_zh"].iloc[0] and "C2 29%" in found["message_zh"].iloc[0]
    assert abs(found["measure"].iloc[0] - 40 / 140) < 1e-3


def test_compound_in_no_community_and_building_in_no_compound():
    communities = frame(C1=box(0, 0, 100, 100))
    compounds = frame(X1=box(10, 10, 50, 50), X2=box(200, 200, 250, 250))
    found = topology.outside(
        compounds, communities, "compound_outside_community", "compound", ("社区", "community")
    )
    assert found["code"].tolist() == ["X2"]
    buildings = frame(B1=box(20, 20, 30, 30), B2=box(60, 60, 70, 70))
    found = topology.outside(
        buildings, compounds, "building_outside_compound", "building", ("小区", "compound")
    )
    assert found["code"].tolist() == ["B2"]


def test_compound_cut_between_two_grids_is_split():
    grids = frame(A=box(0, 0, 100, 100), B=box(100, 0, 200, 100))
    compounds = frame(X1=box(10, 10, 90, 90), X2=box(80, 10, 120, 90))
    found = topology.compound_splits(compounds, grids, "grid:party", S)
    assert found[["code", "codes", "measure"]].values.tolist() == [["X2", "X2;A;B", 0.5]]


def test_repaired_duplicate_and_multipart_features():
    geoms = frame(
        K1=box(0, 0, 10, 10), K2=box(0, 0, 10, 10), K3=box(20, 0, 30, 10).union(box(40, 0, 50, 10))
    )
    geoms["repair_note"] = [None, None, "Self-intersection[1 1] → make_valid"]
    found = topology.layer_defects(geoms, "building", S)
    assert sorted(found[["kind", "code"]].itertuples(index=False, name=None)) == [
        ("duplicate_feature", "K2"), ("invalid_geometry", "K3"), ("multipart_feature", "K3")
    ]  # fmt: skip


def test_a_still_invalid_geometry_is_reported_too():
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    found = topology.layer_defects(frame(Z=bowtie), "compound", S)
    assert (
        found["kind"].tolist() == ["invalid_geometry"]
        and "Self-intersection" in found["message_en"].iloc[0]
    )

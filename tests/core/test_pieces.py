"""Pieces of children in parents: the shortcut for children inside one parent changes nothing."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import Polygon, box

from gridmap.core.pieces import overlay_pieces, shared_pieces


def _parents() -> gpd.GeoDataFrame:
    # A and B share a border, C overlaps B, D is a bow-tie (invalid)
    shapes = [
        box(0, 0, 10, 10),
        box(10, 0, 20, 10),
        box(15, 5, 25, 15),
        Polygon([(30, 0), (40, 10), (40, 0), (30, 10)]),
    ]
    return gpd.GeoDataFrame({"m": list("ABCD")}, geometry=shapes, crs=4544)


def _children() -> gpd.GeoDataFrame:
    shapes = {
        "inside A": box(1, 1, 2, 2),
        "on A's edge, inside": box(0, 0, 3, 3),
        "across A|B": box(8, 1, 12, 3),
        "in B and C": box(16, 6, 18, 8),
        "touches B at its edge only": box(20, 0, 22, 2),
        "in no parent": box(50, 50, 51, 51),
        "bow-tie inside A": Polygon([(4, 4), (6, 6), (6, 4), (4, 6)]),
        "inside the bow-tie D": box(31, 4, 32, 5),
        "multi, both parts in A": shapely.MultiPolygon([box(1, 5, 2, 6), box(3, 5, 4, 6)]),
    }
    return gpd.GeoDataFrame({"k": list(shapes)}, geometry=list(shapes.values()), crs=4544)


def test_the_pieces_are_those_of_geopandas_overlay_in_its_order():
    kids, mums = _children(), _parents()
    expected = gpd.overlay(kids, mums, how="intersection", keep_geom_type=True)
    got = overlay_pieces(kids, mums)
    pd.testing.assert_frame_equal(
        pd.DataFrame(got.drop(columns="geometry")), pd.DataFrame(expected.drop(columns="geometry"))
    )
    assert shapely.equals(got.geometry.values, expected.geometry.values).all()
    pairs = list(zip(got["k"], got["m"], strict=True))
    assert ("in B and C", "B") in pairs and ("in B and C", "C") in pairs
    assert ("across A|B", "A") in pairs and ("across A|B", "B") in pairs
    assert not any(k in ("in no parent", "touches B at its edge only") for k, _ in pairs)
    assert got.crs == kids.crs


def test_a_child_wholly_inside_is_its_own_piece_and_a_crossing_one_is_cut():
    kids, mums = _children(), _parents()
    got = overlay_pieces(kids, mums).set_index(["k", "m"])
    # inside one valid parent: the child's own geometry, not a recomputed intersection
    assert got.loc[("inside A", "A"), "geometry"] is kids.geometry.values[0]
    assert got.loc[("across A|B", "A"), "geometry"].area == 4.0
    # invalid on either side: left to overlay, which repairs it
    assert got.loc[("bow-tie inside A", "A"), "geometry"].is_valid
    assert got.loc[("inside the bow-tie D", "D"), "geometry"].is_valid


def test_inside_a_shared_block_and_with_nothing_to_cut():
    kids, mums = _children().iloc[[0, 1, 8]], _parents()
    with shared_pieces():
        got = overlay_pieces(kids, mums)
    assert got["k"].tolist() == ["inside A", "on A's edge, inside", "multi, both parts in A"]
    assert got["m"].tolist() == ["A", "A", "A"]
    none = overlay_pieces(kids.iloc[:0], mums)
    assert len(none) == 0 and list(none.columns) == ["k", "m", "geometry"]
    assert np.asarray(none.geometry.values).dtype == object


def test_frames_sharing_a_column_name_are_refused():
    kids, mums = _children(), _parents().rename(columns={"m": "k"})
    with pytest.raises(ValueError, match=r"columns in both frames: \['k'\]"):
        overlay_pieces(kids, mums)

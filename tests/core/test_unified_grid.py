"""The unified grid on hand-made cases, and its invariants on random tessellations."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import box

from gridmap.config import Settings
from gridmap.core.cell_geometry import in_storage_crs
from gridmap.core.crosswalk import crosswalk
from gridmap.core.hierarchy import assign_by_area
from gridmap.core.unified_grid import unified_grid

S = Settings()


def frame(codes, geoms, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": codes, **columns}, geometry=list(geoms), crs=4544)


NONE = frame([], [])


def test_compound_goes_whole_to_the_cell_with_its_largest_share():
    communities = frame(["C1"], [box(0, 0, 200, 100)], name=["一社区"])
    base = frame(["G1", "G2"], [box(0, 0, 100, 100), box(100, 0, 200, 100)])
    compounds = frame(["X1"], [box(60, 10, 120, 90)])  # 2/3 in G1
    cells, moves = unified_grid(communities, compounds, base, S)
    g1 = cells.set_index("source_codes").loc["G1"]
    assert g1.geometry.contains(compounds.geometry[0]) and g1["compounds"] == "X1"
    assert moves[["compound_code", "from_code", "to_code", "area_m2"]].values.tolist() == [
        ["X1", "C1002", "C1001", 1600.0]
    ]


def test_a_cell_whittled_to_a_remnant_by_a_compound_move_joins_its_neighbour():
    communities = frame(["C1", "C2"], [box(0, 0, 200, 100), box(200, 0, 400, 100)])
    # G2 is a 1 m strip; the compound covers all of it but 0.5 m at either end, and goes to G3
    base = frame(
        ["G1", "G2", "G3", "G4"],
        [box(0, 0, 100, 100), box(100, 0, 101, 100), box(101, 0, 200, 100), box(200, 0, 400, 100)],
    )
    compounds = frame(["X1"], [box(90, 0.5, 130, 99.5)])
    cells, moves = unified_grid(communities, compounds, base, S)
    assert cells["source_codes"].tolist() == ["G1", "G3", "G4"]
    assert sorted(moves["compound_code"] + ":" + moves["from_code"]) == ["X1:", "X1:C1001"]
    by_source = cells.set_index("source_codes").geometry
    # the two 0.5 m² ends of G2 joined G3, which now borders them on two sides
    assert by_source["G3"].contains(box(100, 0, 101, 0.5)) and by_source["G3"].contains(
        box(100, 99.5, 101, 100)
    )
    for code, community in zip(communities["code"], communities.geometry, strict=True):
        mine = cells[cells["community_code"] == code]
        assert abs(mine.union_all().area - community.area) < 1e-6
        assert abs(mine.area.sum() - community.area) < 1e-6  # no overlaps


def test_cells_are_cut_at_community_borders_and_keep_their_source():
    communities = frame(["C1", "C2"], [box(0, 0, 100, 100), box(100, 0, 200, 100)])
    base = frame(["G1"], [box(0, 0, 200, 100)])
    cells, _ = unified_grid(communities, NONE, base, S)
    assert cells[["code", "community_code", "source_codes"]].values.tolist() == [
        ["C1001", "C1", "G1"], ["C2001", "C2", "G1"]
    ]  # fmt: skip


def test_overlapping_base_cells_become_disjoint_and_gaps_join_the_longest_border():
    communities = frame(["C1"], [box(0, 0, 300, 100)])
    base = frame(
        ["A", "B", "C"], [box(0, 0, 120, 100), box(100, 0, 200, 100), box(200, 0, 300, 60)]
    )
    cells, _ = unified_grid(communities, NONE, base, S)
    areas = dict(zip(cells["source_codes"], cells.area.round(1), strict=True))
    # A keeps the overlap (earlier code); the 100 × 40 hole above C borders C for 100 m and B
    # for 40 m, so it joins C
    assert areas == {"A": 12000.0, "B": 8000.0, "C": 10000.0}


def test_cells_whose_edges_meet_up_to_float_noise_stay_valid_once_reprojected():
    # two Party cells of the seeded synthetic city (full scale): G1 was drawn 0.7 m into G2, and
    # their top and bottom edges differ by ~1e-9 m after the round trip through EPSG:4326; the
    # overlap taken out of G2 left two zero-width spikes, valid in metres but self-intersecting
    # in EPSG:4326, where the unified grid is stored
    g1 = shapely.Polygon(
        [
            (404358.6917589648, 3376716.960096119),
            (404719.4071562329, 3376716.96009612),
            (404719.4071562327, 3375966.9600961204),
            (404358.6917589644, 3375966.96009612),
        ]
    )
    g2 = shapely.Polygon(
        [
            (404718.6917589658, 3376716.960096121),
            (405081.7320831043, 3376716.96009612),
            (405081.7320831056, 3375966.96009612),
            (404718.6917589653, 3375966.96009612),
        ]
    )
    community = box(404358.6917589644, 3375966.96009612, 405081.7320831056, 3376716.960096121)
    cells, _ = unified_grid(frame(["C1"], [community]), NONE, frame(["G1", "G2"], [g1, g2]), S)
    assert cells.is_valid.all() and cells.to_crs(4326).is_valid.all()
    assert shapely.get_num_coordinates(cells.geometry.values).tolist() == [5, 5]  # no spikes
    assert cells.area.round(1).tolist() == [270536.5, 271743.7]
    assert abs(shapely.union_all(cells.geometry.values).area - community.area) < 1e-3
    assert cells.geometry.iloc[0].intersection(cells.geometry.iloc[1]).area < 1e-3


def test_codes_are_kept_for_unchanged_cells_on_a_rerun():
    communities = frame(["C1"], [box(0, 0, 300, 100)])
    base = frame(
        ["A", "B", "C"], [box(0, 0, 100, 100), box(100, 0, 200, 100), box(200, 0, 300, 100)]
    )
    first, _ = unified_grid(communities, NONE, base, S)
    # the planner redraws A and B; C is untouched and must keep its code
    redrawn = frame(
        ["A", "B", "C"], [box(0, 0, 150, 100), box(150, 0, 200, 100), box(200, 0, 300, 100)]
    )
    again, _ = unified_grid(communities, NONE, redrawn, S, previous=first)
    code_c = first.set_index("source_codes").loc["C", "code"]
    assert again.set_index("source_codes").loc["C", "code"] == code_c
    assert sorted(again["code"]) == sorted(first["code"])


def test_crosswalk_shares_and_households():
    unified = frame(["U1", "U2"], [box(0, 0, 100, 100), box(100, 0, 200, 100)])
    dept = frame(["D1"], [box(50, 0, 200, 100)])
    buildings = frame(["b1", "b2", "b3"], [box(60, 10, 70, 20), box(110, 10, 120, 20), box(10, 10, 20, 20)],
                      households=[10, 20, 40])  # fmt: skip
    table = crosswalk(unified, {"zongzhi": dept}, buildings)
    rows = table[
        [
            "unified_code",
            "dept_code",
            "shared_area_m2",
            "share_of_unified",
            "share_of_dept",
            "households_shared",
        ]
    ]
    assert rows.values.tolist() == [
        ["U1", "D1", 5000.0, 0.5, 0.3333, 10],
        ["U2", "D1", 10000.0, 1.0, 0.6667, 20],
    ]


def test_tie_in_area_share_is_a_finding_not_a_silent_choice():
    kids = frame(["k"], [box(40, 0, 60, 10)])
    parents = frame(["P1", "P2"], [box(0, 0, 50, 100), box(50, 0, 100, 100)])
    table, found = assign_by_area(kids, parents, "building", "compound", S)
    assert table["share"].tolist() == [0.5] and found["kind"].tolist() == ["ambiguous_parent"]
    assert "两者占比相同" in found["message_zh"].iloc[0]


def test_children_in_no_parent_or_no_children_at_all_have_no_parent():
    parents = frame(["P1"], [box(0, 0, 10, 10)])
    table, found = assign_by_area(
        frame(["far"], [box(50, 0, 60, 10)]), parents, "building", "compound", S
    )
    assert (
        table[["parent", "share", "second"]].values.tolist() == [[None, 0.0, None]] and found.empty
    )
    table, found = assign_by_area(NONE, parents, "building", "compound", S)
    assert table.empty and found.empty


def test_integration_of_a_community_without_compounds_or_buildings():
    from gridmap.core.integrate import Layers, integrate

    community = frame(["C1"], [box(0, 0, 100, 100)], name=["社区"])
    layers = Layers(community, NONE.assign(households=[]), NONE.assign(households=[]),
                    {"party": frame(["G1"], [box(0, 0, 100, 100)])})  # fmt: skip
    result = integrate(layers, S)
    assert result.unified["code"].tolist() == ["C1001"] and result.findings.empty


@st.composite
def tessellation(draw):
    """Communities and a base grid with random jitter, overlaps and holes; compounds inside."""
    nx, ny = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    cells = []
    for i in range(nx * 2):
        for j in range(ny * 2):
            dx, dy = draw(st.floats(-15, 15)), draw(st.floats(-15, 15))
            shrink = draw(st.sampled_from([0.0, 0.0, 0.0, 8.0]))
            cells.append(
                box(
                    i * 100 + min(dx, 0),
                    j * 100 + min(dy, 0),
                    (i + 1) * 100 + max(dx, 0) - shrink,
                    (j + 1) * 100 + max(dy, 0) - shrink,
                )
            )
    communities = [
        box(i * 200, j * 200, (i + 1) * 200, (j + 1) * 200) for i in range(nx) for j in range(ny)
    ]
    compounds = []
    for _k in range(draw(st.integers(0, 8))):
        x, y = draw(st.floats(5, nx * 200 - 60)), draw(st.floats(5, ny * 200 - 60))
        candidate = box(x, y, x + draw(st.floats(10, 55)), y + draw(st.floats(10, 55)))
        home = next(c for c in communities if c.intersects(candidate.centroid))
        candidate = candidate.intersection(home)
        if candidate.area > 50 and not any(candidate.intersects(c) for c in compounds):
            compounds.append(candidate)
    return (frame([f"C{i}" for i in range(len(communities))], communities),
            frame([f"G{i:02d}" for i in range(len(cells))], cells),
            frame([f"X{i}" for i in range(len(compounds))], compounds))  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tessellation())
def test_unified_grid_invariants_on_random_tessellations(case):
    communities, base, compounds = case
    cells, _ = unified_grid(communities, compounds, base, S)
    # valid polygons in metres and in EPSG:4326, where the unified grid is stored and exported
    assert cells.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert cells.is_valid.all() and in_storage_crs(cells).is_valid.all()
    for code, community in zip(communities["code"], communities.geometry, strict=True):
        mine = cells[cells["community_code"] == code]
        covered = shapely.union_all(mine.geometry.values)
        # covers its community exactly, and nothing outside it
        assert abs(covered.area - community.area) / community.area < 1e-4
        assert shapely.difference(covered, community).area < 1e-3
    pairs = cells.sindex.query(cells.geometry.values, predicate="intersects")
    overlap = [
        cells.geometry.iloc[i].intersection(cells.geometry.iloc[j]).area
        for i, j in zip(*pairs, strict=True)
        if i < j
    ]
    assert max(overlap, default=0.0) <= S.overlap_tolerance_m2
    for geom in compounds.geometry:
        holders = [c for c in cells.geometry if c.intersection(geom).area > 1e-3]
        assert len(holders) == 1 and holders[0].buffer(1e-6).contains(geom)
    again, _ = unified_grid(communities, compounds, cells, S, previous=cells)
    described = lambda f: list(zip(f["code"], f["source_codes"], f.area.round(2), strict=True))  # noqa: E731
    assert described(again) == described(cells)
    assert np.allclose(again.area.to_numpy(), cells.area.to_numpy(), atol=1e-3)


def _positions(children, parents):
    from gridmap.core.pieces import piece_positions

    return [a.tolist() for a in piece_positions(children, parents)]


def test_a_building_in_a_compound_in_a_cell_is_placed_as_if_tested():
    from gridmap.core.pieces import piece_positions, shared_pieces

    buildings = frame(["b1", "b2", "b3"], [box(1, 1, 4, 4), box(11, 1, 14, 4), box(21, 1, 24, 4)])
    # X3 has a hole outside its shell (invalid): the building in it is tested, not taken on trust
    stray_hole = shapely.Polygon(
        box(20, 0, 30, 10).exterior.coords, [box(40, 0, 41, 1).exterior.coords]
    )
    compounds = frame(["X1", "X2", "X3"], [box(0, 0, 5, 5), box(10, 0, 15, 5), stray_hole])
    # G1 holds X1 and so b1; G0 holds b1 but not X1, and comes first, as a test would find it
    cells = frame(
        ["G0", "G1", "G2"], [box(-1, -1, 4.5, 9), box(-1, -1, 19, 9), box(19, -1, 31, 11)]
    )
    expected = _positions(buildings, cells)
    with shared_pieces():
        piece_positions(buildings, compounds)
        piece_positions(compounds, cells)
        assert _positions(buildings, cells) == expected
    assert expected[:2] == [[0, 1, 2], [0, 1, 2]]


def test_geos_work_on_two_threads_gives_the_result_of_one_call(monkeypatch):
    from gridmap.core import parallel

    monkeypatch.setattr(parallel, "MIN_GEOMETRIES", 2)
    rng = np.random.default_rng(7)
    x, y = rng.uniform(0, 100, 50), rng.uniform(0, 100, 50)
    small = shapely.box(x, y, x + 5, y + 5)
    big = shapely.box(x - 10, y - 10, x + 20, y + 20)
    table = np.stack([small, big], axis=1)
    unions = parallel.by_rows(shapely.union_all, table, axis=1)
    assert (
        shapely.to_wkb(unions).tolist() == shapely.to_wkb(shapely.union_all(table, axis=1)).tolist()
    )
    right, left = np.repeat(np.arange(50), 50), np.tile(np.arange(50), 50)
    found = parallel.prepared_predicate("contains", big, right, small, left)
    assert found.tolist() == shapely.contains(big[right], small[left]).tolist()
    assert found.any() and not found.all()


def test_a_cell_that_crosses_itself_only_in_degrees_is_stored_valid():
    """Found by the property test: an overlap of 3 µm resolved in metres leaves a vertex that
    crosses its own cell's edge once the edge is reprojected (straight in metres, curved in
    degrees); the cells are valid where they are stored."""
    community = frame(["C0"], [box(0, 0, 200, 200)])
    cells = frame(["G0", "G1", "G2", "G3"], [box(0, 0, 100, 106), box(0, 100, 100.000003, 200),
                                              box(100, 0, 200, 100), box(100, 100, 200, 200)])  # fmt: skip
    unified, _ = unified_grid(community, frame([], []), cells, S)
    assert unified.is_valid.all() and not unified.to_crs(4326).is_valid.all()  # the trap
    stored = in_storage_crs(unified)
    assert stored.is_valid.all() and stored.crs.to_epsg() == 4326
    assert abs(stored.to_crs(4544).area.sum() - 200 * 200) < 1e-3


# --- issue 15: independently digitised layers (regressions) -----------------------------------


def test_a_cell_drawn_twice_centimetres_apart_leaves_no_hairline_cell():
    """What was left of the second drawing once the overlap went to the first, a strip 3 cm wide
    and 3 m² (above the gap tolerance), became a cell: a line once written to GeoJSON."""
    community = frame(["C1"], [box(0, 0, 100.03, 100)], name=["一社区"])
    base = frame(["G1", "G2"], [box(0, 0, 100, 100), box(0, 0, 100.03, 100)])
    cells, _ = unified_grid(community, NONE, base, S)
    assert cells["source_codes"].tolist() == ["G1"]
    assert abs(cells.area.sum() - community.area.sum()) < 1e-6


def test_a_hairline_part_of_a_cell_goes_to_the_cell_it_lies_along():
    """A cell with a part 2 cm wide far from its body (what compound moves and gap ground
    joined a hair off their cell left): the part joins the cell it borders, the cell keeps its
    body; nothing is lost."""
    community = frame(["C1"], [box(0, 0, 200, 100)], name=["一社区"])
    hairline = shapely.MultiPolygon([box(0, 0, 100, 100), box(150, 0, 150.02, 100)])
    base = frame(["G1", "G2", "G3"], [hairline, box(100, 0, 150, 100), box(150.02, 0, 200, 100)])
    cells, _ = unified_grid(community, NONE, base, S)
    by_source = cells.set_index("source_codes").geometry
    assert shapely.get_num_geometries(by_source["G1"]) == 1 and by_source["G1"].area == 10000
    assert abs(by_source["G2"].area + by_source["G3"].area - 10000) < 1e-6
    assert abs(cells.area.sum() - 20000) < 1e-6

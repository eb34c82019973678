"""``gridmap integrate`` and ``analyze`` on the corpus, on SpatiaLite and PostGIS.

Invariants: every unified cell a valid (Multi)Polygon with area above the gap tolerance; the
cells tile each community (symmetric difference < 0.01 % of its area) and do not overlap; no
compound is cut; the crosswalk shares of every departmental cell sum to its share inside the
communities; unified_grid.geojson holds what the database holds; households add up at every
level, assigned + unassigned members = members; re-running gives the same report.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridmap.config import Settings
from gridmap.store import features
from gridmap.store.db import connect, make_engine

S = Settings()


def stored(run, layer: str, grid_layer: str | None = None) -> gpd.GeoDataFrame:
    engine = make_engine(run.settings)
    try:
        with connect(engine) as conn:
            return features.read_features(conn, layer, grid_layer=grid_layer)
    finally:
        engine.dispose()


def metric(frame: gpd.GeoDataFrame, crs) -> gpd.GeoDataFrame:
    return frame.to_crs(crs)


def test_the_corpus_is_as_messy_as_planned(city, corpus_run):
    """Guards the corpus itself: real shapes, and every planted defect is found."""
    found = corpus_run.integration.findings
    kinds = set(found["kind"])
    assert {"grid_overlap", "uncovered_area", "grid_straddles_community", "multipart_feature",
            "sliver", "compound_split", "compound_straddles_community"} <= kinds  # fmt: skip
    assert city.plants["multipart"] in set(found.loc[found["kind"] == "multipart_feature", "code"])
    # not graph paper: the communities have many vertices and no right angles to speak of
    vertices = shapely.get_num_coordinates(city.communities.geometry.values)
    assert vertices.min() > 30
    assert len(corpus_run.reports["building"].read.rejected) > 0  # collapsed footprints
    moved = corpus_run.integration.moves
    assert {city.plants["cut_compound"]} <= set(moved["compound_code"])


def test_unified_cells_are_valid_polygons_with_area_that_tile_their_communities(city, corpus_run):
    cells = metric(stored(corpus_run, "grid", "unified"), city.crs)
    communities = metric(stored(corpus_run, "community"), city.crs)
    assert len(cells) == corpus_run.integration.summary["unified_cells"]
    assert cells.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    assert cells.is_valid.all() and not cells.is_empty.any()
    assert (cells.area > S.gap_tolerance_m2).all()
    for code, community in zip(communities["code"], communities.geometry.values, strict=True):
        mine = shapely.union_all(cells.geometry.values[cells["community_code"] == code])
        off = shapely.symmetric_difference(mine, community).area
        assert off < 1e-4 * community.area, (code, off, community.area)
    left, right = cells.sindex.query(cells.geometry.values, predicate="intersects")
    pairs = left < right
    shared = shapely.area(
        shapely.intersection(
            cells.geometry.values[left[pairs]], cells.geometry.values[right[pairs]]
        )
    )
    assert shared.max(initial=0.0) <= S.overlap_tolerance_m2


def test_no_compound_is_cut_by_the_unified_grid(city, corpus_run):
    cells = metric(stored(corpus_run, "grid", "unified"), city.crs)
    compounds = metric(stored(corpus_run, "compound"), city.crs)
    communities = metric(stored(corpus_run, "community"), city.crs)
    left, right = cells.sindex.query(compounds.geometry.values, predicate="intersects")
    area = shapely.area(
        shapely.intersection(compounds.geometry.values[left], cells.geometry.values[right])
    )
    holders = pd.DataFrame({"compound": left, "area": area})
    holders = holders[holders["area"] > S.overlap_tolerance_m2]
    # a compound across communities is cut by the community border, once per community
    in_communities = communities.sindex.query(compounds.geometry.values, predicate="intersects")
    spans = (
        pd.Series(
            shapely.area(
                shapely.intersection(
                    compounds.geometry.values[in_communities[0]],
                    communities.geometry.values[in_communities[1]],
                )
            )
            > S.overlap_tolerance_m2
        )
        .groupby(in_communities[0])
        .sum()
    )
    per_compound = holders.groupby("compound").size()
    assert (per_compound <= spans.reindex(per_compound.index).fillna(1)).all()


def test_crosswalk_shares_of_every_departmental_cell_add_up(city, corpus_run):
    crosswalk = corpus_run.integration.crosswalk
    communities = shapely.union_all(
        metric(stored(corpus_run, "community"), city.crs).geometry.values
    )
    for layer in ("zongzhi", "chengguan"):
        grid = metric(stored(corpus_run, "grid", layer), city.crs)
        inside = shapely.area(shapely.intersection(grid.geometry.values, communities))
        expected = pd.Series(inside / grid.area.to_numpy(), index=grid["code"].to_numpy())
        rows = crosswalk[crosswalk["layer"] == layer]
        sums = rows.groupby("dept_code")["share_of_dept"].sum()
        # pieces under 1 m² are left out of the crosswalk and shares are rounded to 1e-4
        slack = 1.0 / grid.set_index("code").area + 1e-4 * rows.groupby("dept_code").size()
        held = expected[expected > 0.001]
        assert set(sums.index) == set(held.index)
        assert (np.abs(sums - held.reindex(sums.index)) <= slack.reindex(sums.index) + 1e-3).all()


def test_unified_grid_geojson_holds_what_the_database_holds(city, corpus_run):
    path = corpus_run.folder / "integrate" / "unified_grid.geojson"
    written = json.loads(path.read_text(encoding="utf-8"))["features"]
    assert {f["geometry"]["type"] for f in written} <= {"Polygon", "MultiPolygon"}
    files = gpd.read_file(path).set_index("code")
    db = stored(corpus_run, "grid", "unified").set_index("code")
    assert sorted(files.index) == sorted(db.index)
    assert files.is_valid.all()
    a = metric(gpd.GeoDataFrame(geometry=files.geometry.loc[db.index].values, crs=4326), city.crs)
    b = metric(gpd.GeoDataFrame(geometry=db.geometry.values, crs=4326), city.crs)
    apart = shapely.area(shapely.symmetric_difference(a.geometry.values, b.geometry.values))
    # rounded to 7 decimals of a degree: every vertex moves by half a step (~0.55 cm) at most
    assert (apart <= 0.0055 * b.length.to_numpy()).all()


def test_households_add_up_at_every_level(corpus_run):
    figures = corpus_run.analysis.figures
    hierarchy = corpus_run.analysis.integration.hierarchy.buildings
    total = int(hierarchy["households"].sum())
    top = figures[figures["level"] == "subdistrict"]
    assert int(top["households"].iloc[0]) == total
    for level, column in (("community", "community_code"), ("grid", "grid_code__unified"),
                          ("compound", "compound_code")):  # fmt: skip
        held = int(hierarchy.loc[hierarchy[column].notna(), "households"].sum())
        assert int(figures.loc[figures["level"] == level, "households"].sum()) == held, level
    # every building inside a community has a unified cell, and the cells count it
    in_community = hierarchy["community_code"].notna()
    assert hierarchy.loc[in_community, "grid_code__unified"].notna().all()
    cells = corpus_run.analysis.integration.unified
    assert int(cells["households"].sum()) == int(hierarchy.loc[in_community, "households"].sum())


def test_assigned_and_unassigned_members_add_up(corpus_run):
    counts = corpus_run.analysis.summary["counts"]
    gaps = corpus_run.analysis.gaps
    unassigned = int((gaps["kind"] == "member_unassigned").sum())
    assert counts["members_assigned"] + unassigned == counts["members"] > 0
    assert unassigned >= 1  # the members planted in the street


def test_running_analyze_again_gives_the_same_report(corpus_run):
    first, again = corpus_run.analysis, corpus_run.again
    assert first.summary == again.summary
    key = ["level", "code"]
    pd.testing.assert_frame_equal(
        first.figures.sort_values(key).reset_index(drop=True),
        again.figures.sort_values(key).reset_index(drop=True),
    )
    a, b = first.integration.unified, again.integration.unified
    assert a["code"].tolist() == b["code"].tolist()
    assert np.allclose(a.to_crs(3857).area.to_numpy(), b.to_crs(3857).area.to_numpy(), atol=0.01)
    from gridmap.report import report_document

    report, report_again = report_document(first), report_document(again)
    for doc in (report, report_again):
        doc.pop("generated_at")
    assert report == report_again

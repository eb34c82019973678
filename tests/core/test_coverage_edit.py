"""Free edits of a plan's cells checked for overlap, 留白 and ground beyond the plan, on an
irregular tiling: the Voronoi cells of twelve scattered points inside a ragged community
outline (metres), whose shared borders have the same vertices on both sides."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely import Point, Polygon

from gridmap.core.coverage_edit import carve, changed_codes, check_edit, summary, weld

CRS = "EPSG:4547"
GROUND = Polygon([(0, 0), (230, -20), (310, 90), (260, 240), (120, 300), (-30, 210), (20, 110)])
SEEDS = [(40, 40), (120, 20), (200, 30), (270, 100), (60, 130), (140, 110), (210, 150),
         (30, 200), (110, 220), (180, 250), (250, 200), (150, 170)]  # fmt: skip


def tiling() -> gpd.GeoDataFrame:
    cells = shapely.voronoi_polygons(shapely.multipoints(SEEDS), extend_to=GROUND.buffer(100))
    geoms = shapely.intersection(shapely.get_parts(cells), GROUND)
    order = [int(np.argmax(shapely.contains(geoms, Point(s)))) for s in SEEDS]
    frame = gpd.GeoDataFrame({"code": [f"G{i + 1:02d}" for i in range(len(SEEDS))]}, geometry=geoms[order], crs=CRS)  # fmt: skip
    assert shapely.coverage_is_valid(frame.geometry.values)
    return frame


def geom(frame, code):
    return frame.geometry[frame["code"] == code].iloc[0]


def move_vertex(frame, old_xy, new_xy, only=None) -> gpd.GeoDataFrame:
    """``frame`` with the vertex at ``old_xy`` moved to ``new_xy`` in every cell having it (or
    in the cells ``only``), as the editor's shared drag does."""

    def moved(code, g):
        if only is not None and code not in only:
            return g
        return shapely.transform(g, lambda xy: np.where(np.all(np.isclose(xy, old_xy), axis=1)[:, None], new_xy, xy))  # fmt: skip

    return frame.assign(geometry=[moved(c, g) for c, g in zip(frame["code"], frame.geometry.values, strict=True)])  # fmt: skip


def holders(frame, xy) -> list[str]:
    return [c for c, g in zip(frame["code"], frame.geometry.values, strict=True) if np.isclose(shapely.get_coordinates(g), xy).all(axis=1).any()]  # fmt: skip


def shared_inner_vertex(frame):
    """A vertex held by three cells (inside the ground, not on its outline)."""
    for xy in shapely.get_coordinates(frame.geometry.values):
        if len(holders(frame, xy)) == 3 and not shapely.intersects(GROUND.boundary.buffer(1), Point(xy)):  # fmt: skip
            return tuple(xy)
    raise AssertionError("no inner vertex")


def test_a_shared_vertex_dragged_in_every_cell_keeps_the_tiling():
    cells = tiling()
    xy = shared_inner_vertex(cells)
    after = move_vertex(cells, xy, (xy[0] + 1.5, xy[1] - 1))
    check = check_edit(cells, after)
    assert check.ok and check.changed == holders(cells, xy)
    assert shapely.coverage_is_valid(after.geometry.values)


def test_a_shared_vertex_dragged_in_one_cell_only_is_refused_with_the_overlap_and_the_gap():
    cells = tiling()
    xy = shared_inner_vertex(cells)
    mover = holders(cells, xy)[0]
    after = move_vertex(cells, xy, (xy[0] + 1.5, xy[1] - 1), only=[mover])
    check = check_edit(cells, after)
    assert not check.ok and check.changed == [mover]
    kinds = set(check.problems["kind"])
    assert "edit_overlap" in kinds  # it reaches into a neighbour …
    overlap = check.problems[check.problems["kind"] == "edit_overlap"]
    assert all(mover in codes.split(";") for codes in overlap["codes"])
    assert overlap["measure"].sum() > 0.5
    assert shapely.area(shapely.union_all(overlap.geometry.values)) == pytest.approx(overlap["measure"].sum(), abs=0.1)  # fmt: skip
    # … or, dragged the other way, leaves 留白 behind it
    back = check_edit(cells, move_vertex(cells, xy, (xy[0] - 1.5, xy[1] + 1), only=[mover]))
    assert "edit_gap" in set(back.problems["kind"]) or "edit_overlap" in set(back.problems["kind"])


def test_a_vertex_on_the_outline_dragged_out_reaches_beyond_and_dragged_in_leaves_a_gap():
    cells = tiling()
    corner = (310.0, 90.0)  # a corner of the ground, held by one cell
    assert len(holders(cells, corner)) == 1
    out = check_edit(cells, move_vertex(cells, corner, (330, 95)))
    assert list(out.problems["kind"]) == ["edit_outside"]
    assert "越出方案原有范围" in out.problems["message_zh"][0] and "beyond" in out.problems["message_en"][0]  # fmt: skip
    inward = check_edit(cells, move_vertex(cells, corner, (290, 90)))
    assert list(inward.problems["kind"]) == ["edit_gap"]
    assert inward.problems["code"][0] == holders(cells, corner)[0]
    assert "留白" in inward.problems["message_zh"][0]


def test_deleting_a_cell_opens_a_gap_named_by_the_cell():
    cells = tiling()
    check = check_edit(cells, cells[cells["code"] != "G06"])
    assert list(check.problems["kind"]) == ["edit_gap"] and check.problems["code"][0] == "G06"
    assert check.problems["measure"][0] == pytest.approx(geom(cells, "G06").area, rel=1e-6)


def test_a_locked_cell_may_not_change_even_when_the_tiling_is_kept():
    cells = tiling()
    xy = shared_inner_vertex(cells)
    check = check_edit(cells, move_vertex(cells, xy, (xy[0] + 1, xy[1] + 1)), locked=[holders(cells, xy)[1]])  # fmt: skip
    assert list(check.problems["kind"]) == ["edit_locked"]
    assert check.problems["code"][0] == holders(cells, xy)[1]
    assert "不在您的范围" in check.problems["message_zh"][0]


def test_an_old_overlap_is_not_blamed_on_an_edit_elsewhere_nor_on_one_that_does_not_grow_it():
    cells = tiling()
    grown = shapely.union(geom(cells, "G01"), shapely.buffer(geom(cells, "G02"), -15).buffer(20).intersection(geom(cells, "G02")))  # fmt: skip
    old = cells.assign(geometry=[grown if c == "G01" else g for c, g in zip(cells["code"], cells.geometry.values, strict=True)])  # fmt: skip
    far = shared_inner_vertex(old[~old["code"].isin(["G01", "G02"])])
    assert check_edit(old, move_vertex(old, far, (far[0] + 1, far[1] + 1))).ok
    # G01 given back a little of what it overlaps: nothing new overlaps
    smaller = old.assign(geometry=[shapely.difference(g, Point(120, 20).buffer(5)) if c == "G01" else g for c, g in zip(old["code"], old.geometry.values, strict=True)])  # fmt: skip
    assert check_edit(old, smaller).ok


def test_a_split_and_a_merge_keep_the_tiling_and_weld_leaves_shared_vertices():
    cells = tiling()
    target = geom(cells, "G06")
    knife = Polygon([(100, 60), (200, 90), (200, 200), (100, 170)])  # crosses G06's borders
    kept, piece = shapely.difference(target, knife), shapely.intersection(target, knife)
    split = gpd.GeoDataFrame(
        {"code": [*cells["code"][cells["code"] != "G06"], "G06", "NEW-1"]},
        geometry=[*cells.geometry[cells["code"] != "G06"], kept, piece], crs=CRS,
    )  # fmt: skip
    assert check_edit(cells, split).ok
    # the knife's corners on G06's border are not yet vertices of its neighbours
    assert not shapely.coverage_is_valid(split.geometry.values)
    welded = weld(split, ["G06", "NEW-1"], 1e-6)
    assert welded and set(welded) <= set(split["code"]) - {"G06", "NEW-1"}
    fixed = split.assign(geometry=[welded.get(c, g) for c, g in zip(split["code"], split.geometry.values, strict=True)])  # fmt: skip
    assert shapely.coverage_is_valid(fixed.geometry.values)
    assert check_edit(split, fixed).ok  # welding moves nothing
    rest = fixed[fixed["code"] != "NEW-1"]
    joined = [shapely.union(g, geom(fixed, "NEW-1")) if c == "G06" else g for c, g in zip(rest["code"], rest.geometry.values, strict=True)]  # fmt: skip
    merged = rest.assign(geometry=joined)
    assert check_edit(fixed, merged).ok and changed_codes(fixed, merged) == ["G06", "NEW-1"]


def test_a_drawn_cell_takes_its_ground_from_the_cells_it_covers():
    cells = tiling()
    drawn = Polygon([(90, 90), (170, 80), (190, 160), (120, 190), (80, 150)])
    cell, reshaped, outside = carve(cells, drawn)
    assert len(outside) == 0 and cell.area == pytest.approx(drawn.area)
    assert set(reshaped) == {c for c, g in zip(cells["code"], cells.geometry.values, strict=True) if shapely.area(shapely.intersection(g, drawn)) > 0}  # fmt: skip
    after = gpd.GeoDataFrame(
        {"code": [*cells["code"], "NEW-1"]},
        geometry=[*[reshaped.get(c, g) for c, g in zip(cells["code"], cells.geometry.values, strict=True)], cell], crs=CRS,
    )  # fmt: skip
    after = after[~after.geometry.is_empty]
    assert check_edit(cells, after).ok
    assert shapely.coverage_is_valid(after.geometry.values)  # the new cell's corners are theirs


def test_a_drawn_cell_reaching_beyond_the_ground_says_where():
    cells = tiling()
    _, _, outside = carve(cells, Polygon([(250, 60), (360, 60), (360, 130), (250, 130)]))
    assert len(outside) == 1 and outside[0].area > 100
    assert shapely.within(outside[0].representative_point(), Polygon([(250, 60), (360, 60), (360, 130), (250, 130)]))  # fmt: skip
    assert not shapely.intersects(outside[0].buffer(-0.01), GROUND)


def test_the_summary_names_the_first_problems_in_chinese_then_english():
    cells = tiling()
    zh, en = summary(check_edit(cells, cells[~cells["code"].isin(["G06", "G07"])]).problems)
    assert zh.startswith("修改未保留：") and "G06" in zh and "留白" in zh
    assert en.startswith("Edit undone: ") and "G06" in en


def test_cells_in_degrees_are_a_programming_error():
    cells = tiling().set_crs(4326, allow_override=True)
    with pytest.raises(ValueError, match="metric"):
        check_edit(cells, cells)


def test_an_outline_crossing_itself_is_refused_as_invalid_and_measured_repaired():
    cells = tiling()
    g = geom(cells, "G03")
    xy = shapely.get_coordinates(g)[:-1]
    bowtie = Polygon([xy[1], xy[0], *xy[2:]])  # two corners swapped
    assert not bowtie.is_valid
    after = cells.assign(geometry=[bowtie if c == "G03" else g for c, g in zip(cells["code"], cells.geometry.values, strict=True)])  # fmt: skip
    check = check_edit(cells, after)
    invalid = check.problems[check.problems["kind"] == "edit_invalid"]
    assert not check.ok and invalid["code"].tolist() == ["G03"]
    assert "无效" in invalid["message_zh"].iloc[0] and "invalid" in invalid["message_en"].iloc[0]


def test_welding_leaves_a_locked_neighbour_as_it_is():
    cells = tiling()
    target = geom(cells, "G06")
    knife = Polygon([(100, 60), (200, 90), (200, 200), (100, 170)])
    split = gpd.GeoDataFrame(
        {"code": [*cells["code"][cells["code"] != "G06"], "G06", "NEW-1"]},
        geometry=[*cells.geometry[cells["code"] != "G06"], shapely.difference(target, knife), shapely.intersection(target, knife)],
        crs=CRS,
    )  # fmt: skip
    everyone = weld(split, ["G06", "NEW-1"], 1e-6)
    locked = sorted(set(everyone) - {"G06", "NEW-1"})[:1]
    assert locked
    assert not set(weld(split, ["G06", "NEW-1"], 1e-6, fixed=locked)) & set(locked)

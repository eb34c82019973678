"""A large polygon file is checked a chunk at a time while the chunk before is written (PostGIS):
still all or nothing, every problem of every chunk listed, repairs of every chunk reported."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely
from factories import buildings_frame
from shapely import Polygon, box

from gridmap.errors import RowsRejectedError
from gridmap.io.read import check_chunk, read_layer_file
from gridmap.loading import LoadOptions, load_file
from gridmap.store.features import layer_counts, read_features


def counts(engine) -> dict:
    with engine.connect() as conn:
        return layer_counts(conn)


def _file(tmp_path, bad: bool = True):
    """Seven buildings (chunks of two): feature 4 lies in Europe, feature 6 is a bow-tie to repair."""
    frame = buildings_frame(7)
    if bad:
        frame.loc[3, "geometry"] = box(
            2.0, 48.0, 2.001, 48.001
        )  # feature 4 (features count from 1)
    x, y = frame.geometry.iloc[5].bounds[:2]
    frame.loc[5, "geometry"] = Polygon([(x, y), (x + 1e-4, y + 1e-4), (x + 1e-4, y), (x, y + 1e-4)])
    path = tmp_path / "b.geojson"
    frame.to_file(path)
    return path


def test_a_problem_in_a_later_chunk_refuses_the_file_and_writes_nothing(engine, tmp_path):
    load_file(engine, "building", _file(tmp_path, bad=False), LoadOptions(chunk_rows=2))
    before = counts(engine)
    with engine.connect() as conn:
        stored = read_features(conn, "building")
    frame = buildings_frame(7)
    frame["楼栋编号"] = [f"N{i}" for i in range(7)]  # all new rows
    frame.loc[3, "geometry"] = box(2.0, 48.0, 2.001, 48.001)  # feature 4: chunk 1 is written
    frame.loc[6, "geometry"] = box(-70.0, 40.0, -69.999, 40.001)  # feature 7, chunk 4
    frame.to_file(tmp_path / "n.geojson")
    with pytest.raises(RowsRejectedError) as raised:
        load_file(engine, "building", tmp_path / "n.geojson", LoadOptions(chunk_rows=2))
    assert [p.row for p in raised.value.problems] == [4, 7]  # the last chunk's too
    assert counts(engine) == before
    with engine.connect() as conn:
        assert read_features(conn, "building")["code"].tolist() == stored["code"].tolist()


def test_skip_invalid_writes_the_good_rows_of_every_chunk(engine, tmp_path):
    options = LoadOptions(chunk_rows=2, skip_invalid=True)
    report = load_file(engine, "building", _file(tmp_path), options)
    assert report.loaded == 6 and [p.row for p in report.read.rejected] == [4]
    assert [r for r, _, _ in report.read.repaired] == [6]  # repaired in the third chunk
    with engine.connect() as conn:
        stored = read_features(conn, "building")
    assert sorted(stored["code"]) == ["B000", "B001", "B002", "B004", "B005", "B006"]
    assert stored.set_index("code").loc["B005", "repair_note"]
    assert stored.geometry.is_valid.all()


def test_a_chunked_load_then_an_update_of_the_same_rows(engine, tmp_path):
    path = _file(tmp_path, bad=False)
    first = load_file(engine, "building", path, LoadOptions(chunk_rows=3))
    again = load_file(engine, "building", path, LoadOptions(chunk_rows=3))
    assert (first.inserted, first.updated) == (7, 0) and (again.inserted, again.updated) == (0, 7)
    assert counts(engine)["building"] == 7


def test_chunks_checked_ahead_in_a_second_thread_equal_chunks_checked_when_asked(tmp_path):
    path = _file(tmp_path)  # a row outside China, a bow-tie to repair
    ahead = read_layer_file(path, "building", defer_geometry=True, chunk_rows=2)
    late = read_layer_file(path, "building", defer_geometry=True, chunk_rows=2)
    assert ahead.pending.ahead is not None
    late.pending.close()
    late.pending.ahead = None  # every chunk checked in this thread, when asked for
    for start in range(0, 7, 2):
        a = check_chunk(ahead, start, start + 2, geodataframe=False)
        b = check_chunk(late, start, start + 2)
        assert a.rows.tolist() == b.rows.tolist()
        assert shapely.to_wkb(a.frame["geometry"].to_numpy()).tolist() == (
            shapely.to_wkb(b.frame.geometry.to_numpy()).tolist()
        )
        assert a.frame.drop(columns="geometry").equals(
            pd.DataFrame(b.frame.drop(columns="geometry"))
        )
    assert ahead.report.rejected == late.report.rejected and [
        p.row for p in ahead.report.rejected
    ] == [4]
    assert ahead.report.repaired == late.report.repaired and len(ahead.report.repaired) == 1


def test_a_file_with_a_field_problem_is_checked_whole_despite_the_check_ahead(tmp_path):
    frame = buildings_frame(7)
    frame.loc[2, "户数"] = -5  # a field problem: the whole file is checked at once, as before
    frame.loc[3, "geometry"] = box(2.0, 48.0, 2.001, 48.001)
    frame.to_file(tmp_path / "f.geojson")
    result = read_layer_file(tmp_path / "f.geojson", "building", defer_geometry=True, chunk_rows=2)
    assert result.pending is None
    assert [p.row for p in result.report.rejected] == [3, 4]
    assert len(result.frame) == 5 and result.frame.geometry.is_valid.all()


def test_the_cycle_collector_paused_for_a_load_is_resumed_as_it_was(engine, tmp_path):
    import gc

    assert gc.isenabled()
    with pytest.raises(RowsRejectedError):
        load_file(engine, "building", _file(tmp_path), LoadOptions(chunk_rows=2))
    assert gc.isenabled()  # on again after a refusal
    gc.disable()
    try:
        load_file(engine, "building", _file(tmp_path, bad=False), LoadOptions(chunk_rows=2))
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()

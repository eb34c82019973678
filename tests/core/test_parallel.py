"""Steps in a second process give what they give in one, and leave no process behind."""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gridmap.config import Settings
from gridmap.core import parallel
from gridmap.core.cell_geometry import GRID_M
from gridmap.core.integrate import Layers, integrate
from gridmap.core.unified_grid import unified_grid

PARENT = os.getpid()


def _numbers(n):
    yield from range(n)


def _fails_in_the_child(n):
    for i in range(n):
        if i == 1 and os.getpid() != PARENT:
            os._exit(3)  # a crash: nothing said, nothing cleaned up
        yield i


def _always_fails(n):
    yield n
    raise ValueError("no second item")


@pytest.fixture
def fork_anything(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_FORK_GEOMETRIES", 0)
    if not parallel.can_fork(0):
        pytest.skip("no second process on this machine")
    yield
    assert multiprocessing.active_children() == []
    assert gc.get_freeze_count() == 0  # what was left out of collections is back in


def test_items_made_in_a_second_process_come_in_order(fork_anything):
    with parallel.forked(_numbers, 3, geometries=10) as item:
        assert [item(), item(), item()] == [0, 1, 2]


def test_items_a_crashed_child_did_not_send_are_made_here(fork_anything):
    with parallel.forked(_fails_in_the_child, 3, geometries=10) as item:
        assert [item(), item(), item()] == [0, 1, 2]


def test_an_error_of_the_steps_is_raised_here(fork_anything):
    with (
        pytest.raises(ValueError, match="no second item"),
        parallel.forked(_always_fails, 5, geometries=10) as item,
    ):
        assert item() == 5
        item()


def test_a_child_not_waited_for_is_ended(fork_anything):
    with parallel.forked(_numbers, 3, geometries=10) as item:
        assert item() == 0


def test_cells_leave_on_the_grid_and_travel_between_processes_unchanged():
    town = _town()
    metric = {name: getattr(town, name).to_crs(4544) for name in ("communities", "compounds")}
    base = town.grids["party"].to_crs(4544)
    cells, _ = unified_grid(metric["communities"], metric["compounds"], base, Settings())
    geoms = cells.geometry.values
    # snapped to the micrometre, then measured in floating point: later overlays need not
    # snap-round, and a cell read back from WKB (pickled, stored) is the same cell
    steps = shapely.get_coordinates(geoms) / GRID_M
    assert np.abs(steps - np.round(steps)).max() < 1e-3
    assert set(shapely.get_precision(geoms).tolist()) == {0.0}
    sent = pickle.loads(pickle.dumps(cells))
    assert shapely.to_wkb(sent.geometry.values).tolist() == shapely.to_wkb(geoms).tolist()
    assert set(shapely.get_precision(sent.geometry.values).tolist()) == {0.0}


def _town() -> Layers:
    """Four communities, Party cells on their lines (two drawn off), departmental cells on
    other lines, compounds across cell borders and buildings in and out of compounds."""
    rng = np.random.default_rng(11)
    box = shapely.box

    def frame(prefix, geoms, **columns):
        codes = [f"{prefix}{i:03d}" for i in range(len(geoms))]
        metric = gpd.GeoDataFrame({"code": codes, **columns}, geometry=list(geoms), crs=4544)
        return metric.to_crs(4326)

    communities = [box(x, y, x + 400, y + 400) for x in (0, 400) for y in (0, 400)]
    party = [box(x, y, x + 100, y + 100) for x in range(0, 800, 100) for y in range(0, 800, 100)]
    party[5], party[9] = box(500, 0, 603, 100), box(100, 100, 197, 200)
    dept = [box(x, y, x + 130, y + 150) for x in range(-20, 800, 130) for y in range(-10, 800, 150)]
    corners = rng.uniform(0, 760, (120, 2))
    compounds = [box(x, y, x + 40, y + 30) for x, y in corners]
    spots = rng.uniform(0, 790, (600, 2))
    buildings = [box(x, y, x + 8, y + 6) for x, y in spots]
    return Layers(
        frame("C", communities, name=["社区"] * 4),
        frame("X", compounds),
        frame("B", buildings, households=rng.integers(1, 30, len(buildings))),
        {"party": frame("G", party), "dept": frame("D", dept)},
    )


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    if isinstance(a, gpd.GeoDataFrame):
        geoms = a.geometry.name
        assert shapely.to_wkb(a[geoms].values).tolist() == shapely.to_wkb(b[geoms].values).tolist()
        a, b = pd.DataFrame(a.drop(columns=geoms)), pd.DataFrame(b.drop(columns=geoms))
    pd.testing.assert_frame_equal(a, b)


def test_integration_with_a_second_process_equals_one_in_one(fork_anything, monkeypatch):
    town = _town()
    two = integrate(town, Settings())
    monkeypatch.setattr(parallel, "MIN_FORK_GEOMETRIES", 10**9)
    one = integrate(town, Settings())
    assert len(one.unified) > 50 and len(one.crosswalk) > 100 and len(one.moves) > 0
    for name in ("unified", "moves", "crosswalk", "disagreements", "findings"):
        _same(getattr(two, name), getattr(one, name))
    _same(two.hierarchy.buildings, one.hierarchy.buildings)
    assert two.summary == one.summary

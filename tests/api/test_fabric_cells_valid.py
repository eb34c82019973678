"""POST /api/fabric/cells on a messy fabric: irregular units (a seeded Voronoi tessellation) whose
corners were noded a fraction of a millimetre apart, as the fabric's overlays leave them, so that
their dissolves carry pin holes and notches a hair wide. The editor keeps 8 decimals of the cells
it sends back (``toGeoJSON(8)``), and a GIS clerk's tools often round the same way: the cells come
back on that grid and valid there, cover the ground of their units within what the rounding
step allows, do not overlap, keep their neighbours and meet them vertex to vertex."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from coverage_checks import neighbours, t_junctions
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from gridmap.api.app import create_app
from gridmap.auth import add_account, issue_token
from gridmap.config import Settings
from gridmap.core.fabric import as_table
from gridmap.io.geojson_text import EDITOR_DECIMALS, rounded_coverage
from gridmap.store.db import make_engine, transaction
from gridmap.store.fabric import read_fabric, save_fabric
from gridmap.store.schema import upgrade

X0, Y0, SIZE = 404_000.0, 3_391_000.0, 800.0  # metres in UTM 48N (EPSG:32648): Chengdu
N_UNITS = 120
NUDGE_M = (0.05e-3, 0.4e-3)  # how far one corner of each unit was noded from its neighbours'
STEP = 10.0**-EDITOR_DECIMALS  # the grid, in degrees (about 1 mm)
MOVE = STEP * 2**0.5 / 2  # the most snap rounding moves a point: half a grid cell's diagonal
SLIVER_DEGREES = 3e-9  # narrower than the grid everywhere: nothing of it is left at 8 decimals


def messy_units(seed: int) -> np.ndarray:
    """Voronoi units in a square, each with one corner moved inwards by a fraction of a
    millimetre: units that do not quite meet, which leave pin holes in their dissolves."""
    rng = np.random.default_rng(seed)
    square = shapely.box(X0, Y0, X0 + SIZE, Y0 + SIZE)
    points = shapely.multipoints(rng.uniform((X0, Y0), (X0 + SIZE, Y0 + SIZE), (N_UNITS, 2)))
    tiles = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=square))
    units = []
    for tile in shapely.normalize(shapely.intersection(tiles, square)):
        ring = shapely.get_coordinates(tile.exterior)[:-1]
        k = rng.integers(len(ring))
        inwards = np.asarray(tile.centroid.coords[0]) - ring[k]
        ring[k] += inwards / np.hypot(*inwards) * rng.uniform(*NUDGE_M)
        units.append(shapely.Polygon(ring))
    return np.array(units, dtype=object)


def fabric(seed: int) -> gpd.GeoDataFrame:
    """The messy units in community C1 (EPSG:4326), and in C2 a square with, along its east
    side, a sliver narrower than the grid whose sides round to the same meridian."""
    messy = gpd.GeoSeries(messy_units(seed), crs=32648).to_crs(4326).values
    east = 104.0080000011  # at 8 decimals 104.008, and so is east + SLIVER_DEGREES
    side = shapely.box(east - 0.0005, 30.647, east, 30.6475)
    sliver = shapely.box(east, 30.647, east + SLIVER_DEGREES, 30.6475)
    n = len(messy)
    return gpd.GeoDataFrame(
        {"code": [f"C1-{i:03d}" for i in range(n)] + ["C2-A", "C2-S"],
         "community_code": ["C1"] * n + ["C2", "C2"], "compound_code": [None] * (n + 2),
         "kind": ["territory"] * (n + 2), "households": [10 + i % 7 for i in range(n)] + [40, 0],
         "buildings": [1] * n + [2, 0], "members_full": [i % 3 for i in range(n)] + [5, 0],
         "members_probationary": [0] * (n + 2), "building_codes": [""] * (n + 2)},
        geometry=[*messy, side, sliver], crs=4326,
    )  # fmt: skip


@pytest.fixture(scope="module")
def painting(tmp_path_factory):
    """A client on the messy fabric, and the units as stored (EPSG:4326), by code."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fabric-cells-valid') / 'gridmap.db'}"
    settings = Settings(database_url=url, seed_cache=False)
    engine = make_engine(settings)
    upgrade(engine)
    units = fabric(seed=17)
    table = as_table(units.to_crs(32648))  # areas in m²
    with transaction(engine) as conn:
        save_fabric(conn, gpd.GeoDataFrame(table, geometry=units.geometry.values, crs=units.crs), None)  # fmt: skip
        add_account(conn, "单元管理员", "admin", None, "test-password-not-secret", "tests")
        token = issue_token(conn, "单元管理员", "tests", actor="tests")
    with engine.connect() as conn:
        stored = read_fabric(conn).set_index("code")
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {token}"}) as c:
        yield c, stored
    engine.dispose()


def by_nearest_seed(stored: gpd.GeoDataFrame, cells: int, seed: int) -> dict[str, str]:
    """Each unit of C1 painted into the cell of the nearest of ``cells`` random seeds."""
    mine = stored[stored["community_code"] == "C1"]
    x0, y0, x1, y1 = mine.total_bounds
    seeds = np.random.default_rng(seed).uniform((x0, y0), (x1, y1), (cells, 2))
    at = shapely.get_coordinates(shapely.point_on_surface(mine.geometry.values))
    nearest = np.argmin(((at[:, None] - seeds[None]) ** 2).sum(axis=-1), axis=1)
    return {u: f"G{k:02d}" for u, k in zip(mine.index, nearest, strict=True)}


def paint(client, units: dict[str, str]) -> tuple[list[dict], np.ndarray]:
    answer = client.post("/api/fabric/cells", json={"units": units})
    assert answer.status_code == 200, answer.text
    features = answer.json()["features"]
    return [f["properties"] for f in features], np.array([shapely.geometry.shape(f["geometry"]) for f in features], dtype=object)  # fmt: skip


def rounded(geoms):
    """The cells as the editor sends them back: every coordinate rounded to 8 decimals."""
    return shapely.transform(geoms, lambda xy: np.round(xy, EDITOR_DECIMALS))


def dissolves(stored: gpd.GeoDataFrame, units: dict[str, str], codes: list[str]) -> np.ndarray:
    """Each cell as the exact union of its units, before any rounding."""
    painted = pd.Series(units)
    return np.array([shapely.union_all(stored.geometry[painted.index[painted == c]].values) for c in codes], dtype=object)  # fmt: skip


def shared_borders(geoms: np.ndarray) -> dict[tuple[int, int], float]:
    """The length of border each pair of cells shares, in degrees."""
    i, j = neighbours(geoms)
    lengths = shapely.length(shapely.intersection(shapely.boundary(geoms[i]), shapely.boundary(geoms[j])))  # fmt: skip
    return {(a, b): n for a, b, n in zip(i.tolist(), j.tolist(), lengths, strict=True) if n > 0}


def check_cells(stored: gpd.GeoDataFrame, units: dict[str, str], properties: list[dict], geoms: np.ndarray) -> None:  # fmt: skip
    """What every painting's answer holds to (see the module's docstring)."""
    codes = [p["code"] for p in properties]
    assert sorted(codes) == sorted(set(units.values())), "every painted cell comes back"
    broken = [(c, shapely.is_valid_reason(g)) for c, g in zip(codes, rounded(geoms), strict=True) if not g.is_valid]  # fmt: skip
    assert not broken, f"{len(broken)} of {len(codes)} cells invalid at 8 decimals: {broken[:3]}"
    assert shapely.is_valid(geoms).all()
    assert shapely.equals_exact(geoms, rounded(geoms), tolerance=0).all(), "not on the grid"
    exact = dissolves(stored, units, codes)
    # each cell is the ground of its units, give or take the strip its border may move in
    moved = shapely.area(shapely.symmetric_difference(geoms, exact))
    assert (moved <= shapely.length(exact) * MOVE).all()
    everything = shapely.union_all(stored.geometry[list(units)].values)
    assert abs(shapely.area(shapely.union_all(geoms)) - shapely.area(everything)) <= shapely.length(exact).sum() * MOVE  # fmt: skip
    # the dissolves do not overlap (the units only leave hair gaps), nor do the cells
    i, j = neighbours(geoms)
    assert (shapely.area(shapely.intersection(geoms[i], geoms[j])) == 0).all()
    # neighbours stay neighbours, and a corner of one on the other's border is a vertex of both
    assert shared_borders(exact).keys() <= shared_borders(geoms).keys()
    assert not t_junctions(geoms)
    painted = pd.Series(units)
    households = stored["households"][list(units)].groupby(painted[list(units)].to_numpy()).sum()
    assert {p["code"]: p["households"] for p in properties} == households.to_dict()


def test_painted_cells_stay_valid_at_the_8_decimals_the_editor_keeps(painting):
    client, stored = painting
    units = by_nearest_seed(stored, cells=8, seed=3)
    properties, geoms = paint(client, units)
    check_cells(stored, units, properties, geoms)


def test_painted_cells_keep_the_borders_their_dissolves_share(painting):
    """Along as much border as the exact dissolves share or more: hair gaps narrower than the
    grid close."""
    client, stored = painting
    units = by_nearest_seed(stored, cells=10, seed=5)
    properties, geoms = paint(client, units)
    before = shared_borders(dissolves(stored, units, [p["code"] for p in properties]))
    after = shared_borders(geoms)
    assert sum(after.values()) >= sum(before.values())
    assert all(after.get(pair, 0) >= 0.99 * n for pair, n in before.items())


def test_no_units_still_make_no_cells(painting):
    client, _ = painting
    answer = client.post("/api/fabric/cells", json={"units": {}})
    assert answer.json() == {"type": "FeatureCollection", "features": []}


def test_a_cell_narrower_than_the_grid_is_kept_with_its_figures_and_no_ground(painting):
    client, stored = painting
    properties, geoms = paint(client, {"C2-S": "G1"})
    assert [(p["code"], p["households"], p["units"]) for p in properties] == [("G1", 0, 1)]
    assert geoms[0].geom_type == "Polygon" and geoms[0].is_empty
    # beside a unit of some width, the sliver is lost in the cell's border
    properties, geoms = paint(client, {"C2-S": "G1", "C2-A": "G1"})
    assert [(p["code"], p["households"], p["units"]) for p in properties] == [("G1", 40, 2)]
    assert geoms[0].is_valid
    assert shapely.equals_exact(geoms[0], rounded(geoms[0]), tolerance=0)
    ground = shapely.union_all(stored.geometry[["C2-A", "C2-S"]].values)
    assert shapely.area(shapely.symmetric_difference(geoms[0], ground)) <= ground.length * MOVE


def test_a_cell_that_is_itself_invalid_comes_back_repaired_not_as_a_failure():
    bowtie = shapely.Polygon([(104.0, 30.0), (104.001, 30.001), (104.001, 30.0), (104.0, 30.001)])
    beside = shapely.box(104.001, 30.0, 104.002, 30.001)
    cell, neighbour = rounded_coverage(np.array([bowtie, beside], dtype=object), EDITOR_DECIMALS)
    assert cell.is_valid and cell.area == pytest.approx(shapely.make_valid(bowtie).area)
    assert neighbour.equals(beside)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cells=st.integers(1, 12), scattered=st.booleans())
def test_any_painting_of_the_messy_fabric_comes_back_valid_at_8_decimals(painting, seed, cells, scattered):  # fmt: skip
    """Cells of neighbouring units, or (``scattered``) units painted at random into cells of
    many parts."""
    client, stored = painting
    units = by_nearest_seed(stored, cells, seed)
    if scattered:
        picks = np.random.default_rng(seed).integers(0, cells, len(units))
        units = {u: f"G{k:02d}" for u, k in zip(units, picks, strict=True)}
    properties, geoms = paint(client, units)
    check_cells(stored, units, properties, geoms)

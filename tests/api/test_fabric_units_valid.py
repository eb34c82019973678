"""GET /api/fabric serves the units on the 8-decimal grid the editor keeps (about a millimetre),
valid there, none overlapping, neighbours still sharing their borders vertex for vertex, every
unit kept and its ground moved by no more than the rounding allows: on the demo, and on the
irregular synthetic city, whose overlays leave vertices a hair apart (rounded each alone, a
tenth to a quarter of their units cross themselves)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from coverage_checks import neighbours, t_junctions
from fastapi.testclient import TestClient

from benchmarks.synthcity import city_at
from gridmap.api.app import create_app
from gridmap.auth import add_account, issue_token
from gridmap.cli import DEMO_DATA, load_demo
from gridmap.config import Settings
from gridmap.core.cell_geometry import in_storage_crs
from gridmap.core.fabric import as_table, unit_fabric
from gridmap.io.geojson_text import EDITOR_DECIMALS
from gridmap.runs import run_integrate
from gridmap.store.db import make_engine, transaction
from gridmap.store.fabric import save_fabric
from gridmap.store.schema import upgrade

STEP = 10.0**-EDITOR_DECIMALS  # the grid, in degrees
MOVE = STEP * 2**0.5 / 2  # the most snap rounding moves a point: half a grid cell's diagonal
TOUCH = 1e-11  # degrees (about a micrometre): units this close met as the overlays left them


def client_on(engine, settings: Settings) -> TestClient:
    with transaction(engine) as conn:
        add_account(conn, "底图管理员", "admin", None, "test-password-not-secret", "tests")
        token = issue_token(conn, "底图管理员", "tests", actor="tests")
    return TestClient(create_app(settings), headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A client on the integrated demo, and its units as integration made them (EPSG:4326)."""
    settings = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('units-demo') / 'demo.db'}", seed_cache=False)  # fmt: skip
    engine = make_engine(settings)
    upgrade(engine)
    load_demo(engine, DEMO_DATA)
    made = run_integrate(engine, settings).fabric
    with client_on(engine, settings) as client:
        yield client, made
    engine.dispose()


def irregular_units() -> gpd.GeoDataFrame:
    """The fabric of two communities of the irregular synthetic city (400 units), in EPSG:4326
    as integration stores it."""
    city = city_at(0.02, seed=7, members=0, irregular=True)
    communities, compounds, buildings = (city[n].to_crs(4544) for n in ("community", "compound", "building"))  # fmt: skip
    units = unit_fabric(communities, compounds, buildings)
    return in_storage_crs(gpd.GeoDataFrame(as_table(units), geometry=units.geometry.values, crs=units.crs))  # fmt: skip


@pytest.fixture(scope="module")
def irregular(tmp_path_factory):
    settings = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('units-irregular') / 'city.db'}", seed_cache=False)  # fmt: skip
    engine = make_engine(settings)
    upgrade(engine)
    made = irregular_units()
    with transaction(engine) as conn:
        save_fabric(conn, made, None)
    with client_on(engine, settings) as client:
        yield client, made
    engine.dispose()


def served(client: TestClient, communities) -> dict[str, shapely.Geometry]:
    """Every unit GET /api/fabric serves for ``communities``, by code."""
    out = {}
    for community in communities:
        answer = client.get("/api/fabric", params={"community": community})
        assert answer.status_code == 200, answer.text
        out |= {f["properties"]["code"]: shapely.geometry.shape(f["geometry"]) for f in answer.json()["features"]}  # fmt: skip
    return out


def rounded(geoms: np.ndarray) -> np.ndarray:
    """As the editor sends them back, or a GIS tool writes them: rounded to 8 decimals."""
    return shapely.transform(geoms, lambda xy: np.round(xy, EDITOR_DECIMALS))


def check_units(made: gpd.GeoDataFrame, units: dict[str, shapely.Geometry]) -> None:
    """What the units served hold to (see the module's docstring)."""
    assert sorted(units) == sorted(made["code"]), "every unit is served"
    geoms = np.array([units[c] for c in made["code"]], dtype=object)
    exact = np.asarray(made.geometry.values, dtype=object)
    assert not shapely.is_empty(geoms).any()
    broken = [(c, shapely.is_valid_reason(g)) for c, g in zip(made["code"], rounded(geoms), strict=True) if not g.is_valid]  # fmt: skip
    assert not broken, f"{len(broken)} of {len(geoms)} units invalid at 8 decimals: {broken[:3]}"
    assert shapely.is_valid(geoms).all()
    assert shapely.equals_exact(geoms, rounded(geoms), tolerance=0).all(), "not on the grid"
    # each unit is its ground, give or take the strip its border may move in
    moved = shapely.area(shapely.symmetric_difference(geoms, exact))
    assert (moved <= shapely.length(exact) * MOVE).all()
    i, j = neighbours(geoms)
    assert (shapely.area(shapely.intersection(geoms[i], geoms[j])) == 0).all(), "units overlap"
    # units that met share their border still (what they met along: within a micrometre, the
    # overlays' noise, for more than 10 cm, not counting slivers narrower than the grid, which go)
    opened = shapely.buffer(shapely.buffer(exact, -STEP, join_style="mitre"), STEP, join_style="mitre")  # fmt: skip
    i, j = neighbours(opened, distance=TOUCH)
    met = shapely.length(shapely.intersection(shapely.boundary(opened[i]), shapely.buffer(opened[j], TOUCH)))  # fmt: skip
    shared = shapely.length(shapely.intersection(shapely.boundary(geoms[i]), shapely.boundary(geoms[j])))  # fmt: skip
    along = met > 100 * STEP
    assert along.sum() > len(geoms)
    assert (shared[along] >= 0.99 * met[along]).all(), "neighbours no longer share their border"
    assert not t_junctions(geoms)


def test_the_demo_units_are_served_valid_on_the_editors_grid(demo):
    client, made = demo
    # as integration makes them, rounding breaks a good many
    assert (~shapely.is_valid(rounded(made.geometry.values))).sum() > 10
    check_units(made, served(client, made["community_code"].unique()))


def test_the_irregular_units_are_served_valid_on_the_editors_grid(irregular):
    client, made = irregular
    assert (~shapely.is_valid(rounded(made.geometry.values))).sum() > 10
    check_units(made, served(client, made["community_code"].unique()))


def test_a_plan_imported_from_a_unit_table_has_cells_valid_on_the_editors_grid(demo):
    """The cells of an imported plan are the dissolves of its units as stored: on the grid and
    meeting vertex to vertex, those dissolves stay valid there (15 of the 42 cells of the demo's
    Party grid were not, dissolved from the units as integration made them)."""
    client, _ = demo
    table = client.get("/api/fabric/assignment", params={"layer": "party", "format": "csv"})
    assert table.status_code == 200, table.text
    made = client.post("/api/fabric/import", data={"name": "党建网格单元方案"},
                       files={"file": ("单元.csv", table.content, "text/csv")})  # fmt: skip
    assert made.status_code == 201, made.text
    features = client.get(f"/api/plans/{made.json()['id']}").json()["cells"]["features"]
    cells = np.array([shapely.geometry.shape(f["geometry"]) for f in features], dtype=object)
    assert len(cells) == 42 and not shapely.is_empty(cells).any()
    broken = [shapely.is_valid_reason(g) for g in rounded(cells) if not g.is_valid]
    assert not broken, f"{len(broken)} of {len(cells)} cells invalid at 8 decimals: {broken[:3]}"
    i, j = neighbours(cells)
    assert (shapely.area(shapely.intersection(cells[i], cells[j])) == 0).all()

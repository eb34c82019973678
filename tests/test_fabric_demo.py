"""The unit fabric of the demo, made by ``gridmap integrate`` and stored; plans as unit tables
through ``gridmap plan units`` / ``plan import-units``, and plan exports with their figures."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from test_cli import gridmap

from gridmap.cli import DEMO_DATA, load_demo
from gridmap.config import Settings
from gridmap.core.cell_geometry import in_storage_crs
from gridmap.core.fabric import unit_fabric
from gridmap.core.plans import validate
from gridmap.crs import metric_crs_for
from gridmap.grid_proposals import propose_grid_plan
from gridmap.plan_tables import plan_with_figures
from gridmap.runs import run_integrate
from gridmap.store.db import make_engine, transaction
from gridmap.store.fabric import read_fabric
from gridmap.store.features import read_features
from gridmap.store.plans import create_plan, read_cells
from gridmap.store.schema import upgrade

CM2 = 1e-4


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo loaded and integrated once, with a draft copy of its unified grid (plan 1: its
    cells nest in the communities, as those of the Party grid do not all)."""
    db = tmp_path_factory.mktemp("fabric") / "demo.db"
    settings = Settings(database_url=f"sqlite:///{db}")
    engine = make_engine(settings)
    upgrade(engine)
    load_demo(engine, DEMO_DATA)
    run_integrate(engine, settings)
    with transaction(engine) as conn:
        create_plan(conn, "全科网格副本", "unified", "规划员甲")
    yield db, engine
    engine.dispose()


def assert_tiles(units, communities, tolerance_m2: float) -> None:
    for code, area in zip(communities["code"], communities.geometry.values, strict=True):
        mine = np.asarray(units.geometry.values[units["community_code"] == code], dtype=object)
        union = shapely.union_all(mine)
        assert shapely.area(shapely.symmetric_difference(union, area)) < tolerance_m2, code
        assert shapely.area(mine).sum() - union.area < tolerance_m2, code


def test_the_fabric_tiles_every_demo_community_and_is_stored(demo):
    _, engine = demo
    with engine.connect() as conn:
        layers = {n: read_features(conn, n) for n in ("community", "compound", "building")}
        member = read_features(conn, "member", columns=("category",))
        stored = read_fabric(conn)
    crs = metric_crs_for(layers["community"])
    communities, compounds, buildings = (layers[n].to_crs(crs) for n in ("community", "compound", "building"))  # fmt: skip
    units = unit_fabric(communities, compounds, buildings, member.to_crs(crs))
    assert_tiles(units, communities, CM2)
    assert stored["code"].tolist() == units["code"].tolist() and len(units) >= 150
    assert stored["households"].tolist() == units["households"].tolist()
    assert units["members_full"].sum() > 0 and units["households"].sum() > 10_000
    # stored in degrees: a straight border in metres bends by millimetres over a kilometre there,
    # and the stored units are snapped to the 8-decimal grid (their borders move by under 1 mm)
    assert_tiles(in_storage_crs(stored, crs), communities, 0.5 + 1e-3 * communities.length.max())


def test_a_plan_round_trips_through_a_unit_table_into_cells_of_its_units(demo, tmp_path):
    db, engine = demo
    table = tmp_path / "方案单元.csv"
    done = gridmap("plan", "units", "--plan", "1", "-o", table, db=db)
    assert done.returncode == 0, done.stderr
    written = pd.read_csv(table, dtype=str, encoding="utf-8-sig")
    residuals = pd.read_csv(tmp_path / "方案单元-residuals.csv", dtype={"cell_code": str}, encoding="utf-8-sig")  # fmt: skip
    with engine.connect() as conn:
        units = read_fabric(conn)
        drawn = read_cells(conn, 1)
    assert sorted(written["unit_code"]) == sorted(units["code"])
    assert set(residuals["cell_code"].dropna()) <= set(drawn["code"])
    imported = gridmap("plan", "import-units", table, "--name", "单元方案", db=db)
    assert imported.returncode == 0, imported.stderr
    assert "方案 plan 2" in imported.stdout
    with engine.connect() as conn:
        cells = read_cells(conn, 2)
        communities = read_features(conn, "community")
        compounds = read_features(conn, "compound")
    crs = metric_crs_for(communities)
    problems = validate(cells.to_crs(crs), communities.to_crs(crs), compounds.to_crs(crs))
    assert not {"plan_overlap", "plan_uncovered"} & set(problems["kind"])
    assert set(cells["code"]) == set(written["cell_code"])
    exported = tmp_path / "plan2.gpkg"
    assert gridmap("plan", "export", "2", "-o", exported, db=db).returncode == 0
    figures = gpd.read_file(exported).set_index("code")
    per_cell = written[["unit_code", "cell_code"]].merge(units[["code", "households"]], left_on="unit_code", right_on="code")  # fmt: skip
    sums = per_cell.groupby("cell_code")["households"].sum()
    assert figures["households"].sort_index().tolist() == sums.sort_index().tolist()
    assert set(figures["band"]) <= {"within", "below", "above"}
    for column in ("buildings", "compounds", "members_full", "members_probationary"):
        assert figures[column].sum() > 0, column


def test_a_bad_unit_table_names_row_and_field_and_imports_nothing(demo, tmp_path):
    db, engine = demo
    with engine.connect() as conn:
        codes = read_fabric(conn)["code"].tolist()
    rows = ["单元编号,网格编号", f"{codes[0]},G1", "XQ-不存在,G1", f"{codes[0]},G2", f"{codes[1]},"]
    bad = tmp_path / "坏表.csv"
    bad.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = gridmap("plan", "import-units", bad, "--name", "坏方案", db=db)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    for where in ("第 3 行 (row 3), 字段 unit_code", "第 4 行 (row 4), 字段 unit_code",
                  "第 5 行 (row 5), 字段 cell_code", "XQ-不存在", "留白"):  # fmt: skip
        assert where in result.stderr + result.stdout, where
    with engine.connect() as conn:
        assert read_cells(conn, 3).empty


def test_the_api_serves_the_fabric_and_makes_plans_from_uploaded_unit_tables(demo):
    from fastapi.testclient import TestClient

    from gridmap.api.app import create_app
    from gridmap.auth import add_account, issue_token

    db, engine = demo
    settings = Settings(database_url=f"sqlite:///{db}", seed_cache=False)
    with transaction(engine) as conn:
        add_account(conn, "单元测试管理员", "admin", None, "test-password-not-secret", "tests")
        token = issue_token(conn, "单元测试管理员", "tests", actor="tests")
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings)) as client:
        layer = client.get("/api/fabric", params={"community": "510199001001"}, headers=auth)
        assert layer.status_code == 200, layer.text
        features = layer.json()["features"]
        assert len(features) >= 20 and {f["properties"]["community_code"] for f in features} == {"510199001001"}  # fmt: skip
        table = client.get("/api/fabric/assignment", params={"plan": 1, "format": "csv"}, headers=auth)  # fmt: skip
        assert table.status_code == 200 and table.content.startswith("\ufeffunit_code".encode())
        made = client.post("/api/fabric/import", headers=auth, data={"name": "上传的单元方案"},
                           files={"file": ("单元.csv", table.content, "text/csv")})  # fmt: skip
        assert made.status_code == 201, made.text
        cells = client.get(f"/api/plans/{made.json()['id']}", headers=auth).json()["cells"]
        assert len(cells["features"]) == len({r.split(",")[1] for r in table.text.splitlines()[1:]})
        broken = table.content.replace(b"\r\n", b"\r\nNO-SUCH-UNIT,X1,,,,\r\n", 1)
        refused = client.post("/api/fabric/import", headers=auth, data={"name": "坏"},
                              files={"file": ("坏.csv", broken, "text/csv")})  # fmt: skip
        assert refused.status_code == 422  # rows refused, as every import of rows
        assert [(p["row"], p["field"]) for p in refused.json()["problems"]] == [(2, "unit_code")], (
            refused.text
        )


def test_the_demo_compound_across_a_community_border_is_a_unit_on_each_side(demo):
    """翠竹小区 (XQ032): 28,631 m² in 510199001001, 9,496 m² in 510199001002 — each part a unit,
    so no painting cuts it, and the automatic proposal on the stored fabric cuts no compound."""
    _, engine = demo
    with engine.connect() as conn:
        stored = read_fabric(conn)
    parts = stored[stored["compound_code"] == "XQ032"]
    assert parts["code"].tolist() == ["510199001001-XQ032", "510199001002-XQ032"]
    assert (parts["area_m2"].to_numpy() >= [28_631, 9_496]).all()  # its part and ground around
    assert len(stored) == 170
    proposed = propose_grid_plan(engine, Settings(), name="自动划分", author="规划员甲")
    with engine.connect() as conn:
        cells = read_cells(conn, proposed.plan_id)
        communities = read_features(conn, "community")
        compounds = read_features(conn, "compound")
    crs = metric_crs_for(communities)
    problems = validate(cells.to_crs(crs), communities.to_crs(crs), compounds.to_crs(crs))
    assert problems.empty, problems[["kind", "code"]].values.tolist()
    held = proposed.assignment.set_index("unit_code")["cell_code"]
    assert held["510199001001-XQ032"].startswith("510199001001")
    assert held["510199001002-XQ032"].startswith("510199001002")
    # the plan's figures (its export) read XQ032 whole in the cell on each side, as validation does
    with engine.connect() as conn:
        figures = plan_with_figures(conn, Settings(), proposed.plan_id).set_index("code")
    assert (figures["compounds_cut"] == "").all(), figures["compounds_cut"].tolist()

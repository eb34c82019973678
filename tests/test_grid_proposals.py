"""The automatic grid proposal (自动划分网格方案) on the demo's stored unit fabric: its cells are
dissolves of fabric units, so the plan's unit table (what paint mode opens,
GET /api/fabric/assignment?plan=ID) gives back exactly the proposal's assignment."""

from __future__ import annotations

import pytest

from gridmap.cli import DEMO_DATA, load_demo
from gridmap.config import Settings
from gridmap.grid_proposals import propose_grid_plan
from gridmap.plan_tables import unit_assignment
from gridmap.runs import run_integrate
from gridmap.store.db import make_engine
from gridmap.store.fabric import read_fabric
from gridmap.store.schema import upgrade


@pytest.fixture(scope="module")
def integrated(tmp_path_factory):
    settings = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('propose') / 'demo.db'}")
    engine = make_engine(settings)
    upgrade(engine)
    load_demo(engine, DEMO_DATA)
    run_integrate(engine, settings)
    yield engine, settings
    engine.dispose()


def test_a_proposal_reads_back_as_its_own_unit_assignment(integrated):
    engine, settings = integrated
    done = propose_grid_plan(engine, settings, name="自动划分单元", author="规划员甲")
    with engine.connect() as conn:
        stored = read_fabric(conn)
        table, residuals = unit_assignment(conn, plan_id=done.plan_id)
    # the proposal grouped the stored units, every one of them
    assert sorted(done.assignment["unit_code"]) == sorted(stored["code"]) and len(stored) > 150
    proposed = dict(zip(done.assignment["unit_code"], done.assignment["cell_code"], strict=True))
    read_back = dict(zip(table["unit_code"], table["cell_code"], strict=True))
    assert read_back == proposed
    assert (table["share"] > 0.999).all()  # each unit lies whole in its cell
    # the drawn cells and the dissolves of their units agree to the households and the m²
    assert (residuals["households_difference"] == 0).all() and len(residuals) == done.cells
    assert residuals["area_only_drawn_m2"].max() < 1 and residuals["area_only_units_m2"].max() < 1

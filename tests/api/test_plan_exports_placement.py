"""A plan's export figures and the comparison count each member where the analysis placed them
(落位, stored with its run), as the editor's figures do, not where the placement rule would put
them: a member the run placed in a building of a neighbouring cell counts there, and moves with
that building. Both databases."""

from __future__ import annotations

import pytest
import shapely
from factories import placed_by_an_analysis
from servers import demo_database

from gridmap.config import Settings
from gridmap.core.member_homes import placed_homes
from gridmap.crs import metric_crs_for
from gridmap.plan_tables import compare_sides, plan_with_figures
from gridmap.store.db import make_engine, transaction
from gridmap.store.features import read_features
from gridmap.store.plans import create_plan

RENAMED = "X-落位"


@pytest.fixture(params=["spatialite", "postgis"])
def engine(request, tmp_path):
    """The demo, not analysed."""
    if request.param == "spatialite":
        url = f"sqlite:///{tmp_path / 'gridmap.db'}"
    else:
        url = request.getfixturevalue("postgis_cluster").create_db("exports_placed")
    engine = make_engine(Settings(database_url=demo_database(url, analyse=False)))
    yield engine
    engine.dispose()


def members_by_code(cells) -> dict[str, int]:
    total = cells["members_full"] + cells["members_probationary"]
    return dict(zip(cells["code"], total.astype(int), strict=True))


def members_moved(table) -> int:
    return int(table.set_index("key").loc["members_moved", "between"])


def test_exports_and_the_comparison_count_members_by_the_stored_placement(engine):
    settings = Settings(database_url=str(engine.url))
    with engine.connect() as conn:
        cells = read_features(conn, "grid", grid_layer="party")
        buildings = read_features(conn, "building")
        members = read_features(conn, "member")
    crs = metric_crs_for(buildings)
    rule = placed_homes(buildings.to_crs(crs).geometry.values, members.to_crs(crs).geometry.values)
    spots = shapely.point_on_surface(buildings.geometry.values)
    shapes = list(cells.geometry.values)
    cell_of = [next((i for i, s in enumerate(shapes) if s.contains(p)), -1) for p in spots]
    # a member the rule puts in a building of cell A, and a building of a neighbouring cell B
    member = next(i for i, b in enumerate(rule) if b >= 0 and cell_of[b] >= 0)
    a = cell_of[rule[member]]
    b = next(i for i, s in enumerate(shapes) if i != a and s.touches(shapes[a]))
    other = next(i for i, c in enumerate(cell_of) if c == b)
    code_b = cells["code"].iloc[b]
    # the plan gives cell A a new code: its members, and only they, change grid
    plan = cells[["code", "name", "community_code", "geometry"]].copy()
    plan.loc[plan.index[a], "code"] = RENAMED
    with transaction(engine) as conn:
        plan_id = create_plan(conn, "落位", "party", "tests", cells=plan)
    with engine.connect() as conn:
        export_by_rule = members_by_code(plan_with_figures(conn, settings, plan_id))
        _, table_by_rule, _, _ = compare_sides(conn, settings, "layer:party", str(plan_id))

    placed_by_an_analysis(engine, members["code"].iloc[member], buildings["code"].iloc[other])
    with engine.connect() as conn:
        export = members_by_code(plan_with_figures(conn, settings, plan_id))
        _, table, _, check = compare_sides(conn, settings, "layer:party", str(plan_id))

    assert export_by_rule[RENAMED] >= 1
    assert export[RENAMED] == export_by_rule[RENAMED] - 1
    assert export[code_b] == export_by_rule[code_b] + 1
    assert sum(export.values()) == sum(export_by_rule.values())
    # the member now lives in a building of B, which keeps its code: they no longer change grid
    assert members_moved(table_by_rule) == export_by_rule[RENAMED]
    assert members_moved(table) == members_moved(table_by_rule) - 1
    assert check["members_moved_in_area"] == members_moved(table)
    households = table.set_index("key").loc["households_moved", "between"]
    assert households == table_by_rule.set_index("key").loc["households_moved", "between"]

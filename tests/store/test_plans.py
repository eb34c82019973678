"""Plans in SpatiaLite and PostGIS: copy, versioned saves, conflicts, approval with history."""

from __future__ import annotations

import threading

import geopandas as gpd
import pytest
import shapely
from shapely import box
from sqlalchemy import select

from gridmap.errors import ConflictError, NotFoundError, RowsRejectedError
from gridmap.store import plans
from gridmap.store.features import read_features, upsert_features
from gridmap.store.models import ChangeLog

X, Y = 104.06, 30.66
D = 0.001  # about 100 m


def grid_frame(n: int) -> gpd.GeoDataFrame:
    geoms = [shapely.multipolygons([box(X + i * D, Y, X + (i + 1) * D, Y + D)]) for i in range(n)]
    return gpd.GeoDataFrame(
        {"code": [f"G{i + 1:02d}" for i in range(n)], "name": [f"第{i + 1}网格" for i in range(n)],
         "community_code": ["C01"] * n},
        geometry=geoms, crs=4326,
    )  # fmt: skip


@pytest.fixture
def plan(engine):
    with engine.begin() as conn:
        upsert_features(conn, "grid", grid_frame(3), grid_layer="party")
        plan_id = plans.create_plan(conn, "调整方案一", "party", actor="planner-a")
    return plan_id


def redrawn(engine, plan_id):
    with engine.connect() as conn:
        cells = plans.read_cells(conn, plan_id)
    # G01 takes the west half of G02; G02 keeps the rest
    cells.loc[0, "geometry"] = box(X, Y, X + 1.5 * D, Y + D)
    cells.loc[1, "geometry"] = box(X + 1.5 * D, Y, X + 2 * D, Y + D)
    return cells


def test_a_plan_starts_as_a_copy_of_its_layer(engine, plan):
    with engine.connect() as conn:
        meta = plans.plan_meta(conn, plan)
        cells = plans.read_cells(conn, plan)
        layer = read_features(conn, "grid", grid_layer="party")
    assert (meta["status"], meta["version"], meta["created_by"]) == ("draft", 1, "planner-a")
    assert cells["code"].tolist() == layer["code"].tolist() == ["G01", "G02", "G03"]
    assert all(a.equals(b) for a, b in zip(cells.geometry, layer.geometry, strict=True))
    assert cells["name"].tolist()[0] == "第1网格"


def test_save_raises_the_version_and_a_stale_save_is_refused_naming_who_saved(engine, plan):
    cells = redrawn(engine, plan)
    with engine.begin() as conn:
        assert plans.save_plan(conn, plan, 1, cells, actor="planner-a") == 2
    with pytest.raises(ConflictError) as caught, engine.begin() as conn:
        plans.save_plan(conn, plan, 1, cells.iloc[:1], actor="planner-b")
    assert "planner-a" in caught.value.message_zh and "version 2" in caught.value.message_en
    with engine.connect() as conn:
        kept = plans.read_cells(conn, plan)
        assert plans.plan_meta(conn, plan)["version"] == 2
    assert len(kept) == 3  # planner-b's one-cell plan did not land
    assert kept.geometry.iloc[0].equals(shapely.multipolygons([cells.geometry.iloc[0]]))


def test_two_saves_from_the_same_version_at_once_one_wins(engine, plan):
    cells = redrawn(engine, plan)
    barrier = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def save(actor):
        barrier.wait()
        try:
            with engine.begin() as conn:
                outcome[actor] = plans.save_plan(conn, plan, 1, cells, actor=actor)
        except ConflictError as exc:
            outcome[actor] = exc

    threads = [threading.Thread(target=save, args=(a,)) for a in ("planner-a", "planner-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    won = [a for a, v in outcome.items() if v == 2]
    lost = [a for a, v in outcome.items() if isinstance(v, ConflictError)]
    assert len(won) == 1 and len(lost) == 1, outcome
    with engine.connect() as conn:
        meta = plans.plan_meta(conn, plan)
    assert (meta["version"], meta["saved_by"]) == (2, won[0])


def test_unusable_cells_are_refused_with_row_and_field_and_nothing_changes(engine, plan):
    cells = redrawn(engine, plan)
    cells.loc[1, "code"] = "G01"
    cells.loc[2, "geometry"] = shapely.LineString([(X, Y), (X + D, Y)])
    with pytest.raises(RowsRejectedError) as caught, engine.begin() as conn:
        plans.save_plan(conn, plan, 1, cells, actor="planner-a")
    text = str(caught.value)
    assert "G01" in text and "geometry" in text and "row 3" in text
    with engine.connect() as conn:
        assert plans.plan_meta(conn, plan)["version"] == 1


def test_approval_replaces_the_layer_keeps_history_and_logs(engine, plan):
    cells = redrawn(engine, plan)
    with engine.begin() as conn:
        plans.save_plan(conn, plan, 1, cells, actor="planner-a")
        entry = plans.approve_plan(conn, plan, 2, actor="admin")
    assert entry["replaced"] == 3 and entry["cells"] == 3
    with engine.connect() as conn:
        layer = read_features(conn, "grid", grid_layer="party")
        old = plans.history(conn, "party")
        meta = plans.plan_meta(conn, plan)
        log = conn.execute(select(ChangeLog.action, ChangeLog.actor).order_by(ChangeLog.id)).all()
    assert layer.set_index("code").geometry["G01"].equals(shapely.multipolygons([box(X, Y, X + 1.5 * D, Y + D)]))  # fmt: skip
    assert old["code"].tolist() == ["G01", "G02", "G03"] and set(old["replaced_by_plan"]) == {plan}
    assert old.geometry.iloc[0].equals(shapely.multipolygons([box(X, Y, X + D, Y + D)]))
    assert (meta["status"], meta["approved_by"]) == ("approved", "admin")
    assert [a for a, _ in log][-3:] == ["plan_create", "plan_save", "plan_approve"]
    with pytest.raises(ConflictError), engine.begin() as conn:
        plans.save_plan(conn, plan, 2, cells, actor="planner-a")


def test_approving_a_stale_version_is_refused(engine, plan):
    with engine.begin() as conn:
        plans.save_plan(conn, plan, 1, redrawn(engine, plan), actor="planner-a")
    with pytest.raises(ConflictError), engine.begin() as conn:
        plans.approve_plan(conn, plan, 1, actor="admin")
    with engine.connect() as conn:
        assert plans.history(conn, "party").empty


def test_missing_plan_and_layer(engine):
    with pytest.raises(NotFoundError), engine.connect() as conn:
        plans.plan_meta(conn, 999)
    with pytest.raises(NotFoundError), engine.begin() as conn:
        plans.create_plan(conn, "x", "no-such-layer", actor="a")

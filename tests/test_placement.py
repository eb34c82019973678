"""Each member placed once (落位) and stored with the analysis: the unified cells and the unit
figures count members by that one placement, and the members list reads it instead of placing
members again on every request.

The demo is loaded and analysed once, on SpatiaLite (the placements on PostGIS are checked
by tests/test_backup.py's analysed demo, the partitioned run's by tests/test_partitioned.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

import geopandas as gpd
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from shapely import Point, box
from sqlalchemy import update

from gridmap.api.app import create_app
from gridmap.api.routes import members as members_route
from gridmap.auth import add_account, issue_token
from gridmap.cli import DEMO_DATA, load_demo
from gridmap.config import Settings
from gridmap.core.assign import place_members
from gridmap.core.coverage import unified_cell_figures
from gridmap.runs import run_analyze
from gridmap.store.db import make_engine, transaction
from gridmap.store.features import read_features
from gridmap.store.models import MemberPlacement, table_for
from gridmap.store.placement import placements_of
from gridmap.store.results import latest_run, read_figures


def test_a_member_snapped_across_a_cell_border_counts_in_the_cell_of_the_building():
    # two cells side by side; the building stands in G1, 5 m from the border; the member's home
    # point lies 4 m into G2, within the snap distance of the building. Counted by containment
    # they would be G2's; placed (as households are counted, by building) they are G1's
    cells = gpd.GeoDataFrame({"code": ["G1", "G2"]}, geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)], crs=4544)  # fmt: skip
    buildings = gpd.GeoDataFrame({"code": ["B1"], "households": [40]}, geometry=[box(80, 40, 95, 60)], crs=4544)  # fmt: skip
    members = gpd.GeoDataFrame({"code": ["M1", "M2"], "category": ["full", "probationary"]},
                               geometry=[Point(104, 50), Point(190, 5)], crs=4544)  # fmt: skip
    placed = place_members(members, buildings, Settings())
    assert placed[["building_code", "how"]].values.tolist() == [["B1", "snapped"], [None, "unplaced"]]  # fmt: skip
    out = unified_cell_figures(cells, pd.Series(["G1"]), buildings["households"], placed)
    assert out[["code", "members_full", "members_probationary"]].values.tolist() == [
        ["G1", 1, 0], ["G2", 0, 0],  # the unplaced member is counted in no cell
    ]  # fmt: skip


def test_before_any_analysis_the_list_shows_the_imported_buildings_and_says_why(sqlite_settings):  # fmt: skip
    engine = make_engine(sqlite_settings)
    frame = gpd.GeoDataFrame({"code": ["M1"], "building_code": ["B9"], "updated_at": [None]},
                             geometry=[Point(104.06, 30.66)], crs=4326)  # fmt: skip
    with engine.connect() as conn:
        building, note = members_route.homes(conn, frame, sqlite_settings)
    engine.dispose()
    assert building.tolist() == ["B9"] and note == members_route.NOT_ANALYSED


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo analysed on SpatiaLite, an admin's token and a client of the app."""
    settings = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('placed') / 'demo.db'}")
    engine = make_engine(settings)
    load_demo(engine, DEMO_DATA)
    result = run_analyze(engine, settings)
    with transaction(engine) as conn:
        add_account(conn, "测试管理员", "admin", None, "pw-not-secret-1", "tests")
        token = issue_token(conn, "测试管理员", "tests", "tests")
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield engine, result, client
    engine.dispose()


def test_every_member_is_placed_once_and_counted_alike_in_cells_and_unit_figures(demo):
    engine, result, _ = demo
    with engine.connect() as conn:
        run = latest_run(conn, "analyze")
        placed = placements_of(conn, run)
        figures = read_figures(conn, run, level="grid").set_index("code")
        cells = read_features(conn, "grid", grid_layer="unified").set_index("code")
    counts = result.summary["counts"]
    assert len(placed) == placed.index.nunique() == counts["members"] == 3069
    assert placed.loc["DY00001", "building_code"] == "XQ001-06"
    assert placed.loc["DY-NEAR", ["building_code", "how"]].tolist() == ["XQ005-01", "snapped"]
    assert (placed["how"] != "unplaced").sum() == counts["members_assigned"]
    assert set(placed["how"]) == {"inside", "snapped", "unplaced"}
    assert placed.loc[placed["how"] == "unplaced", "building_code"].isna().all()
    # the unified cells and the grid rows of the unit figures: the same members, cell by cell
    stored = pd.DataFrame(list(cells["properties"]), index=cells.index)
    columns = ["members_full", "members_probationary"]
    assert sorted(figures.index) == sorted(stored.index)
    assert figures.loc[stored.index, columns].astype(int).equals(stored[columns].astype(int))
    assert stored["members_full"].sum() > 2000


def test_the_members_list_reads_the_stored_placement_until_members_change(demo, monkeypatch):
    engine, _, client = demo

    def listed(**params) -> dict:
        answer = client.get("/api/members", params={"limit": 5000, **params})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def building_of(code: str) -> str | None:
        return {m["code"]: m["building_code"] for m in listed(place="XQ001")["members"]}[code]

    assert building_of("DY00001") == "XQ001-06" and listed(place="XQ001")["placement_note"] is None  # fmt: skip
    # the stored placement is what the list shows: moved by hand, the list follows, and the
    # members are never placed again meanwhile
    with transaction(engine) as conn:
        run = latest_run(conn, "analyze")
        conn.execute(update(MemberPlacement).where(MemberPlacement.run_id == run, MemberPlacement.member_code == "DY00001").values(building_code="XQ001-01"))  # fmt: skip

    def never(*args, **kwargs):
        raise AssertionError("members placed again on a request")

    with monkeypatch.context() as patched:
        patched.setattr(members_route, "assign_points", never)
        assert building_of("DY00001") == "XQ001-01"
        assert "DY00001" not in {m["code"] for m in listed(place="XQ001-06")["members"]}
    # a member changed since the analysis: placed again from what is loaded now, and said so
    member = table_for("member")
    with transaction(engine) as conn:
        conn.execute(update(member).where(member.c.code == "DY00001").values(updated_at=datetime.now(UTC)))  # fmt: skip
    answer = listed(place="XQ001")
    assert building_of("DY00001") == "XQ001-06"
    assert (
        "分析之后" in answer["placement_note"]["zh"] and "changed" in answer["placement_note"]["en"]
    )
    page = client.get("/members", params={"place": "XQ001"}, headers={"Accept": "text/html"})
    assert page.status_code == 200 and 'id="placement-note"' in page.text

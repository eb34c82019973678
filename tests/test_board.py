"""网格公示牌 on the demo: one grid's board names the grid, its households and who serves it with
the public duty phone, never a personal phone; names masked for a role that may not see them;
the file `gridmap export board` writes requests nothing outside itself."""

from __future__ import annotations

import re

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from servers import demo_database
from test_cli import gridmap

from gridmap.api.app import create_app
from gridmap.auth import add_account, issue_token
from gridmap.config import Settings
from gridmap.notice_boards import board_page
from gridmap.permissions import mask_name
from gridmap.store.db import connect, make_engine, transaction
from gridmap.store.features import read_features

GRID = "DJ101"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    db = tmp_path_factory.mktemp("board") / "demo.db"
    settings = Settings(database_url=demo_database(f"sqlite:///{db}", analyse=False))
    engine = make_engine(settings)
    with connect(engine) as conn:
        staff = read_features(conn, "staff", include_personal=True)
        grid = read_features(conn, "grid", grid_layer="party")
        buildings = read_features(conn, "building")
    yield engine, settings, db, staff, grid[grid["code"] == GRID], buildings
    engine.dispose()


def _outside_requests(page: str) -> list[str]:
    return re.findall(r"https?://", re.sub(r"<!--.*?-->", "", page, flags=re.S))


def test_a_grids_board_names_it_counts_its_households_and_posts_duty_phones_only(demo):
    engine, _settings, _db, staff, grid, buildings = demo
    with connect(engine) as conn:
        page, (board,) = board_page(conn, grid=GRID, show_names=lambda _shape: True)
    # households of the buildings standing in the grid, counted here by a spatial join
    inside = gpd.sjoin(
        buildings.set_geometry(buildings.representative_point()), grid, predicate="within"
    )
    assert board.households == int(inside["households"].sum()) > 0
    assert str(grid["name"].iloc[0]) in page and f">{board.households}<" in page
    secretary = next(p for p in board.secretaries if p.duty_phone)
    assert secretary.title == "党支部书记" and secretary.name in page
    assert re.fullmatch(r"100-8800-\d{4}", secretary.duty_phone) and secretary.duty_phone in page
    assert board.workers and all(w.name in page for w in board.workers)
    assert not [phone for phone in staff["phone"].dropna() if phone in page]
    assert _outside_requests(page) == []


def test_names_are_masked_for_a_reader_who_may_not_see_them(demo):
    engine, _settings, _db, staff, _grid, _b = demo
    with connect(engine) as conn:
        page, (board,) = board_page(conn, grid=GRID, show_names=lambda _shape: False)
    names = [p.name for p in [*board.workers, *board.secretaries]]
    assert names and all("*" in n for n in names)
    assert not [n for n in staff["name"] if n in page]
    assert mask_name(staff.loc[staff["places"] == GRID, "name"].iloc[0]) in page


def test_the_map_page_serves_names_to_the_areas_coordinator_only(demo):
    engine, settings, *_ = demo
    with transaction(engine) as conn:
        add_account(conn, "公示牌查看者", "viewer", "510199001", "pw-not-secret-1", "tests")
        add_account(conn, "公示牌协调员", "coordinator", "510199001001", "pw-not-secret-1", "tests")
        tokens = [issue_token(conn, n, "t", "tests") for n in ("公示牌查看者", "公示牌协调员")]
    with TestClient(create_app(settings)) as client:
        viewer, coordinator = (
            client.get(f"/board?grid={GRID}", headers={"Authorization": f"Bearer {t}"})
            for t in tokens
        )
        whole = client.get("/board?community=510199001001&size=A3",
                           headers={"Authorization": f"Bearer {tokens[1]}"})  # fmt: skip
    assert viewer.status_code == coordinator.status_code == 200
    assert "演示" in coordinator.text and "演示" not in viewer.text and "*" in viewer.text
    assert whole.text.count('class="board"') > 1 and "A3 portrait" in whole.text


def test_the_command_writes_a_board_that_requests_nothing_outside(demo, tmp_path):
    _engine, _settings, db, *_ = demo
    out = tmp_path / "公示牌.html"
    done = gridmap("export", "board", "--grid", GRID, "-o", out, db=db)
    assert done.returncode == 0, done.stderr
    page = out.read_text(encoding="utf-8")
    assert 'class="board"' in page and "<svg" in page and _outside_requests(page) == []
    wrong = gridmap("export", "board", "--grid", "NOPE", "-o", out, db=db)
    assert wrong.returncode != 0 and "NOPE" in wrong.stdout + wrong.stderr
    assert "Traceback" not in wrong.stdout + wrong.stderr


def test_every_gap_kind_has_a_legend_colour_of_its_own():
    from gridmap.core.gaps import GAP_KINDS
    from gridmap.maps.layers import GAP_COLOURS

    assert set(GAP_KINDS) <= set(GAP_COLOURS)
    assert len(set(GAP_COLOURS.values())) == len(GAP_COLOURS)
    assert "#d50000" not in GAP_COLOURS.values()  # the colour of a kind the legend forgot

"""What POST /api/fabric/cells says after a stroke beyond the sums: compounds cut (a compound the
fabric split into building groups, painted into two cells), stations in reach (none within the
walking radius is an empty list), and the Party rules the analysis applies to branches — on a
hand-made fabric of one community with a branch covering one compound and one station."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from shapely import MultiPolygon, Point, box

from gridmap.api.app import create_app
from gridmap.auth import add_account, issue_token
from gridmap.config import Settings
from gridmap.core.fabric import as_table
from gridmap.store.db import make_engine, transaction
from gridmap.store.fabric import save_fabric
from gridmap.store.features import upsert_features
from gridmap.store.schema import upgrade

X0, Y0, D = 104.05, 30.65, 0.002  # about 200 m squares in Chengdu, in a row eastwards


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('fabric-checks') / 'gridmap.db'}"
    settings = Settings(database_url=url, seed_cache=False, station_radius_m=600.0)
    engine = make_engine(settings)
    upgrade(engine)
    # P is one compound split into two building groups; A is covered by a branch, B by none
    units = gpd.GeoDataFrame(
        {"code": ["C1-A", "C1-P-1", "C1-P-2", "C1-B", "C1-LB9"], "community_code": ["C1"] * 5,
         "compound_code": ["A", "P", "P", "B", None],
         "kind": ["compound", "compound_part", "compound_part", "compound", "buildings"],
         "households": [120, 300, 100, 90, 40], "buildings": [3, 6, 2, 2, 1],
         "members_full": [2, 5, 4, 1, 0], "members_probationary": [1, 1, 0, 0, 0],
         "building_codes": ["", "B1;B2", "B3", "", "B9"]},
        geometry=[box(X0 + i * D, Y0, X0 + (i + 1) * D, Y0 + D) for i in range(5)], crs=4326,
    )  # fmt: skip
    metric = units.to_crs(32648)
    station = pd.DataFrame({"code": ["ZD1"], "name": ["一号党群服务站"], "kind": ["station"], "geometry": [Point(X0 + 0.2 * D, Y0 + 0.5 * D)]})  # fmt: skip
    org = pd.DataFrame({"code": ["ZB1"], "name": ["甲小区党支部"], "kind": ["branch"], "covers": ["A"], "has_committee": [False]})  # fmt: skip
    with transaction(engine) as conn:
        save_fabric(conn, gpd.GeoDataFrame(as_table(metric), geometry=metric.geometry.values, crs=metric.crs), None)  # fmt: skip
        upsert_features(conn, "station", gpd.GeoDataFrame(station, geometry="geometry", crs=4326))
        upsert_features(conn, "org", org)
        community = pd.DataFrame({"code": ["C1"], "name": ["一社区"], "geometry": [MultiPolygon([box(X0, Y0, X0 + 5 * D, Y0 + D)])]})  # fmt: skip
        upsert_features(conn, "community", gpd.GeoDataFrame(community, geometry="geometry", crs=4326))  # fmt: skip
        add_account(conn, "检查管理员", "admin", None, "test-password-not-secret", "tests")
        token = issue_token(conn, "检查管理员", "tests", actor="tests")
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {token}"}) as c:
        yield c, engine
    engine.dispose()


def paint(client, units: dict[str, str]) -> dict[str, dict]:
    answer = client.post("/api/fabric/cells", json={"units": units})
    assert answer.status_code == 200, answer.text
    return {f["properties"]["code"]: f["properties"] for f in answer.json()["features"]}


def kinds(cell: dict) -> list[str]:
    return [f["kind"] for f in cell["party"]]


def test_a_split_compound_painted_into_two_cells_is_cut_in_both_and_whole_in_one(server):
    client, _ = server
    cells = paint(client, {"C1-A": "G1", "C1-P-1": "G1", "C1-P-2": "G2", "C1-B": "G2"})
    assert (cells["G1"]["compounds_cut"], cells["G2"]["compounds_cut"]) == ("P 75%", "P 25%")
    whole = paint(client, {"C1-A": "G1", "C1-P-1": "G2", "C1-P-2": "G2", "C1-B": "G2"})
    assert (whole["G1"]["compounds_cut"], whole["G2"]["compounds_cut"]) == ("", "")


def test_a_cell_beyond_the_walking_radius_of_every_station_has_none_in_reach(server):
    client, _ = server
    cells = paint(client, {"C1-A": "G1", "C1-B": "G2", "C1-LB9": "G3"})
    assert cells["G1"]["stations_in_reach"] == "ZD1"  # the station lies in it
    assert cells["G2"]["stations_in_reach"] == "ZD1"  # its near edge 535 m east of it: within 600 m
    assert cells["G3"]["stations_in_reach"] == ""  # 725 m and more


def test_the_party_rules_of_the_analysis_are_applied_to_each_painted_cell(server):
    client, _ = server
    cells = paint(client, {"C1-A": "G1", "C1-P-1": "G2", "C1-P-2": "G2", "C1-B": "G3", "C1-LB9": "G3"})  # fmt: skip
    # 2 full members: too few for a branch of its own; its compound is covered by ZB1
    assert kinds(cells["G1"]) == ["joint_branch_needed"]
    # 9 full members and no branch over P: a branch (with a committee) can be set up
    assert kinds(cells["G2"]) == ["branch_of_its_own", "cell_without_branch", "compound_without_org"]  # fmt: skip
    assert "委员会" in cells["G2"]["party"][0]["message_zh"]
    assert cells["G2"]["party"][2]["codes"] == "P"
    assert kinds(cells["G3"]) == ["joint_branch_needed", "compound_without_org"]


def test_party_rules_resting_on_hidden_member_counts_are_not_shown(server):
    client, engine = server
    with transaction(engine) as conn:
        add_account(conn, "检查规划员", "planner", "C1", "test-password-not-secret", "tests")
        token = issue_token(conn, "检查规划员", "tests", actor="tests")
    headers = {"Authorization": f"Bearer {token}"}
    answer = client.post("/api/fabric/cells", json={"units": {"C1-B": "G3", "C1-LB9": "G3"}}, headers=headers)  # fmt: skip
    assert answer.status_code == 200, answer.text
    [cell] = [f["properties"] for f in answer.json()["features"]]
    assert cell["members"] is None  # 1 member: hidden from a role without personal data
    assert kinds(cell) == ["compound_without_org"]

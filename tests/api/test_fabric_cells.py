"""POST /api/fabric/cells (the paint mode's call) at its edges, on a hand-made fabric of three
units in one community and one in another: no units, unknown units, one unit, blank cell codes,
names of cells not painted, cells across communities — each a clear answer, never a 500."""

from __future__ import annotations

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from shapely import box

from gridmap.api.app import create_app
from gridmap.auth import add_account, issue_token
from gridmap.config import Settings
from gridmap.core.fabric import as_table
from gridmap.store.db import make_engine, transaction
from gridmap.store.fabric import save_fabric
from gridmap.store.schema import upgrade

X0, Y0, D = 104.05, 30.65, 0.001  # about 100 m squares in Chengdu


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('fabric-cells') / 'gridmap.db'}"
    settings = Settings(database_url=url, seed_cache=False)
    engine = make_engine(settings)
    upgrade(engine)
    units = gpd.GeoDataFrame(
        {"code": ["C1-A", "C1-B", "C1-C", "C2-A"], "community_code": ["C1", "C1", "C1", "C2"],
         "compound_code": ["A", "B", "C", "A"], "kind": ["compound"] * 4,
         "households": [120, 200, 90, 310], "buildings": [3, 5, 2, 6],
         "members_full": [7, 9, 4, 8], "members_probationary": [3, 3, 3, 3], "building_codes": [""] * 4},
        geometry=[box(X0 + i * D, Y0, X0 + (i + 1) * D, Y0 + D) for i in range(4)], crs=4326,
    )  # fmt: skip
    metric = units.to_crs(32648)
    with transaction(engine) as conn:
        save_fabric(conn, gpd.GeoDataFrame(as_table(metric), geometry=metric.geometry.values, crs=metric.crs), None)  # fmt: skip
        add_account(conn, "单元管理员", "admin", None, "test-password-not-secret", "tests")
        token = issue_token(conn, "单元管理员", "tests", actor="tests")
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {token}"}) as c:
        yield c
    engine.dispose()


def paint(client, body):
    return client.post("/api/fabric/cells", json=body)


def test_no_units_make_no_cells_whatever_names_are_sent(client):
    for body in ({"units": {}}, {"units": {}, "names": {"x": "y"}}):
        answer = paint(client, body)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"type": "FeatureCollection", "features": []}


def test_one_unit_is_one_cell_and_names_of_unpainted_cells_are_unused(client):
    answer = paint(client, {"units": {"C1-B": "G1"}, "names": {"G1": "一网格", "G9": "九网格"}})
    assert answer.status_code == 200, answer.text
    [cell] = [f["properties"] for f in answer.json()["features"]]
    assert (cell["code"], cell["name"], cell["households"], cell["band"]) == ("G1", "一网格", 200, "below")  # fmt: skip


def test_unknown_units_blank_cells_and_cells_across_communities_are_named_4xx(client):
    unknown = paint(client, {"units": {"C1-A": "G1", "NO-SUCH": "G1"}})
    assert unknown.status_code == 422
    assert [p["field"] for p in unknown.json()["problems"]] == ["units"]
    assert "NO-SUCH" in unknown.json()["problems"][0]["reason_zh"]
    for blank in ("", "   "):
        refused = paint(client, {"units": {"C1-A": blank}})
        assert refused.status_code == 422, refused.text
        assert refused.json()["problems"][0]["field"] == "body.units.C1-A"
    across = paint(client, {"units": {"C1-C": "G1", "C2-A": "G1"}})
    assert across.status_code == 422
    assert "C1" in across.json()["problems"][0]["reason_zh"] and "C2" in across.json()["problems"][0]["reason_zh"]  # fmt: skip

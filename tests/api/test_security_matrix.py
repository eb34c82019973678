"""Every operation of the API document, called by every role limited to every kind of area,
checked against a table of what that account may see.

One small hand-made subdistrict (two communities side by side, a compound of two buildings and
four members in each, one Party grid cell per community, analysed), one app per database, and
twelve accounts: admin, planner, coordinator and viewer, each of the subdistrict, of community
C1 and of C1's unified grid (an admin's area changes nothing). Each test is one operation: an
account whose role lacks what the operation needs gets 403 naming it; the others get what
:data:`TABLE` says — and an operation missing from the table fails
:func:`test_every_operation_of_the_api_is_in_the_table`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pytest
import shapely
from factories import LAT0, LON0, STEP
from fastapi.testclient import TestClient
from shapely.geometry import box, mapping

from gridmap import auth
from gridmap.api.app import create_app
from gridmap.auth import add_account, issue_token
from gridmap.config import Settings
from gridmap.loading import LoadOptions, load_file
from gridmap.maps import vector_tiles
from gridmap.permissions import PERMISSIONS
from gridmap.runs import run_analyze
from gridmap.store.db import make_engine, transaction
from gridmap.store.features import read_features

OPENAPI = create_app(Settings(database_url="sqlite://")).openapi()
OPERATIONS = sorted((m.upper(), p) for p, ops in OPENAPI["paths"].items() for m in ops)
PASSWORD = "matrix-password-not-secret"


def cell(x0: float, y0: float, x1: float, y1: float):
    """A box in steps of :data:`factories.STEP` (about 200 m) from the factories' origin."""
    return box(LON0 + x0 * STEP, LAT0 + y0 * STEP, LON0 + x1 * STEP, LAT0 + y1 * STEP)


def point(x: float, y: float) -> shapely.Point:
    return shapely.Point(LON0 + x * STEP, LAT0 + y * STEP)


C1, C2 = cell(0, 0, 2, 2), cell(2, 0, 4, 2)
HOMES = {  # member code → (home, community); M1 … M4 in compound K1 of C1, M5 … M8 in K2 of C2
    **{f"M{i + 1}": (point(0.5 + 0.3 * i, 0.6), "C1") for i in range(4)},
    **{f"M{i + 5}": (point(2.5 + 0.3 * i, 0.6), "C2") for i in range(4)},
}


def write_layers(folder) -> list[tuple[str, Any, str | None]]:
    """The files of the small subdistrict, as (layer, path, grid layer)."""

    def frame(rows: dict, geoms) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(rows, geometry=list(geoms), crs=4326)

    files = {
        "subdistrict": frame({"街道编码": ["S01"], "街道名称": ["矩阵街道"]}, [cell(0, 0, 4, 2)]),
        "community": frame(
            {"社区编码": ["C1", "C2"], "社区名称": ["甲社区", "乙社区"], "所属街道": ["S01"] * 2},
            [C1, C2],
        ),
        "grid": frame(
            {"网格编码": ["G1", "G2"], "网格名称": ["甲网格", "乙网格"], "所属社区": ["C1", "C2"]},
            [C1, C2],
        ),
        "compound": frame(
            {"小区编码": ["K1", "K2"], "小区名称": ["甲小区", "乙小区"], "所属社区": ["C1", "C2"]},
            [cell(0.2, 0.2, 1.8, 1.8), cell(2.2, 0.2, 3.8, 1.8)],
        ),
        "building": frame(
            {
                "楼栋编码": ["B1", "B2", "B3", "B4"],
                "户数": [120, 150, 130, 140],
                "所属小区": ["K1", "K1", "K2", "K2"],
            },
            [
                cell(0.3, 0.3, 0.9, 0.9),
                cell(1.1, 0.3, 1.7, 0.9),
                cell(2.3, 0.3, 2.9, 0.9),
                cell(3.1, 0.3, 3.7, 0.9),
            ],
        ),
        "station": frame({"站点编号": ["ST1"], "站点名称": ["甲服务站"]}, [point(1, 1.5)]),
    }
    paths = []
    for layer, data in files.items():
        path = folder / f"{layer}.geojson"
        data.to_file(path)
        paths.append((layer, path, "party" if layer == "grid" else None))
    members = folder / "members.csv"
    rows = [f"{code},测试党员{code},100000000{i:02d},{'正式党员' if i % 4 else '预备党员'},是,{'否' if i == 0 else '是'},{home.x},{home.y}"
            for i, (code, (home, _)) in enumerate(HOMES.items())]  # fmt: skip
    members.write_text("党员编号,姓名,手机号码,党员类别,在职党员,已报到,经度,纬度\n" + "\n".join(rows) + "\n", encoding="utf-8")  # fmt: skip
    return [*paths, ("member", members, None)]


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    level: str  # subdistrict | community | grid
    area: str
    shape: Any  # the area's outline

    @property
    def everywhere(self) -> bool:
        return self.role == "admin"

    def holds(self, home: shapely.Point) -> bool:
        return self.everywhere or self.shape.buffer(1e-9).covers(home)

    def holds_community(self, community: str | None) -> bool:
        """Whether the account sees the community as a unit (its figures)."""
        if self.everywhere or self.level == "subdistrict":
            return True
        return self.level == "community" and community == self.area

    def reaches(self, community: str | None) -> bool:
        """Whether findings placed in the community may lie in the account's area."""
        return self.holds_community(community) or (self.level == "grid" and community == "C1")

    def members(self) -> set[str]:
        return {code for code, (home, _) in HOMES.items() if self.holds(home)}

    def may(self, action: str) -> bool:
        return self.role in PERMISSIONS[action]


@dataclass
class World:
    client: TestClient
    tokens: dict[str, str]
    accounts: list[Account]
    plan_id: int
    probe: dict = field(default_factory=dict)

    def call(self, account: Account, method: str, path: str, **kw):
        headers = {"Authorization": f"Bearer {self.tokens[account.name]}"}
        return self.client.request(method, path, headers=headers, **kw)


# M1's home building, and the members placed in it (M1, M2): a member counts with their building
HOME_BUILDING = cell(0.3, 0.3, 0.9, 0.9)
IN_HOME_BUILDING = 2


def _probe(code: str) -> dict:
    """A feature: a box around M1's home building (its outline and ~1 m more)."""
    geom = box(*HOME_BUILDING.buffer(1e-5, join_style="mitre").bounds)
    return {"type": "Feature", "properties": {"code": code}, "geometry": mapping(geom)}


@pytest.fixture(scope="module", params=["spatialite", "postgis"])
def world(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("matrix")
    if request.param == "spatialite":
        url = f"sqlite:///{folder / 'gridmap.db'}"
    else:
        url = request.getfixturevalue("postgis_cluster").create_db("matrix")
    settings = Settings(database_url=url, seed_cache=False)
    engine = make_engine(settings)
    for layer, path, grid_layer in write_layers(folder):
        load_file(engine, layer, path, LoadOptions(grid_layer=grid_layer))
    run_analyze(engine, settings)
    with engine.connect() as conn:
        unified = read_features(conn, "grid", grid_layer="unified")
    grid = unified[unified["community_code"] == "C1"].iloc[0]
    areas = {"subdistrict": ("S01", cell(0, 0, 4, 2)), "community": ("C1", C1), "grid": (grid["code"], grid.geometry)}  # fmt: skip
    accounts = [Account(f"{role}-{level}", role, level, code, shape)
                for role in ("admin", "planner", "coordinator", "viewer")
                for level, (code, shape) in areas.items()]  # fmt: skip
    one_hash = auth.hash_password(PASSWORD)  # Argon2 is slow by design: once, not per account
    with transaction(engine) as conn, pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "hash_password", lambda _: one_hash)
        for a in accounts:
            add_account(conn, a.name, a.role, a.area, PASSWORD, actor="tests")
        tokens = {a.name: issue_token(conn, a.name, "matrix", actor="tests") for a in accounts}
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        admin = accounts[0]
        world = World(client, tokens, accounts, plan_id=0)
        plan = world.call(admin, "POST", "/api/plans", json={"name": "矩阵方案"}).json()
        world.plan_id = plan["id"]
        # the plan cuts a box around M1's home building out of G1: its two members move, from
        # G1 to PROBE
        cells = world.call(admin, "GET", f"/api/plans/{plan['id']}").json()["cells"]
        probe = _probe("PROBE")
        cut = [{**f, "geometry": mapping(shapely.geometry.shape(f["geometry"]).difference(shapely.geometry.shape(probe["geometry"])))} for f in cells["features"]]  # fmt: skip
        saved = world.call(admin, "PUT", f"/api/plans/{plan['id']}", json={"version": 1, "cells": {"type": "FeatureCollection", "features": [*cut, probe]}})  # fmt: skip
        assert saved.status_code == 200, saved.text
        world.probe = {"type": "FeatureCollection", "features": [_probe("DRAWN")]}
        yield world


# --- what each operation answers each account ------------------------------------------------


def counted_as_allowed(row: dict, account: Account, home: shapely.Point, exact: int) -> None:
    """The member counts of a drawn shape around ``home`` as :mod:`plans.counts` rules."""
    if not account.holds(home):
        assert (row["members"], row["members_hidden"]) == (None, "outside_area")
    elif not account.may("personal"):
        assert (row["members"], row["members_hidden"]) == (None, "few")
    else:
        assert (row["members"], row["members_hidden"]) == (exact, None)


def check_me(r, a: Account, w: World) -> None:
    assert r.status_code == 200 and (r.json()["name"], r.json()["area"]) == (a.name, a.area)


def check_gaps(r, a: Account, w: World) -> None:
    assert r.status_code == 200
    rows = [f["properties"] for f in r.json()["features"]] if "features" in r.json() else r.json()["gaps"]  # fmt: skip
    assert all(a.reaches(g.get("community_code")) or not g.get("community_code") for g in rows)  # fmt: skip
    # 在职党员未报到 (M1) is about one member: one by one only for roles that may see them
    layers = {g["layer"] for g in rows}
    assert "member" in layers if a.everywhere else a.may("personal") or "member" not in layers


def check_gap_counts(r, a: Account, w: World) -> None:
    assert r.status_code == 200
    kinds = r.json()
    # the same rule as the gap list: members' gaps counted only for roles that may see them
    assert ("member_not_reported" in kinds) == (a.everywhere or (a.may("personal") and a.holds(HOMES["M1"][0]))), kinds  # fmt: skip
    listed = w.call(a, "GET", "/api/gaps/list", params={"limit": 1000}).json()["gaps"]
    assert sum(kinds.values()) == len(listed)


def check_figures(r, a: Account, w: World) -> None:
    assert r.status_code == 200
    units = {(u["level"], u["code"]) for u in r.json()}
    assert (("community", "C1") in units) == a.holds_community("C1")
    assert (("community", "C2") in units) == a.holds_community("C2")
    if a.level == "grid" and not a.everywhere:
        assert units == {("grid", a.area)}


def check_unit(r, a: Account, w: World) -> None:
    assert r.status_code == (200 if a.holds_community("C1") else 404)


def check_proposals(r, a: Account, w: World) -> None:
    assert r.status_code == 200
    assert all(a.reaches(f["properties"]["community_code"]) for f in r.json()["features"])


def check_member_export(r, a: Account, w: World) -> None:
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {row["code"] for row in rows} == a.members()
    assert not {"经度", "纬度", "name", "phone", "building_code"} & set(rows[0])  # no home


def check_members(r, a: Account, w: World) -> None:
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == len(a.members()) and body["masked"] == (not a.may("personal"))
    if a.may("personal"):
        assert {m["code"] for m in body["members"]} == a.members()
    else:  # counts per compound, no member one by one
        assert body["members"] == [] and not re.search(r'"M\d"', r.text)
        assert sum(c["members"] for c in body["compounds"]) == len(a.members())


def check_plan(r, a: Account, w: World) -> None:
    assert r.status_code == 200
    body = r.json()
    assert body["area"] == (None if a.everywhere else a.area)
    inside = {f["properties"]["code"] for f in body["cells"]["features"] if a.everywhere or a.shape.buffer(1e-9).covers(shapely.geometry.shape(f["geometry"]).representative_point())}  # fmt: skip
    assert set(body["locked"]) == {f["properties"]["code"] for f in body["cells"]["features"]} - inside  # fmt: skip


def check_live_figures(r, a: Account, w: World) -> None:
    assert r.status_code == 200
    [row] = r.json()
    counted_as_allowed(row, a, HOMES["M1"][0], IN_HOME_BUILDING)


def check_diff(r, a: Account, w: World) -> None:
    assert r.status_code == 200
    [move] = [m for m in r.json()["moves"] if m["to_code"] == "PROBE"]
    counted_as_allowed(move, a, HOMES["M1"][0], IN_HOME_BUILDING)


def check_fabric(r, a: Account, w: World) -> None:
    assert r.status_code == 200
    [unit] = [f["properties"] for f in r.json()["features"]]
    assert (unit["code"], unit["households"], unit["members"]) == ("C1-K1", 270, 4)
    # M1 is probationary: one, below the threshold, so both parts hide for masked roles
    split = (3, 1) if a.may("personal") else (None, None)
    assert (unit["members_full"], unit["members_probationary"]) == split


def check_unit_table(r, a: Account, w: World) -> None:
    assert r.status_code == 200
    units = {u["unit_code"]: u["cell_code"] for u in r.json()["units"]}
    assert units == ({"C1-K1": "G1", "C2-K2": "G2"} if a.everywhere or a.level == "subdistrict" else {"C1-K1": "G1"})  # fmt: skip


def check_painted(r, a: Account, w: World) -> None:
    """Painting units of both communities: only accounts whose area holds both may."""
    if not (a.everywhere or a.level == "subdistrict"):
        assert r.status_code == 403 and "C2-K2" in r.json()["message_zh"], r.text
        return
    assert r.status_code == 200
    cells = {f["properties"]["code"]: f["properties"] for f in r.json()["features"]}
    assert [(c["households"], c["band"]) for c in (cells["G9"], cells["G8"])] == [(270, "below"), (270, "below")]  # fmt: skip


def check_compare(r, a: Account, w: World) -> None:
    """The Party grid against itself: nothing moves; member figures as the role may see them."""
    assert r.status_code == 200, r.text
    scores = {s["key"]: s for s in r.json()["scores"]}
    assert (scores["cells"]["a"], scores["households_moved"]["between"]) == (2, 0)
    moved, branchless = scores["members_moved"], scores["cells_without_branch"]
    if a.may("personal"):
        assert (moved["between"], moved["hidden"]) == (0, None)
        # cells short of full members are counted over every cell: only accounts of no area
        assert (branchless["a"], branchless["hidden"]) == ((0, None) if a.everywhere else (None, "outside_area"))  # fmt: skip
    else:  # zero is a count below the threshold too
        assert (moved["between"], moved["hidden"], branchless["a"], branchless["hidden"]) == (None, "few", None, "role")  # fmt: skip


def no_sessions(r, a: Account, w: World) -> None:
    assert r.status_code == 200 and r.json() == {"ended": 0}  # tokens are no browser sessions


def check_people(r, a: Account, w: World) -> None:
    """Who serves C1 (and its contact list): outside the area as absent; names masked for roles
    without personal data."""
    if not a.holds_community("C1"):
        assert r.status_code == 404, r.text
        return
    assert r.status_code == 200, r.text
    if r.headers["content-type"].startswith("application/json"):
        assert r.json()["masked"] == (not a.may("personal"))


def ok(r, a: Account, w: World) -> None:
    assert r.status_code == 200, r.text


def refused_body(r, a: Account, w: World) -> None:
    """A change sent without its body: the account passed every check of who may."""
    assert r.status_code == 422, r.text


def not_a_layer(r, a: Account, w: World) -> None:
    assert r.status_code == 404  # members are never a map layer


B1_CENTRE = cell(0.3, 0.3, 0.9, 0.9).centroid
B1_TILE = dict(zip(("x", "y"), map(str, vector_tiles.tile_of(B1_CENTRE.x, B1_CENTRE.y, 17)), strict=True))  # fmt: skip
B1_TILE.update(layer="building", z="17")  # the zoom-17 tile of B1's centre


MEMBER_TILE = {**B1_TILE, "layer": "member"}


def check_tile(r, a: Account, w: World) -> None:
    """A tile is the same for every account that may view (buildings are no one's own)."""
    assert r.status_code == 200 and r.headers["content-type"] == vector_tiles.MEDIA_TYPE
    features = vector_tiles.decode(r.content)["building"]["features"]
    assert "B1" in {f["properties"]["code"] for f in features}


def collections(r, a: Account, w: World) -> None:
    assert r.status_code == 200
    assert "member" not in {c["id"] for c in r.json()["collections"]}


@dataclass(frozen=True)
class Rule:
    """What an operation needs, how it is called, and what an account that may gets."""

    needs: str
    check: Callable
    params: dict = field(default_factory=dict)
    path: dict = field(default_factory=dict)
    body: Callable[[World], Any] | None = None


PLAN = {"plan_id": "PLAN"}
TABLE: dict[tuple[str, str], Rule] = {
    ("DELETE", "/api/me/sessions"): Rule("view", no_sessions),
    ("GET", "/api/me"): Rule("view", check_me),
    ("GET", "/api/layers"): Rule("view", ok),
    ("GET", "/api/layers/{layer}/features"): Rule("view", ok, path={"layer": "building"}),
    ("GET", "/api/tiles/{layer}/{z}/{x}/{y}.mvt"): Rule("view", check_tile, path=B1_TILE),
    ("GET", "/api/gaps"): Rule("view", check_gaps),
    ("GET", "/api/gaps/list"): Rule("view", check_gaps),
    ("GET", "/api/gaps/counts"): Rule("view", check_gap_counts),
    ("GET", "/api/summary"): Rule("view", ok),
    ("GET", "/api/figures"): Rule("view", check_figures),
    ("GET", "/api/figures/{level}/{code}"): Rule(
        "view", check_unit, path={"level": "community", "code": "C1"}
    ),
    ("GET", "/api/proposals"): Rule("view", check_proposals),
    ("GET", "/api/search"): Rule("view", ok, params={"q": "甲"}),
    ("GET", "/api/export/{layer}"): Rule(
        "personal", check_member_export, params={"format": "csv"}, path={"layer": "member"}
    ),
    ("GET", "/api/plans"): Rule("view", ok),
    ("POST", "/api/plans"): Rule("edit_plan", refused_body),
    ("POST", "/api/plans/import"): Rule("edit_plan", refused_body),
    ("POST", "/api/plans/propose"): Rule("edit_plan", refused_body),
    ("GET", "/api/plans/{plan_id}"): Rule("view", check_plan, path=PLAN),
    ("PUT", "/api/plans/{plan_id}"): Rule("edit_plan", refused_body, path=PLAN),
    ("POST", "/api/plans/{plan_id}/figures"): Rule(
        "edit_plan", check_live_figures, path=PLAN, body=lambda w: {"cells": w.probe}
    ),
    ("POST", "/api/plans/{plan_id}/validate"): Rule("edit_plan", ok, path=PLAN),
    ("POST", "/api/plans/{plan_id}/fix"): Rule("edit_plan", refused_body, path=PLAN),
    ("POST", "/api/plans/{plan_id}/shapes"): Rule("edit_plan", refused_body, path=PLAN),
    ("POST", "/api/plans/{plan_id}/topology/check"): Rule("edit_plan", refused_body, path=PLAN),
    ("POST", "/api/plans/{plan_id}/topology/carve"): Rule("edit_plan", refused_body, path=PLAN),
    ("POST", "/api/plans/{plan_id}/topology/weld"): Rule("edit_plan", ok, path=PLAN),
    ("GET", "/api/plans/{plan_id}/diff"): Rule("view", check_diff, path=PLAN),
    ("POST", "/api/plans/{plan_id}/approve"): Rule("approve_plan", refused_body, path=PLAN),
    ("GET", "/api/plans/{plan_id}/export"): Rule("view", ok, path=PLAN),
    ("GET", "/api/plans/compare"): Rule(
        "view", check_compare, params={"a": "layer:party", "b": "layer:party"}
    ),
    ("GET", "/api/members"): Rule("view", check_members),
    ("GET", "/api/people"): Rule("view", check_people, params={"level": "community", "code": "C1"}),
    ("GET", "/api/people/contacts.csv"): Rule("view", ok),
    ("GET", "/api/people/contacts.xlsx"): Rule("view", check_people, params={"community": "C1"}),
    ("GET", "/api/fabric"): Rule("view", check_fabric, params={"community": "C1"}),
    ("GET", "/api/fabric/assignment"): Rule("view", check_unit_table, params={"layer": "party"}),
    ("POST", "/api/fabric/cells"): Rule(
        "edit_plan", check_painted, body=lambda w: {"units": {"C1-K1": "G9", "C2-K2": "G8"}}
    ),
    ("POST", "/api/fabric/import"): Rule("edit_plan", refused_body),
    ("GET", "/api/audit"): Rule("accounts", ok),
    ("GET", "/api/audit.csv"): Rule("accounts", ok),
    ("GET", "/ogc"): Rule("view", ok),
    ("GET", "/ogc/conformance"): Rule("view", ok),
    ("GET", "/ogc/collections"): Rule("view", collections),
    ("GET", "/ogc/collections/{cid}"): Rule("view", ok, path={"cid": "building"}),
    ("GET", "/ogc/collections/{cid}/items"): Rule("view", ok, path={"cid": "building"}),
    ("GET", "/ogc/collections/{cid}/items/{fid}"): Rule(
        "view", ok, path={"cid": "building", "fid": "B1"}
    ),
    ("GET", "/ogc/api"): Rule("view", ok),
}
EXTRA = [  # more calls of an operation of the table: (method, path, rule)
    ("GET", "/api/layers/{layer}/features", Rule("view", not_a_layer, path={"layer": "member"})),
    ("GET", "/api/tiles/{layer}/{z}/{x}/{y}.mvt", Rule("view", not_a_layer, path=MEMBER_TILE)),
]


def test_every_operation_of_the_api_is_in_the_table():
    """A new route fails here until the table says who may call it and what they get."""
    assert sorted(TABLE) == OPERATIONS
    assert {rule.needs for rule in TABLE.values()} <= set(PERMISSIONS)


def _run(world: World, method: str, path: str, rule: Rule) -> None:
    fill = {k: (str(world.plan_id) if v == "PLAN" else v) for k, v in rule.path.items()}
    url = re.sub(r"\{(\w+)\}", lambda m: fill[m.group(1)], path)
    kw: dict = {"params": rule.params}
    if rule.body is not None:
        kw["json"] = rule.body(world)
    for account in world.accounts:
        r = world.call(account, method, url, **kw)
        if not account.may(rule.needs):
            assert r.status_code == 403, (account.name, r.text)
            assert account.name in r.json()["message_zh"], r.text
            continue
        try:
            rule.check(r, account, world)
        except AssertionError as error:
            raise AssertionError(f"{method} {url} as {account.name}: {r.status_code} {r.text[:300]}") from error  # fmt: skip


@pytest.mark.parametrize("operation", sorted(TABLE), ids=" ".join)
def test_each_account_gets_what_its_role_and_area_may_see(world, operation):
    _run(world, *operation, TABLE[operation])


@pytest.mark.parametrize("call", EXTRA, ids=lambda c: f"{c[0]} {c[1]} {c[2].path}")
def test_more_calls_of_the_table(world, call):
    _run(world, *call)

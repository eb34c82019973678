"""``gridmap plan``: a draft plan made, exported to a file, redrawn there (as in QGIS),
imported back, approved — through real processes on a real SpatiaLite file."""

from __future__ import annotations

import json
import subprocess

import geopandas as gpd
import shapely
from shapely import box
from test_cli import gridmap

X, Y, D = 104.06, 30.66, 0.001


def test_plan_round_trip_through_files_and_approval(tmp_path):
    db = tmp_path / "g.db"
    assert gridmap("init", db=db).returncode == 0
    grid = gpd.GeoDataFrame(
        {"网格编码": ["G01", "G02"], "网格名称": ["第一网格", "第二网格"]},
        geometry=[box(X, Y, X + D, Y + D), box(X + D, Y, X + 2 * D, Y + D)], crs=4326,
    )  # fmt: skip
    grid.to_file(tmp_path / "网格.geojson")
    assert gridmap("load", "grid", tmp_path / "网格.geojson", "--grid-layer", "party", db=db).returncode == 0  # fmt: skip
    made = gridmap("plan", "new", "二〇二七年调整", "--author", "规划员甲", db=db)
    assert made.returncode == 0, made.stderr
    assert "方案 plan 1" in made.stdout
    out = tmp_path / "plan.geojson"
    exported = gridmap("plan", "export", "1", "-o", out, db=db)
    assert exported.returncode == 0, exported.stderr
    info = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-so", str(out)], capture_output=True, text=True
    )
    assert "Feature Count: 2" in info.stdout
    # redrawn elsewhere: G01 takes half of G02
    doc = json.loads(out.read_text(encoding="utf-8"))
    for f in doc["features"]:
        code = f["properties"]["code"]
        f["geometry"] = shapely.geometry.mapping(box(X, Y, X + 1.5 * D, Y + D) if code == "G01" else box(X + 1.5 * D, Y, X + 2 * D, Y + D))  # fmt: skip
    redrawn = tmp_path / "redrawn.geojson"
    redrawn.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    imported = gridmap("plan", "import", redrawn, "--name", "QGIS 调整", "--author", "规划员乙", db=db)  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert "方案 plan 2" in imported.stdout and "2 个网格" in imported.stdout
    listed = gridmap("plan", "list", db=db).stdout
    assert "二〇二七年调整" in listed and "QGIS 调整" in listed and "规划员乙" in listed
    stale = gridmap("plan", "approve", "2", "--version", "7", db=db)
    assert stale.returncode == 2 and "version 7" in stale.stderr
    ok = gridmap("plan", "approve", "2", "--version", "1", "--author", "管理员", db=db)
    assert ok.returncode == 0, ok.stderr
    assert "替换 replaced 2" in ok.stdout
    exported = gridmap("export", "grid", "--grid-layer", "party", "-o", tmp_path / "now.geojson", db=db)  # fmt: skip
    assert exported.returncode == 0
    now = gpd.read_file(tmp_path / "now.geojson").set_index("code")
    assert abs(now.geometry["G01"].area - 1.5 * D * D) < 1e-9


def test_importing_a_broken_plan_file_changes_nothing(tmp_path):
    db = tmp_path / "g.db"
    gridmap("init", db=db)
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    result = gridmap("plan", "import", bad, "--name", "x", db=db)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    from gridmap.config import Settings
    from gridmap.store.db import make_engine
    from gridmap.store.plans import list_plans

    with make_engine(Settings(database_url=f"sqlite:///{db}")).connect() as conn:
        assert list_plans(conn) == []


def test_propose_for_one_community_saves_a_draft_inside_it(tmp_path):
    from gridmap.cli import DEMO_DATA, load_demo
    from gridmap.config import Settings
    from gridmap.store.db import make_engine
    from gridmap.store.features import read_features
    from gridmap.store.plans import list_plans, read_cells
    from gridmap.store.schema import upgrade

    db = tmp_path / "g.db"
    engine = make_engine(Settings(database_url=f"sqlite:///{db}"))
    upgrade(engine)
    load_demo(engine, DEMO_DATA)
    done = gridmap("propose", "--community", "510199001001", "--name", "锦绣社区划分", db=db)
    assert done.returncode == 0, done.stderr
    assert "XQ169" not in done.stdout  # a compound of another place is not this community's problem
    with engine.connect() as conn:
        [plan] = list_plans(conn)
        cells = read_cells(conn, plan["id"])
        community = read_features(conn, "community").set_index("code").geometry["510199001001"]
    assert plan["name"] == "锦绣社区划分" and plan["status"] == "draft" and len(cells) >= 5
    assert set(cells["community_code"]) == {"510199001001"}
    assert all(community.buffer(1e-6).contains(g) for g in cells.geometry)
    assert f"{len(cells)} 个网格" in done.stdout


def test_user_commands_keep_only_hashes_and_show_secrets_once(tmp_path):
    db = tmp_path / "g.db"
    gridmap("init", db=db)
    added = gridmap("user", "add", "网格员甲", "--role", "coordinator", "--area", "510199001001", db=db)  # fmt: skip
    assert added.returncode == 0, added.stderr
    password = added.stdout.rsplit(":", 1)[1].strip()
    assert len(password) >= 12
    refused = gridmap("user", "add", "查看者", "--role", "viewer", "--password", "long enough", db=db)  # fmt: skip
    assert refused.returncode == 2 and "area" in refused.stderr
    token = gridmap("user", "token", "网格员甲", "--label", "QGIS", db=db).stdout.rsplit(":", 1)[1].strip()  # fmt: skip
    assert token.startswith("gm_")
    listed = gridmap("user", "list", db=db).stdout
    assert "网格员甲" in listed and "coordinator" in listed and password not in listed
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("g.db*"))  # the file and its WAL
    assert "网格员甲".encode() in raw  # the account is there to be found…
    assert password.encode() not in raw and token.encode() not in raw  # only hashes and digests

    from gridmap.auth import authenticate, token_principal
    from gridmap.config import Settings
    from gridmap.store.db import make_engine

    with make_engine(Settings(database_url=f"sqlite:///{db}")).begin() as conn:
        assert authenticate(conn, "网格员甲", password).area == "510199001001"
        assert token_principal(conn, token).name == "网格员甲"

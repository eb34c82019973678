"""``gridmap integrate`` on the demo subdistrict, on SpatiaLite and PostGIS."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import shapely
from factories import finds

from gridmap.cli import DEMO_DATA, load_demo
from gridmap.runs import run_integrate
from gridmap.store.features import read_features
from gridmap.store.results import latest_run, read_crosswalk, read_gaps

PLANTED = json.loads((Path(DEMO_DATA).parent / "planted.json").read_text(encoding="utf-8"))
TOPOLOGY_KINDS = {
    "uncovered_area", "grid_overlap", "sliver", "grid_straddles_community", "compound_split",
    "compound_straddles_community", "compound_outside_community", "multipart_feature",
    "invalid_geometry", "building_outside_compound", "duplicate_feature",
}  # fmt: skip


@pytest.fixture
def integrated(engine, db_settings, tmp_path):
    load_demo(engine, DEMO_DATA)
    result = run_integrate(engine, db_settings, out_dir=tmp_path / "out")
    return engine, db_settings, result, tmp_path / "out"


def test_every_planted_topology_case_is_found_by_kind_and_code(integrated):
    engine, _settings, result, _ = integrated
    with engine.connect() as conn:
        stored = read_gaps(conn)
    records = stored.to_dict("records")
    plants = [p for p in PLANTED if p["kind"] in TOPOLOGY_KINDS]
    assert len(plants) >= 13
    missed = [(p["kind"], p["code"]) for p in plants if not any(finds(f, p) for f in records)]
    assert missed == []
    # and in the party grid nothing is reported that was not planted or caused by a plant
    party = stored[stored["layer"] == "grid:party"]
    assert sorted(set(party["kind"])) == ["compound_split", "grid_overlap", "grid_straddles_community",
                                          "multipart_feature", "sliver", "uncovered_area"]  # fmt: skip
    assert len(result.findings) == len(stored)


def test_unified_grid_nests_in_communities_and_keeps_compounds_whole(integrated):
    engine, _settings, result, _ = integrated
    with engine.connect() as conn:
        unified = read_features(conn, "grid", grid_layer="unified").to_crs(4544)
        communities = read_features(conn, "community").to_crs(4544)
        compounds = read_features(conn, "compound").to_crs(4544)
    for code, community in zip(communities["code"], communities.geometry, strict=True):
        mine = shapely.union_all(unified[unified["community_code"] == code].geometry.values)
        assert abs(mine.area - community.area) / community.area < 1e-4
    inside = compounds[~compounds["code"].isin(["XQ032", "XQ169"])]  # planted straddle / outside
    for code, geom in zip(inside["code"], inside.geometry, strict=True):
        holders = unified[unified.intersection(geom).area > 1.0]
        assert len(holders) == 1, code
    moved = set(result.moves["compound_code"])
    assert {p["code"] for p in PLANTED if p["kind"] == "compound_split"} == {"XQ150"}
    assert {"XQ150"} <= moved
    assert unified["code"].str.match(r"^510199001\d{3}\d{3}$").all()


def test_rerun_changes_nothing(integrated):
    engine, settings, first, _ = integrated
    again = run_integrate(engine, settings)
    assert again.unified["code"].tolist() == first.unified["code"].tolist()
    assert shapely.equals_exact(
        again.unified.geometry.values, first.unified.geometry.values, 1e-7
    ).all()


def test_crosswalk_and_files(integrated):
    engine, _settings, result, out = integrated
    with engine.connect() as conn:
        cross = read_crosswalk(conn, latest_run(conn, "integrate"))
    assert set(cross["layer"]) == {"party", "zongzhi", "chengguan"}
    # the households of a unified cell are shared out over the 综治 cells it meets
    zz = cross[cross["layer"] == "zongzhi"].groupby("unified_code")["households_shared"].sum()
    own = result.unified.set_index("code")["households"]
    assert (zz.reindex(own.index).fillna(0) <= own + 1).all()
    for name in ("unified_grid.geojson", "crosswalk.csv", "topology.geojson", "summary.json"):
        assert (out / name).exists()
    info = subprocess.run(
        ["ogrinfo", "-so", "-al", str(out / "topology.geojson")], capture_output=True, text=True
    )
    assert info.returncode == 0 and "Feature Count" in info.stdout


def test_every_finding_names_its_community_but_the_compound_outside_all(integrated):
    engine, _settings, _result, _ = integrated
    with engine.connect() as conn:
        stored = read_gaps(conn)
    place = stored["community_code"].fillna("")
    assert sorted(zip(stored["kind"][place == ""], stored["code"][place == ""], strict=True)) == [
        ("compound_outside_community", "XQ169")
    ]
    named = dict(zip(zip(stored["kind"], stored["code"], strict=True), place, strict=True))
    assert named[("compound_split", "XQ150")] == "510199001006"  # 望江社区
    assert named[("building_outside_compound", "LD-001")] == "510199001004"  # 银杏社区
    assert named[("duplicate_feature", "XQ014-99")] == "510199001001"  # 锦绣社区
    assert named[("grid_straddles_community", "DJ402")] == "510199001004"  # two thirds in 银杏

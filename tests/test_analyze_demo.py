"""``gridmap analyze`` on the demo: every planted gap found by kind and code, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from factories import finds

from gridmap.cli import DEMO_DATA, load_demo
from gridmap.runs import run_analyze
from gridmap.store.features import read_features
from gridmap.store.placement import placements_of
from gridmap.store.results import latest_run, read_branch_proposals, read_figures, read_gaps

PLANTED = json.loads((Path(DEMO_DATA).parent / "planted.json").read_text(encoding="utf-8"))
# planted gaps whose community is not the one holding their planted point: the straddles are
# named after the community holding most of them (DJ402: 银杏, XQ032: 锦绣), the two-part grid
# DJ207 after its main part in 芙蓉 (the point is its detached part), and the compound north of
# the subdistrict and the member 200 m from every building lie in no community
ELSEWHERE = {"DJ402": "510199001004", "XQ032": "510199001001", "DJ207": "510199001002",
             "XQ169": "", "DY-FAR": ""}  # fmt: skip


@pytest.fixture
def analysed(engine, db_settings, tmp_path):
    load_demo(engine, DEMO_DATA)
    result = run_analyze(engine, db_settings, out_dir=tmp_path / "out")
    return engine, db_settings, result, tmp_path / "out"


def test_nothing_planted_is_missed(analysed):
    engine, _settings, _result, _ = analysed
    with engine.connect() as conn:
        gaps = read_gaps(conn).to_dict("records")
    missed = [
        (p["kind"], p["code"]) for p in PLANTED if p["kind"] != "member_snapped"
        and not any(finds(g, p) for g in gaps)
    ]  # fmt: skip
    assert missed == []
    assert len({p["kind"] for p in PLANTED} - {"member_snapped"}) >= 23


def test_the_demo_has_every_input_so_no_kind_is_left_unchecked(analysed):
    _engine, _settings, result, out = analysed
    assert result.summary["unchecked"] == []
    doc = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert doc["summary"]["unchecked"] == []


def test_snapped_member_is_not_a_gap_and_personal_data_stays_out(analysed):
    _engine, _settings, result, out = analysed
    unassigned = result.gaps[result.gaps["kind"] == "member_unassigned"]
    assert unassigned["code"].tolist() == ["DY-FAR"]
    text = (out / "report.json").read_text(encoding="utf-8") + (out / "report.html").read_text(
        encoding="utf-8"
    )
    assert "演示" not in text and "10000000" not in text  # members' fictional names and phones


def test_proposals_are_stored_and_only_propose(analysed):
    engine, _settings, result, _ = analysed
    with engine.connect() as conn:
        stored = read_branch_proposals(conn, latest_run(conn, "analyze"))
    assert len(stored) == len(result.proposals) > 100
    joint = stored[stored["kind"] == "joint_branch"]
    assert len(joint) >= 1 and all(2 <= len(c.split(";")) <= 5 for c in joint["compounds"])
    assert stored["explanation_zh"].str.startswith(("建议", "正式党员不足")).all()


def test_report_is_reproducible_apart_from_its_timestamp(analysed):
    engine, settings, _result, out = analysed
    first = json.loads((out / "report.json").read_text(encoding="utf-8"))
    run_analyze(engine, settings, out_dir=out.parent / "again")
    again = json.loads((out.parent / "again" / "report.json").read_text(encoding="utf-8"))
    first.pop("generated_at"), again.pop("generated_at")
    assert first == again
    assert set(first) == {"version", "summary", "rates", "gaps", "proposals"}
    assert {"kind", "layer", "code", "name", "measure", "message_zh", "message_en"} <= set(
        first["gaps"][0]
    )


def test_every_gap_names_the_community_it_lies_in(analysed):
    engine, _settings, result, _ = analysed
    with engine.connect() as conn:
        gaps = read_gaps(conn)
        communities = read_features(conn, "community")
    gaps["community_code"] = gaps["community_code"].fillna("")
    plants = [p for p in PLANTED if p["kind"] != "member_snapped"]
    points = gpd.GeoSeries(shapely.points([[p["lon"], p["lat"]] for p in plants]), crs=4326)
    holder = gpd.sjoin(
        gpd.GeoDataFrame(geometry=points), communities[["code", "geometry"]], how="left"
    )
    expected = {
        (p["kind"], p["code"]): ELSEWHERE.get(p["code"], holder.loc[i, "code"])
        for i, p in enumerate(plants)
    }
    assert expected[("building_without_member", "XQ007-09")] == "510199001001"  # 锦绣社区
    assert expected[("compound_split", "XQ150")] == "510199001006"  # 望江社区
    records = gaps.to_dict("records")
    found = {
        (p["kind"], p["code"]): sorted({g["community_code"] for g in records if finds(g, p)})
        for p in plants
    }
    assert found == {key: [code] for key, code in expected.items()}
    # only the two planted outsiders, and the two in-service members living in the compound
    # outside the subdistrict who have not reported, lie in no community; the rest split among
    # all six
    unplaced = gaps[gaps["community_code"] == ""]
    assert sorted(zip(unplaced["kind"], unplaced["code"], strict=True)) == [
        ("compound_outside_community", "XQ169"), ("member_not_reported", "DY03054"),
        ("member_not_reported", "DY03067"), ("member_unassigned", "DY-FAR"),
    ]  # fmt: skip
    assert set(gaps["community_code"]) - {""} == set(communities["code"])
    assert (
        len(gaps) == len(result.gaps)
        and (result.gaps["community_code"] != "").sum() == len(gaps) - 4
    )


def test_the_subdistrict_counts_every_member_and_says_where_its_communities_do_not(analysed):
    """The three counts of members (subdistrict, communities, placements) agree: the subdistrict
    counts the whole roster, a community the members placed in its buildings, and what lies
    between is exactly the members of the compound planted outside every community (XQ169) and
    the member placed in no building (DY-FAR) — no one is counted twice, no one is lost."""
    engine, _settings, _result, _ = analysed
    with engine.connect() as conn:
        run = latest_run(conn, "analyze")
        figures = read_figures(conn, run)
        placed = placements_of(conn, run)
        buildings = read_features(conn, "building", columns=("code", "compound_code"))
    whole = figures[figures["level"] == "subdistrict"].iloc[0]
    communities = figures[figures["level"] == "community"]
    assert int(whole["members"]) == len(placed)  # every member of the roster, placed or not
    compound_of = buildings.set_index("code")["compound_code"]
    outside = placed["building_code"].map(compound_of).eq("XQ169")
    unplaced = placed["building_code"].isna()
    assert placed.index[unplaced].tolist() == ["DY-FAR"]
    assert outside.sum() > 0
    assert int(whole["members"]) == int(communities["members"].sum()) + int(outside.sum()) + int(unplaced.sum())  # fmt: skip
    for part in ("members_full", "members_probationary"):
        assert int(whole[part]) >= int(communities[part].sum())

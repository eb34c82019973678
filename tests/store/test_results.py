"""Analysis results round-trip through SpatiaLite and PostGIS unchanged."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely import LineString, Point, box

from gridmap.core.gaps import Gap, make_gaps
from gridmap.store.results import (
    latest_run,
    new_run,
    read_branch_proposals,
    read_crosswalk,
    read_gaps,
    save_branch_proposals,
    save_crosswalk,
    save_gaps,
)


def test_gaps_of_every_geometry_type_round_trip_and_latest_run_wins(engine):
    gaps = make_gaps(
        [
            Gap("uncovered_area", "grid:party", "C01-gap1", "", 2500.0, "m2", "留白", "gap",
                box(104.06, 30.66, 104.061, 30.661), community_code="C01"),
            Gap("sliver", "grid:party", "G01", "", 0.4, "m", "碎片", "sliver",
                LineString([(104.06, 30.66), (104.07, 30.66)]), codes="G01;G02"),
            Gap("member_unassigned", "member", "M9", "", 41.5, "m", "未落位", "unassigned",
                Point(104.065, 30.665)),
        ]
    )  # fmt: skip
    with engine.begin() as conn:
        old = new_run(conn, "test", "analyze", {})
        save_gaps(conn, old, gaps.iloc[:1])
        run = new_run(conn, "test", "analyze", {"gaps": 3})
        save_gaps(conn, run, gaps)
    with engine.connect() as conn:
        assert latest_run(conn, "analyze") == run
        stored = read_gaps(conn)
        only = read_gaps(conn, kind="sliver")
    assert stored["kind"].tolist() == ["uncovered_area", "sliver", "member_unassigned"]
    assert stored["measure"].tolist() == [2500.0, 0.4, 41.5]
    assert stored.geometry.geom_type.tolist() == ["Polygon", "LineString", "Point"]
    assert stored.geometry.iloc[0].equals(gaps.geometry.iloc[0])
    assert only["codes"].tolist() == ["G01;G02"]


def test_crosswalk_and_proposals_round_trip(engine):
    crosswalk = pd.DataFrame(
        {"unified_code": ["C01001"], "layer": ["zongzhi"], "dept_code": ["ZZ-3"],
         "shared_area_m2": [1234.5], "share_of_unified": [0.5], "share_of_dept": [0.25],
         "households_shared": [120]}
    )  # fmt: skip
    proposals = gpd.GeoDataFrame(
        {"proposal_id": ["P1"], "kind": ["joint_branch"], "compounds": ["C1;C2"],
         "full_members": [4], "probationary_members": [1], "explanation_zh": ["联合组建"],
         "details": [{"units": 2}]},
        geometry=[box(104.06, 30.66, 104.062, 30.662)], crs=4326,
    )  # fmt: skip
    with engine.begin() as conn:
        run = new_run(conn, "test", "analyze", {})
        save_crosswalk(conn, run, crosswalk)
        save_branch_proposals(conn, run, proposals)
    with engine.connect() as conn:
        assert read_crosswalk(conn, run).to_dict("records") == crosswalk.to_dict("records")
        stored = read_branch_proposals(conn, run)
    assert stored[["proposal_id", "kind", "compounds", "full_members"]].values.tolist() == [
        ["P1", "joint_branch", "C1;C2", 4]
    ]
    assert stored["details"].iloc[0] == {"units": 2}

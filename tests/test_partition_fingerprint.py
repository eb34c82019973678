"""A partition is reused only while every input it read is unchanged: the fingerprint covers
members, stations, organisations and the people tables as well as the places and grids."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gridmap.config import Settings
from gridmap.core.integrate import Layers
from gridmap.core.staffing import People
from gridmap.partitioned.plan import Partition
from gridmap.partitioned.task import Inputs, Job, fingerprint


def _points(codes: list[str], **columns) -> gpd.GeoDataFrame:
    geoms = [shapely.Point(104.0 + i * 0.001, 30.6) for i in range(len(codes))]
    return gpd.GeoDataFrame({"code": codes, **columns}, geometry=geoms, crs=4326)


def _inputs() -> Inputs:
    square = shapely.box(104.0, 30.6, 104.01, 30.61)
    area = gpd.GeoDataFrame({"code": ["C1"]}, geometry=[square], crs=4326)
    layers = Layers(
        communities=area, compounds=area.assign(code="XQ1"), buildings=area.assign(code="B1"),
        grids={"party": area.assign(code="G1"), "police": area.assign(code="P1")},
        members=_points(["M1", "M2"], category=["full", "full"]),
    )  # fmt: skip
    people = People(staff=pd.DataFrame({"code": ["S1"], "role": ["grid_worker"]}))
    return Inputs(layers, _points(["ST1"]), pd.DataFrame({"code": ["O1"]}), None, people)


PLAN = (Partition("S1", ("C1",), (104.0, 30.6, 104.01, 30.61)),)
JOB = Job(Settings(database_url="sqlite://"), "analyze", "party", 1, 0, PLAN)


def _changed(what: str) -> Inputs:
    inputs = _inputs()
    if what == "member":
        inputs.layers.members.loc[1, "category"] = "probationary"
    elif what == "station":
        inputs.stations.loc[0, "geometry"] = shapely.Point(104.5, 30.6)
    elif what == "org":
        inputs.orgs.loc[0, "code"] = "O2"
    elif what == "staff":
        inputs.people.staff.loc[0, "role"] = "secretary"
    elif what == "second grid layer":
        inputs.layers.grids["police"].loc[0, "code"] = "P2"
    return inputs


@pytest.mark.parametrize("what", ["member", "station", "org", "staff", "second grid layer"])
def test_a_change_to_any_input_changes_the_fingerprint(what):
    assert fingerprint(_inputs(), JOB) == fingerprint(_inputs(), JOB)
    assert fingerprint(_changed(what), JOB) != fingerprint(_inputs(), JOB)

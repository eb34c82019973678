"""``gridmap analyze --partition``: Dask tasks over PostGIS give the one-process run's results.

Every comparison is row for row (sorted, as the partitions store their rows in the order they
finish): gaps, proposals, unit figures, crosswalk, members' placements and the unified grid.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from benchmarks.synthcity import make_city, stations_of
from gridmap.cli import DEMO_DATA, load_demo
from gridmap.errors import DatabaseError
from gridmap.partitioned.plan import halo_box
from gridmap.partitioned.run import begin_run, plan_run, run_partitioned
from gridmap.partitioned.task import Job, run_partition
from gridmap.runs import run_analyze
from gridmap.store.db import make_engine, transaction
from gridmap.store.features import read_features, upsert_features
from gridmap.store.placement import placements_of
from gridmap.store.results import (
    latest_run,
    read_branch_proposals,
    read_crosswalk,
    read_figures,
    read_gaps,
)

WORKERS = 2


@pytest.fixture
def pg(postgis_cluster, tmp_path):
    from gridmap.config import Settings
    from gridmap.store.schema import upgrade

    settings = Settings(database_url=postgis_cluster.create_db(f"part_{tmp_path.name[-20:]}"))
    engine = make_engine(settings)
    upgrade(engine)
    yield engine, settings
    engine.dispose()


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(frame).copy()
    if "geometry" in frame:
        frame["geometry"] = shapely.to_wkt(
            shapely.normalize(frame["geometry"].values), rounding_precision=9
        )
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.sort_values(keys, key=lambda c: c.astype(str)).reset_index(drop=True)


def stored(engine, run: int) -> dict[str, pd.DataFrame]:
    """Everything a run stored, in an order that does not depend on how it was run."""
    with engine.connect() as conn:
        unified = read_features(conn, "grid", grid_layer="unified")
        return {
            "gaps": _sorted(read_gaps(conn, run), ["kind", "layer", "code", "codes", "measure"]),
            "proposals": _sorted(read_branch_proposals(conn, run), ["proposal_id"]),
            "figures": _sorted(read_figures(conn, run), ["level", "code"]),
            "crosswalk": _sorted(read_crosswalk(conn, run), ["unified_code", "layer", "dept_code"]),
            "placements": _sorted(placements_of(conn, run).reset_index(), ["member_code"]),
            "unified": _sorted(unified.drop(columns=["id", "updated_at", "source"]), ["code"]),
        }


def assert_same(left: dict, right: dict) -> None:
    for name in left:
        pd.testing.assert_frame_equal(left[name], right[name], obj=name)


def test_demo_by_community_equals_the_one_process_run(pg, tmp_path):
    engine, settings = pg
    load_demo(engine, DEMO_DATA)
    whole = run_analyze(engine, settings)
    with engine.connect() as conn:
        expected = stored(engine, latest_run(conn, "analyze"))
    assert len(expected["placements"]) == whole.summary["counts"]["members"]
    run = run_partitioned(engine, settings, by="community", workers=WORKERS)
    assert len(run.analysed) == run.summary["partitions"] > 1 and run.reused == []
    assert_same(stored(engine, run.run_id), expected)
    for key in ("counts", "gaps", "proposals", "rates", "unchecked", "staffing"):
        assert run.summary[key] == whole.summary[key], key


def as_multi(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    multi = [shapely.MultiPolygon([g]) if g.geom_type == "Polygon" else g for g in frame.geometry]
    return frame.set_geometry(gpd.GeoSeries(multi, crs=frame.crs, index=frame.index))


def synthetic_city(engine) -> None:
    """16 communities in 4 subdistricts, 1,600 buildings, 8,000 members, a station each."""
    city = make_city(
        seed=7, n_communities=16, n_grids=64, n_dept=100, n_compounds=320, n_buildings=1600,
        n_members=8000,
    )  # fmt: skip
    # communities on a 4 × 4 lattice (column k // 4, row k % 4); a subdistrict is 2 × 2 of them
    city["community"]["subdistrict_code"] = [f"S{k // 8 * 2 + k % 4 // 2}" for k in range(16)]
    city["station"] = stations_of(city["community"])
    with transaction(engine) as conn:
        for layer in ("community", "compound", "building"):
            upsert_features(conn, layer, as_multi(city[layer]))
        upsert_features(conn, "grid", as_multi(city["grid_party"]), grid_layer="party")
        upsert_features(conn, "grid", as_multi(city["grid_dept"]), grid_layer="dept")
        upsert_features(conn, "member", city["member"])
        upsert_features(conn, "station", city["station"])


def test_synthetic_city_by_subdistrict_resumes_and_reuses_unchanged_partitions(pg):
    engine, settings = pg
    # stations within 100 m: a partition then reads buildings up to about 450 m into the next
    # subdistrict (820 m wide), so that some of them are read by their own partition only
    settings = settings.model_copy(update={"station_radius_m": 100.0})
    synthetic_city(engine)
    run_analyze(engine, settings)
    with engine.connect() as conn:
        before = latest_run(conn, "analyze")
        expected = stored(engine, before)

    # a run that stopped after two of its four partitions: the previous run still stands
    plan = plan_run(engine, "subdistrict")
    run_id, _done, reuse = begin_run(engine, "analyze", "party", "subdistrict", False, "test")
    for index in (0, 2):
        run_partition(Job(settings, "analyze", "party", run_id, index, plan, reuse))
    with engine.connect() as conn:
        assert latest_run(conn, "analyze") == latest_run(conn) == before
    resumed = run_partitioned(engine, settings, by="subdistrict", workers=WORKERS, resume=True)
    assert resumed.run_id == run_id and resumed.analysed == ["S1", "S3"]
    assert_same(stored(engine, run_id), expected)

    # one building changes: its subdistrict is analysed again, the others are copied
    with engine.connect() as conn:
        buildings = read_features(conn, "building")
    # a building more than 600 m from every other subdistrict (what they read reaches less far)
    others = [shapely.box(*halo_box(p.box, 600.0)) for p in plan[1:]]
    near = np.any([shapely.intersects(o, buildings.geometry.values) for o in others], axis=0)
    building = buildings[~near].iloc[[0]]
    changed = building.assign(households=building["households"] + 500)
    with transaction(engine) as conn:
        upsert_features(conn, "building", changed.drop(columns=["id"]))
    again = run_partitioned(engine, settings, by="subdistrict", workers=WORKERS)
    assert again.analysed == ["S0"] and again.reused == ["S1", "S2", "S3"]
    incremental = stored(engine, again.run_id)
    run_analyze(engine, settings)
    with engine.connect() as conn:
        assert_same(incremental, stored(engine, latest_run(conn, "analyze")))


def test_spatialite_keeps_the_one_process_path(sqlite_settings):
    engine = make_engine(sqlite_settings)
    with pytest.raises(DatabaseError, match="PostGIS"):
        run_partitioned(engine, sqlite_settings)
    engine.dispose()


def test_demo_by_subdistrict_gives_the_one_process_staffing_rates(pg):
    """``gridmap analyze --partition subdistrict`` on the demo (one subdistrict, one partition):
    the staffing rates of the summary and of every unit's figures as one process finds them."""
    engine, settings = pg
    load_demo(engine, DEMO_DATA)
    whole = run_analyze(engine, settings)
    with engine.connect() as conn:
        expected = stored(engine, latest_run(conn, "analyze"))["figures"]
    run = run_partitioned(engine, settings, by="subdistrict", workers=1)
    assert run.summary["partitions"] == 1
    assert run.summary["staffing"] == whole.summary["staffing"]
    figures = stored(engine, run.run_id)["figures"]
    pd.testing.assert_frame_equal(figures, expected)
    # the subdistrict, its 6 communities and their cells carry the rates
    assert figures["grid_staffed_rate"].notna().sum() > 40

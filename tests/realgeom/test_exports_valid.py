"""Exported files are valid at the 7 decimals they are written with (GeoJSON, CSV, XLSX), and
polygons that only touch as stored (the cells of a grid) do not overlap as written. Checked
through the real export route on SpatiaLite and PostGIS, on every OpenStreetMap footprint, the
corpus's independently digitised grids and the demo's layers, gaps and proposals.

Before: CSV and XLSX plainly rounded, and a footprint, a corpus zongzhi cell and two demo
unified cells crossed themselves; GeoJSON snap-rounded each polygon alone. In both, a corner of a
cell lying on its neighbour's border was moved into the neighbour: up to 16 pairs of a grid's
cells overlapped, by slivers of up to 0.24 m².
"""

from __future__ import annotations

import io
import json

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from realgeom.conftest import fresh_database, load_manifest
from servers import ADMIN, add_test_accounts

from gridmap.api.app import create_app
from gridmap.cli.server import DEMO_DATA, load_demo
from gridmap.loading import LoadOptions, load_file
from gridmap.runs import run_analyze, run_integrate
from gridmap.store import results
from gridmap.store.db import make_engine
from gridmap.store.features import grid_layers, read_features

FORMATS = ("geojson", "csv", "xlsx")
OSM_ROUNDING_BREAKS = "way/22147407"  # crosses itself with its vertices rounded to 7 decimals
STEP = 1e-7
INTERIORS = "T********"


def _exported(client: TestClient, headers: dict, layer: str, fmt: str) -> pd.DataFrame:
    """The file ``GET /api/export/{layer}`` answers, as code and geometry per feature."""
    key = "proposal_id" if layer == "proposals" else "code"
    answer = client.get(f"/api/export/{layer}", params={"format": fmt}, headers=headers)
    assert answer.status_code == 200, answer.text
    if fmt == "geojson":
        features = json.loads(answer.content)["features"]
        codes = [f["properties"][key] for f in features]
        geoms = [shapely.from_geojson(json.dumps(f["geometry"])) for f in features]
        return pd.DataFrame({"code": codes, "geometry": geoms})
    if fmt == "csv":
        table = pd.read_csv(io.BytesIO(answer.content), encoding="utf-8-sig", dtype={key: str})
    else:
        rows = list(openpyxl.load_workbook(io.BytesIO(answer.content)).active.values)
        table = pd.DataFrame(rows[1:], columns=rows[0])
    return pd.DataFrame({"code": table[key], "geometry": shapely.from_wkt(table["wkt"])})


def _assert_valid_and_only_touching(written: pd.DataFrame, stored, what: str) -> None:
    """Every polygon written valid, on the grid, within a rounding of its stored shape, and no
    two overlapping that only touched as stored."""
    geoms = written["geometry"].to_numpy()
    invalid = written["code"][~shapely.is_valid(geoms)].tolist()
    assert invalid == [], (what, invalid)
    xy = shapely.get_coordinates(geoms)
    assert (np.abs(xy / STEP - np.round(xy / STEP)) < 1e-6).all(), what
    if stored is None:  # gaps: several per code
        return
    was = stored.set_index("code").geometry.reindex(written["code"]).to_numpy()
    assert shapely.is_valid(was).all(), what
    moved = shapely.area(shapely.symmetric_difference(geoms, was))
    assert (moved <= shapely.length(was) * STEP).all(), what
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    a, b = a[a < b], b[a < b]
    grown = shapely.relate_pattern(geoms[a], geoms[b], INTERIORS) & ~shapely.relate_pattern(
        was[a], was[b], INTERIORS
    )
    codes = written["code"].to_numpy()
    pairs = list(zip(codes[a[grown]], codes[b[grown]], strict=True))
    assert pairs == [], (what, pairs)


def _headers(settings) -> dict:
    return {"Authorization": f"Bearer {add_test_accounts(settings.database_url)[ADMIN]}"}


def _stored(settings, layer: str, grid_layer: str | None = None):
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            return read_features(conn, layer, grid_layer=grid_layer)
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["spatialite", "postgis"])
def test_every_osm_footprint_is_exported_valid(kind, osm_buildings_file, request, tmp_path):
    settings = fresh_database(kind, request, tmp_path)
    engine = make_engine(settings)
    try:
        load_file(engine, "building", osm_buildings_file, LoadOptions(skip_invalid=True))
    finally:
        engine.dispose()
    stored = _stored(settings, "building")
    breaks = stored.geometry[stored["code"] == OSM_ROUNDING_BREAKS].iloc[0]
    assert not shapely.set_precision(breaks, STEP, mode="pointwise").is_valid
    with TestClient(create_app(settings)) as client:
        for fmt in FORMATS:
            written = _exported(client, _headers(settings), "building", fmt)
            assert len(written) == 2675
            _assert_valid_and_only_touching(written, stored, f"building.{fmt}")
        # a GeoPackage stores doubles: every digit kept, nothing to make valid
        answer = client.get("/api/export/building?format=gpkg", headers=_headers(settings))
        (tmp_path / "building.gpkg").write_bytes(answer.content)
        kept = pyogrio.read_dataframe(tmp_path / "building.gpkg")
        was = stored.set_index("code").geometry.reindex(kept["code"]).to_numpy()
        assert shapely.equals_exact(kept.geometry.to_numpy(), was, tolerance=0).all()


@pytest.mark.parametrize("kind", ["spatialite", "postgis"])
def test_the_corpus_grids_are_exported_valid_and_cells_only_touch(
    kind, city_files, request, tmp_path
):
    settings = fresh_database(kind, request, tmp_path)
    engine = make_engine(settings)
    try:
        load_manifest(engine, *city_files)
        run_integrate(engine, settings, base="party", out_dir=tmp_path / "integrate")
        with engine.connect() as conn:
            layers = grid_layers(conn)
    finally:
        engine.dispose()
    assert {"party", "zongzhi", "chengguan", "unified"} <= set(layers)
    with TestClient(create_app(settings)) as client:
        for grid in layers:
            stored = _stored(settings, "grid", grid)
            for fmt in FORMATS:
                written = _exported(client, _headers(settings), f"grid:{grid}", fmt)
                _assert_valid_and_only_touching(written, stored, f"{grid}.{fmt}")


@pytest.mark.parametrize("kind", ["spatialite", "postgis"])
def test_the_demo_layers_gaps_and_proposals_are_exported_valid(kind, request, tmp_path):
    settings = fresh_database(kind, request, tmp_path)
    engine = make_engine(settings)
    try:
        load_demo(engine, DEMO_DATA)
        run_integrate(engine, settings)
        run_analyze(engine, settings)
        with engine.connect() as conn:
            layers = [f"grid:{g}" for g in grid_layers(conn)]
            run = results.latest_run(conn, "analyze")
            proposals = results.read_branch_proposals(conn, run)
    finally:
        engine.dispose()
    stored = {layer: _stored(settings, "grid", layer[5:]) for layer in layers}
    for layer in ("community", "compound", "building"):
        stored[layer] = _stored(settings, layer)
    stored["proposals"] = proposals.assign(code=proposals["proposal_id"])
    with TestClient(create_app(settings)) as client:
        for layer in [*stored, "gaps"]:
            for fmt in FORMATS:
                written = _exported(client, _headers(settings), layer, fmt)
                _assert_valid_and_only_touching(written, stored.get(layer), f"{layer}.{fmt}")

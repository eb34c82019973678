"""Fixtures of the real-geometry corpus (issue 15): real OpenStreetMap footprints and street
blocks, grids digitised independently, and the hard cases of GEOS and make_valid.

The corpus is built once per test session; the database runs (load every file, integrate,
analyze twice) once per database kind, SpatiaLite and PostGIS, and are shared by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from databases import fresh_settings
from realgeom.corpus import Subdistrict, build, write_files
from realgeom.osm import write_buildings

from gridmap.config import Settings
from gridmap.loading import LoadOptions, load_file
from gridmap.store.db import make_engine

fresh_database = fresh_settings  # a new database of a kind, copied from the session's template


@pytest.fixture(scope="session")
def city() -> Subdistrict:
    return build()


@pytest.fixture(scope="session")
def city_files(city, tmp_path_factory) -> tuple[Path, list[dict]]:
    folder = tmp_path_factory.mktemp("realgeom-files")
    return folder, write_files(city, folder)


@pytest.fixture(scope="session")
def osm_buildings_file(tmp_path_factory) -> Path:
    """All 2,713 footprints as mapped (57 invalid, 9 unreadable), moved to Chengdu."""
    return write_buildings(tmp_path_factory.mktemp("osm") / "osm_buildings.gpkg")


def load_manifest(engine, folder: Path, manifest: list[dict]) -> dict:
    reports = {}
    for entry in manifest:
        options = LoadOptions(
            grid_layer=entry.get("grid_layer"), crs=entry.get("crs"), skip_invalid=True
        )
        key = entry.get("grid_layer") or entry["layer"]
        reports[key] = load_file(engine, entry["layer"], folder / entry["file"], options)
    return reports


@dataclass
class Run:
    kind: str
    settings: Settings
    folder: Path
    reports: dict
    integration: object  # gridmap.core.integrate.Integration of ``gridmap integrate``
    analysis: object  # gridmap.core.analysis.Analysis of the first ``gridmap analyze``
    again: object  # … and of the second, on the same database


@pytest.fixture(scope="session", params=["spatialite", "postgis"])
def corpus_run(request, city_files, tmp_path_factory) -> Run:
    """The corpus loaded (as files, through ``load_file``), integrated and analysed twice."""
    from gridmap.runs import run_analyze, run_integrate

    files, manifest = city_files
    folder = tmp_path_factory.mktemp(f"realgeom-{request.param}")
    settings = fresh_database(request.param, request, folder)
    engine = make_engine(settings)
    try:
        reports = load_manifest(engine, files, manifest)
        integration = run_integrate(engine, settings, base="party", out_dir=folder / "integrate")
        # no out_dir: the report's HTML maps take longer than the analysis; the report's
        # document is compared instead (gridmap.report.report_document)
        first = run_analyze(engine, settings, base="party")
        again = run_analyze(engine, settings, base="party")
    finally:
        engine.dispose()
    return Run(request.param, settings, folder, reports, integration, first, again)

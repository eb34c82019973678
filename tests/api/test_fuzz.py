"""The whole HTTP API fuzzed from its OpenAPI document: no input may make a server fail.

Schemathesis turns every operation of the app's OpenAPI document (the map API, the exports,
the plans, OGC API – Features; GET, POST and PUT) into a test: its boundary and negative cases
(wrong types, missing fields, out-of-range numbers, odd characters, NUL bytes) and a bounded
number of generated cases. Each case goes to two real servers on the analysed demo, one on
SpatiaLite and one on PostGIS. Half of the generated path parameters are swapped for ones that
exist (the draft plan, a layer, a collection, a unit), so the cases get past the 404s into the
code behind them. A response may be anything but a 5xx, and where the document describes its
body, the body must match. Generation is deterministic, so every run sends the same cases.

The document is the one the app builds; the servers publish the same one at /openapi.json
(checked below).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance
from servers import demo_database, headers, http, start_server

from gridmap.api.app import create_app
from gridmap.config import Settings

EXAMPLES = 25  # generated cases per operation, besides the boundary and negative cases
# a whole automatic proposal per call: few generated cases, and only the negative boundary ones
SLOW = {
    "/api/plans/propose": {
        "generation": {"max-examples": 3},
        "phases": {"coverage": {"generation": {"mode": "negative"}}},
    }
}
CHECKS = [not_a_server_error, response_schema_conformance]

OPENAPI = create_app(Settings(database_url="sqlite://")).openapi()
CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
        "operations": [{"include-path": path, **config} for path, config in SLOW.items()],
    }
)
SCHEMA = schemathesis.openapi.from_dict(OPENAPI, config=CONFIG)
EXISTING: dict[str, list] = {}  # path parameters that exist, filled in once the servers run


@SCHEMA.hook("flatmap_path_parameters")
def existing_half_the_time(_context, path_parameters):
    """The generated path parameters, or the same with every name that exists swapped in."""
    if not path_parameters or not EXISTING:
        return st.just(path_parameters)
    existing = {
        name: st.sampled_from(EXISTING[name]) if name in EXISTING else st.just(value)
        for name, value in path_parameters.items()
    }
    return st.one_of(st.just(path_parameters), st.fixed_dictionaries(existing))


def existing_names(base: str) -> dict[str, list]:
    """A draft plan made for the fuzzing, and the layers, collections and units of the demo."""
    plan = http.post(base + "/api/plans", json={"name": "模糊测试方案"}, timeout=60)  # fmt: skip
    assert plan.status_code == 201, plan.text
    communities = http.get(base + "/api/figures", params={"level": "community"}, timeout=30)
    codes = [c["code"] for c in communities.json()[:2]]
    layers = [item["layer"] for item in http.get(base + "/api/layers", timeout=30).json()]
    collections = http.get(base + "/ogc/collections", timeout=30).json()["collections"]
    return {
        "plan_id": [plan.json()["id"]],
        "layer": [*layers, "grid:party", "gaps", "proposals"],
        "level": ["community"],
        "code": codes,
        "cid": [c["id"] for c in collections],
        "fid": codes,
    }


# one parameter only so that pytest names each test after its operation ("[GET /api/layers]")
@pytest.fixture(scope="module", params=["spatialite+postgis"])
def servers(request, tmp_path_factory) -> Iterator[list[str]]:
    """Base URLs of a SpatiaLite and a PostGIS server on the analysed demo (PostGIS skipped
    locally when PostgreSQL is not installed; CI fails instead)."""
    urls = [f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'gridmap.db'}"]
    with contextlib.suppress(pytest.skip.Exception):
        urls.append(request.getfixturevalue("postgis_cluster").create_db("fuzz"))
    procs, bases = [], []
    try:
        for url in urls:
            demo_database(url)
            proc, base = start_server(url)
            procs.append(proc)
            bases.append(base)
        names = [existing_names(base) for base in bases]
        assert all(n == names[0] for n in names), "both databases hold the same demo"
        EXISTING.update(names[0])
        yield bases
    finally:
        EXISTING.clear()
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def test_the_servers_publish_the_document_that_is_fuzzed(servers):
    for base in servers:
        assert http.get(base + "/openapi.json", timeout=30).json() == OPENAPI


@SCHEMA.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_a_server_fail(case, servers):
    for base in servers:
        # as the test admin, who may call every operation: the cases reach the code behind
        case.call_and_validate(base_url=base, headers=headers(base), checks=CHECKS, timeout=120)

"""Every OGC API Features collection of the corpus serves only the geometry type it declares
(the geometry column of its table: MULTIPOLYGON for polygon layers, POINT for points)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from gridmap.api.app import create_app
from gridmap.auth import add_account, issue_token
from gridmap.layers import LAYERS
from gridmap.store.db import make_engine, transaction

DECLARED = {"polygon": "MultiPolygon", "point": "Point"}


def test_every_collection_serves_only_its_declared_geometry_type(corpus_run):
    engine = make_engine(corpus_run.settings)
    try:
        with transaction(engine) as conn:
            if not conn.exec_driver_sql("SELECT 1 FROM account WHERE name = 'realgeom'").first():
                add_account(conn, "realgeom", "admin", None, "realgeom-not-secret", actor="tests")
            token = issue_token(conn, "realgeom", "realgeom", actor="tests")
    finally:
        engine.dispose()
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(corpus_run.settings)) as client:
        collections = client.get("/ogc/collections", headers=headers).json()["collections"]
        ids = {c["id"] for c in collections}
        assert {"community", "compound", "building", "grid_party", "grid_unified"} <= ids
        for cid in sorted(ids):
            layer = "grid" if cid.startswith("grid_") else cid
            declared = DECLARED[LAYERS[layer].geometry]
            url, seen = f"/ogc/collections/{cid}/items?limit=1000", 0
            while url:
                doc = client.get(url, headers=headers).json()
                kinds = {f["geometry"]["type"] for f in doc["features"]}
                assert kinds <= {declared}, (cid, kinds)
                seen += len(doc["features"])
                url = next((x["href"] for x in doc["links"] if x["rel"] == "next"), None)
            assert seen == doc["numberMatched"], cid

"""New test databases at the newest schema, copied from a template migrated once per session.

A SpatiaLite file copy takes milliseconds, ``CREATE DATABASE … TEMPLATE`` a fraction of a
second, where PostGIS's extension and the migrations cost one to three seconds per database.
The templates are the session fixtures ``sqlite_template`` and ``postgis_cluster`` of
``conftest.py``.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from gridmap.config import Settings

_db_counter = iter(range(1_000_000))


def fresh_settings(kind: str, request, folder: Path) -> Settings:
    """Settings for a new database of ``kind`` at the newest schema, copied from the session's
    template (spatialite: a file copy; postgis: ``CREATE DATABASE … TEMPLATE``)."""
    if kind == "spatialite":
        target = folder / "gridmap.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return Settings(database_url=f"sqlite:///{target}")
    cluster = request.getfixturevalue("postgis_cluster")
    name = f"t{next(_db_counter)}_{int(time.time() * 1000) % 100000}"
    return Settings(database_url=cluster.migrated_db(name))

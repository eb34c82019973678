"""New test databases at the newest schema, copied from a template migrated once per session.

A SpatiaLite file copy takes milliseconds, ``CREATE DATABASE … TEMPLATE`` a fraction of a
second, where PostGIS's extension and the migrations cost one to three seconds per database.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gridmap.config import Settings

_db_counter = iter(range(1_000_000))


def fresh_settings(kind: str, request, folder: Path) -> Settings:
    """Settings for a new database of ``kind`` at the newest schema, a copy of the first one
    migrated in the session (:func:`as_copy`)."""
    if kind == "spatialite":
        url = f"sqlite:///{folder / 'gridmap.db'}"
        create = None
    else:
        cluster = request.getfixturevalue("postgis_cluster")
        name = f"t{next(_db_counter)}_{int(time.time() * 1000) % 100000}"
        url, create = cluster.url(name), lambda: cluster.create_db(name)

    def migrate(url: str) -> None:
        from gridmap.store.db import make_engine
        from gridmap.store.schema import upgrade

        if create:
            create()
        engine = make_engine(Settings(database_url=url))
        upgrade(engine)
        engine.dispose()  # a template may have no session open while it is copied

    as_copy(url, "schema", migrate)
    return Settings(database_url=url)


_TEMPLATES: dict[tuple[str, str], str] = {}  # (server or "sqlite", what) → template file or db


def as_copy(url: str, what: str, build: Callable[[str], None]) -> None:
    """Make the database at ``url`` hold ``what``: ``build(url)`` the first time in a session,
    a copy of that first database after (SpatiaLite: its file; PostgreSQL: ``CREATE DATABASE …
    TEMPLATE``). For what takes long to make and the same every time, such as the analysed
    demo; whatever ``url`` held before is replaced.
    """
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        template = _TEMPLATES.get(("sqlite", what))
        if template is None:
            build(url)
            kept = Path(tempfile.mkdtemp(prefix="gridmap-template-")) / path.name
            atexit.register(shutil.rmtree, kept.parent, True)
            _copy_sqlite(path, kept)
            _TEMPLATES["sqlite", what] = str(kept)
        else:
            _copy_sqlite(Path(template), path)
        return
    import psycopg

    server, name = url.rsplit("/", 1)
    template = _TEMPLATES.get((server, what))
    with psycopg.connect(server.replace("+psycopg", "") + "/postgres", autocommit=True) as c:
        if template is None:
            build(url)  # its connections closed: a template may have none open
            template = f"template_{len(_TEMPLATES)}"
            c.execute(f'DROP DATABASE IF EXISTS "{template}"')
            c.execute(f'CREATE DATABASE "{template}" TEMPLATE "{name}"')
            _TEMPLATES[server, what] = template
        else:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def _copy_sqlite(source: Path, target: Path) -> None:
    """Copy a SpatiaLite database with its write-ahead log, if any, over ``target``."""
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
    shutil.copyfile(source, f"{target}.copy")
    os.replace(f"{target}.copy", target)

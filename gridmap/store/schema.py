"""Create and evolve the schema with Alembic, on SpatiaLite and PostGIS alike.

Users never see an ``alembic.ini``: the configuration is built here and Alembic is handed the
engine's connection, so ``gridmap init`` works from an installed package.

Examples
--------
>>> from gridmap.config import Settings
>>> from gridmap.store.db import make_engine
>>> engine = make_engine(Settings(database_url="sqlite://"))
>>> upgrade(engine); current_revision(engine) == head_revision()
True
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from gridmap.errors import DatabaseError

MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (creating PostGIS if the server lacks it)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def require_current(engine: Engine) -> None:
    """Raise a clear error unless the schema is at the newest revision."""
    rev = current_revision(engine)
    if rev != head_revision():
        raise DatabaseError(
            "数据库尚未初始化或版本过旧，请先运行 gridmap init。",
            f"The database is not initialised or outdated (revision {rev}); run `gridmap init`.",
        )

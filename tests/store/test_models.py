"""The models (one module per family of tables, one metadata) and the migrations agree: Alembic
has one head, and a database brought to it differs from the models in nothing Alembic's
autogenerate would write a migration for."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from geoalchemy2.alembic_helpers import include_object as spatial_helper_tables_left_out

from gridmap.store import models
from gridmap.store.models import Base, table_for
from gridmap.store.schema import MIGRATIONS


def ours(name, kind, parents) -> bool:
    """Only the models' tables: SpatiaLite's and PostGIS's own (geometry_columns, spatial_ref_sys,
    the idx_* R-trees …) are not ours to compare."""
    table = name if kind == "table" else parents.get("table_name")
    return table is None or table in Base.metadata.tables


def test_the_migrations_have_one_head():
    assert len(ScriptDirectory(str(MIGRATIONS)).get_heads()) == 1


def test_a_database_at_head_matches_the_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": ours, "include_object": spatial_helper_tables_left_out}
        )
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == []


def test_the_index_names_every_table_of_the_one_metadata():
    classes = [getattr(models, name) for name in models.__all__]
    tables = {c.__table__.name for c in classes if hasattr(c, "__table__")}
    assert tables == set(Base.metadata.tables)
    assert table_for("member") is Base.metadata.tables["member"]

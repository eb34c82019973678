"""The layers of docs/domain.md and the append-only change log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

POLYGON = Geometry("MULTIPOLYGON", srid=4326, spatial_index=True)
POINT = Geometry("POINT", srid=4326, spatial_index=True)


def _feature_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("properties", sa.JSON),
        sa.Column("repair_note", sa.Text),
        sa.Column("source", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
    ]


def _layer_table(name: str, *extra: sa.Column | sa.Constraint, unique_code: bool = True) -> None:
    constraints = [sa.UniqueConstraint("code", name=f"uq_{name}_code")] if unique_code else []
    op.create_table(
        name,
        *_feature_columns(),
        *extra,
        *constraints,
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
    )


def upgrade() -> None:
    _layer_table("subdistrict", sa.Column("geom", POLYGON, nullable=False))
    _layer_table(
        "community",
        sa.Column("subdistrict_code", sa.Text),
        sa.Column("geom", POLYGON, nullable=False),
    )
    op.create_table(
        "grid_layer",
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("label", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("name", name="pk_grid_layer"),
    )
    _layer_table(
        "grid",
        sa.Column("layer", sa.Text, nullable=False),
        sa.Column("community_code", sa.Text),
        sa.Column("geom", POLYGON, nullable=False),
        sa.UniqueConstraint("layer", "code", name="uq_grid_layer_code"),
        unique_code=False,
    )
    op.create_index("ix_grid_layer", "grid", ["layer"])
    _layer_table(
        "compound",
        sa.Column("community_code", sa.Text),
        sa.Column("property_company", sa.Text),
        sa.Column("property_has_org", sa.Boolean),
        sa.Column("geom", POLYGON, nullable=False),
    )
    _layer_table(
        "building",
        sa.Column("compound_code", sa.Text),
        sa.Column("households", sa.Integer, nullable=False),
        sa.Column("floors", sa.Integer),
        sa.Column("geom", POLYGON, nullable=False),
    )
    _layer_table("station", sa.Column("kind", sa.Text), sa.Column("geom", POINT, nullable=False))
    _layer_table(
        "member",
        sa.Column("phone", sa.Text),
        sa.Column("address", sa.Text),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("in_service", sa.Boolean),
        sa.Column("reported", sa.Boolean),
        sa.Column("org_name", sa.Text),
        sa.Column("building_code", sa.Text),
        sa.Column("geom", POINT, nullable=False),
    )
    _layer_table(
        "party_org",
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("parent_name", sa.Text),
        sa.Column("has_committee", sa.Boolean),
        sa.Column("covers", sa.Text),
    )
    op.create_table(
        "change_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("layer", sa.Text),
        sa.Column("summary", sa.JSON),
        sa.PrimaryKeyConstraint("id", name="pk_change_log"),
    )
    _append_only("change_log")


def _append_only(table: str) -> None:
    """Refuse UPDATE and DELETE on an audit table, in the database itself."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
        return
    op.execute(
        f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"
    )
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
    )


def downgrade() -> None:
    for table in (
        "change_log", "party_org", "member", "station", "building", "compound", "grid",
        "grid_layer", "community", "subdistrict",
    ):  # fmt: skip
        op.drop_table(table)

"""Draft grid plans (网格调整方案), their cells, and the history of replaced grid cells.

A plan is a draft copy of a grid layer with a version number that every save raises; approving
it replaces the layer's cells and keeps the replaced ones in ``grid_history``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

POLYGON = Geometry("MULTIPOLYGON", srid=4326, spatial_index=True)


def upgrade() -> None:
    op.create_table(
        "plan",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("grid_layer", sa.Text, nullable=False),  # the layer it redraws
        sa.Column("status", sa.Text, nullable=False),  # draft | approved | discarded
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("saved_by", sa.Text, nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.Text),
        sa.Column("approved_at", sa.DateTime(timezone=True)),
        sa.Column("note", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_plan"),
    )
    op.create_table(
        "plan_cell",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("plan_id", sa.Integer, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("community_code", sa.Text),
        sa.Column("geom", POLYGON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_plan_cell"),
        sa.UniqueConstraint("plan_id", "code", name="uq_plan_cell_plan_id"),
    )
    op.create_index("ix_plan_cell_plan", "plan_cell", ["plan_id"])
    op.create_table(
        "grid_history",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("layer", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("community_code", sa.Text),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_by_plan", sa.Integer, nullable=False),
        sa.Column("geom", POLYGON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_grid_history"),
    )
    op.create_index("ix_grid_history_layer", "grid_history", ["layer", "replaced_by_plan"])


def downgrade() -> None:
    op.drop_table("grid_history")
    op.drop_table("plan_cell")
    op.drop_table("plan")

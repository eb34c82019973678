"""Analysis results: runs, gaps (留白 and layer defects), crosswalk, branch proposals.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ANY = Geometry("GEOMETRY", srid=4326, spatial_index=True)


def upgrade() -> None:
    op.create_table(
        "analysis_run",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),  # integrate | analyze
        sa.Column("summary", sa.JSON),
        sa.PrimaryKeyConstraint("id", name="pk_analysis_run"),
    )
    op.create_table(
        "gap",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("layer", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("measure", sa.Float),
        sa.Column("unit", sa.Text),
        sa.Column("message_zh", sa.Text),
        sa.Column("message_en", sa.Text),
        sa.Column("codes", sa.Text),
        sa.Column("community_code", sa.Text),
        sa.Column("geom", ANY),
        sa.PrimaryKeyConstraint("id", name="pk_gap"),
    )
    op.create_index("ix_gap_run_kind", "gap", ["run_id", "kind"])
    op.create_table(
        "crosswalk",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("unified_code", sa.Text, nullable=False),
        sa.Column("layer", sa.Text, nullable=False),
        sa.Column("dept_code", sa.Text, nullable=False),
        sa.Column("shared_area_m2", sa.Float),
        sa.Column("share_of_unified", sa.Float),
        sa.Column("share_of_dept", sa.Float),
        sa.Column("households_shared", sa.Integer),
        sa.PrimaryKeyConstraint("id", name="pk_crosswalk"),
    )
    op.create_index("ix_crosswalk_run", "crosswalk", ["run_id", "layer"])
    op.create_table(
        "proposal",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("proposal_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("community_code", sa.Text),
        sa.Column("compounds", sa.Text),
        sa.Column("full_members", sa.Integer),
        sa.Column("probationary_members", sa.Integer),
        sa.Column("explanation_zh", sa.Text),
        sa.Column("explanation_en", sa.Text),
        sa.Column("details", sa.JSON),
        sa.Column("geom", ANY),
        sa.PrimaryKeyConstraint("id", name="pk_proposal"),
    )
    op.create_index("ix_proposal_run", "proposal", ["run_id"])


def downgrade() -> None:
    for table in ("proposal", "crosswalk", "gap", "analysis_run"):
        op.drop_table(table)

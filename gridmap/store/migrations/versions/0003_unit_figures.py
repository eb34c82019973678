"""Figures of every unit (subdistrict, community, unified grid, compound) per analysis run.

What the map shows on a click and colours its choropleths by.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unit_figure",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("level", sa.Text, nullable=False),  # subdistrict | community | grid | compound
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("community_code", sa.Text),
        sa.Column("households", sa.Integer),
        sa.Column("buildings", sa.Integer),
        sa.Column("compounds", sa.Integer),
        sa.Column("members_full", sa.Integer),
        sa.Column("members_probationary", sa.Integer),
        sa.Column("members", sa.Integer),
        sa.Column("org_coverage", sa.Float),
        sa.Column("own_branch_rate", sa.Float),
        sa.Column("member_coverage", sa.Float),
        sa.Column("proposal", sa.Text),
        sa.PrimaryKeyConstraint("id", name="pk_unit_figure"),
    )
    op.create_index("ix_unit_figure_run", "unit_figure", ["run_id", "level", "code"])


def downgrade() -> None:
    op.drop_table("unit_figure")

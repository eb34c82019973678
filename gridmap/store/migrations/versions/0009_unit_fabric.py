"""The unit fabric (单元底图): the territories of compounds, building groups and loose buildings
that tile every community, with their figures; replaced by every integration run.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fabric_unit",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("run_id", sa.Integer),  # the integration run that made it
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("community_code", sa.Text, nullable=False),
        sa.Column("compound_code", sa.Text),
        sa.Column("kind", sa.Text, nullable=False),  # compound | compound_part | buildings | ground
        sa.Column("households", sa.Integer, nullable=False),
        sa.Column("buildings", sa.Integer, nullable=False),
        sa.Column("members_full", sa.Integer, nullable=False),
        sa.Column("members_probationary", sa.Integer, nullable=False),
        sa.Column("building_codes", sa.Text),  # of building groups and loose clusters, ";"
        sa.Column("area_m2", sa.Float, nullable=False),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fabric_unit"),
        sa.UniqueConstraint("code", name="uq_fabric_unit_code"),
    )
    op.create_index("ix_fabric_unit_community_code", "fabric_unit", ["community_code"])


def downgrade() -> None:
    op.drop_table("fabric_unit")

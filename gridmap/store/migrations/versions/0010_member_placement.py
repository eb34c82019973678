"""Each member's placement (落位) as the analysis found it: the building their home point lies
in (``inside``) or next to (``snapped``), or none (``unplaced``), and the distance to it; one row
per member and analyze run, read by the members list and every count of members per place.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_placement",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("member_code", sa.Text, nullable=False),
        sa.Column("building_code", sa.Text),  # NULL: placed in no building
        sa.Column("how", sa.Text, nullable=False),  # inside | snapped | unplaced
        sa.Column("distance_m", sa.Float, nullable=False),
        sa.Column("partition", sa.Text),  # partitioned runs only
        sa.PrimaryKeyConstraint("id", name="pk_member_placement"),
    )
    op.create_index(
        "ix_member_placement_run_id_member_code", "member_placement", ["run_id", "member_code"]
    )
    op.create_index(
        "ix_member_placement_run_id_building_code", "member_placement", ["run_id", "building_code"]
    )


def downgrade() -> None:
    op.drop_table("member_placement")

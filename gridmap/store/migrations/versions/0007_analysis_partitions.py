"""Partitioned analysis: which partitions of a run have finished, and the partition of each row.

``analysis_partition``: one row per partition (a subdistrict or community) of a run, written in
the same transaction as that partition's results, with the fingerprint of the inputs it read
(a later run copies the rows of a partition whose fingerprint is unchanged instead of analysing
it again) and what the task measured. ``partition`` on the result tables names the partition a
row came from (NULL for runs that were not partitioned).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

RESULT_TABLES = ("gap", "proposal", "unit_figure", "crosswalk")


def upgrade() -> None:
    op.create_table(
        "analysis_partition",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("run_id", sa.Integer, nullable=False),
        sa.Column("partition", sa.Text, nullable=False),  # subdistrict or community code
        sa.Column("fingerprint", sa.Text, nullable=False),  # SHA-256 of the inputs read
        sa.Column("analysed", sa.Boolean, nullable=False),  # False: copied from an earlier run
        sa.Column("summary", sa.JSON),  # sizes, seconds, peak memory, the units it owns
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_analysis_partition"),
        sa.UniqueConstraint("run_id", "partition", name="uq_analysis_partition_run_id"),
    )
    for table in RESULT_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("partition", sa.Text))


def downgrade() -> None:
    for table in RESULT_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("partition")
    op.drop_table("analysis_partition")

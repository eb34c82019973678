"""Browser sessions kept in the database, and login tries counted where every server process
sees them.

``login_session``: one row per logged-in browser (the SHA-256 digest of the id its cookie
carries); logout, a password change and disabling the account delete rows. ``login_throttle``:
failures and the last success per account name, client address and time window, for the
delays between tries and the audit trail's one row per window.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_session",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("digest", sa.Text, nullable=False),  # SHA-256 of the cookie's session id
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_session"),
        sa.UniqueConstraint("digest", name="uq_login_session_digest"),
    )
    op.create_index("ix_login_session_account_id", "login_session", ["account_id"])
    op.create_table(
        "login_throttle",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("name", sa.Text, nullable=False),  # as typed: it may name no account
        sa.Column("address", sa.Text, nullable=False),  # the client's IP address
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True)),
        sa.Column("last_success_at", sa.DateTime(timezone=True)),
        sa.Column("audited", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_login_throttle"),
        sa.UniqueConstraint(
            "name", "address", "window_start", name="uq_login_throttle_name_address_window_start"
        ),
    )
    op.create_index("ix_login_throttle_address", "login_throttle", ["address"])
    op.create_index("ix_login_throttle_window_start", "login_throttle", ["window_start"])


def downgrade() -> None:
    op.drop_table("login_throttle")
    op.drop_table("login_session")

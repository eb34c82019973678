"""The people who serve the places: staff roster, property companies, owners' committees.

``staff``: one person in one post (网格长, 网格员, 党支部书记 …) with the codes of the places
served; name and phone are personal data, the duty phone (值班电话) is public. ``property_company``
(物业服务企业) and ``owners_committee`` (业主委员会) with their Party work. ``party_org.groups``:
how many Party groups (党小组) an organisation has;
``community.population``: its residents (人口数), where known.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _feature_columns() -> list[sa.Column]:
    return [
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("properties", sa.JSON),
        sa.Column("repair_note", sa.Text),
        sa.Column("source", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
    ]


def _table(name: str, *extra: sa.Column) -> None:
    op.create_table(
        name,
        *_feature_columns(),
        *extra,
        sa.PrimaryKeyConstraint("id", name=f"pk_{name}"),
        sa.UniqueConstraint("code", name=f"uq_{name}_code"),
    )


def upgrade() -> None:
    _table(
        "staff",
        sa.Column("phone", sa.Text),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("places", sa.Text),
        sa.Column("party_member", sa.Boolean),
        sa.Column("category", sa.Text),
        sa.Column("joined_party", sa.Text),  # ISO dates: YYYY-MM-DD
        sa.Column("took_post", sa.Text),
        sa.Column("duty_phone", sa.Text),
    )
    _table(
        "property_company",
        sa.Column("compounds", sa.Text),
        sa.Column("employees", sa.Integer),
        sa.Column("party_members", sa.Integer),
        sa.Column("party_org", sa.Text),
        sa.Column("has_instructor", sa.Boolean),
    )
    _table(
        "owners_committee",
        sa.Column("compound_code", sa.Text),
        sa.Column("members", sa.Integer),
        sa.Column("party_members", sa.Integer),
        sa.Column("cross_serving", sa.Integer),
        sa.Column("party_org", sa.Text),
    )
    with op.batch_alter_table("party_org") as batch:
        batch.add_column(sa.Column("groups", sa.Integer))
    with op.batch_alter_table("community") as batch:
        batch.add_column(sa.Column("population", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("community") as batch:
        batch.drop_column("population")
    with op.batch_alter_table("party_org") as batch:
        batch.drop_column("groups")
    for name in ("owners_committee", "property_company", "staff"):
        op.drop_table(name)

"""The staffing rates of every unit (人员配备) beside its other figures, for the map's
choropleths: grids with a 网格长 or 网格员, branches with a qualified secretary, and compounds
whose property company has a Party organisation (红色物业小区); per subdistrict, community and
unified cell (``NULL`` for compounds, and where nothing was counted).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

COLUMNS = ("grid_staffed_rate", "qualified_secretary_rate", "red_property_rate")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("unit_figure", sa.Column(name, sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("unit_figure") as batch:
        for name in COLUMNS:
            batch.drop_column(name)

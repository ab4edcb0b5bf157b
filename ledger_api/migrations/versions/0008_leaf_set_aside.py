"""leaves the anchoring worker set aside instead of stopping on them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 00:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leaf", schema=None) as batch_op:
        batch_op.add_column(sa.Column("set_aside", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("leaf", schema=None) as batch_op:
        batch_op.drop_column("set_aside")

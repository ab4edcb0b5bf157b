"""each enterprise's registry events form one chain: the event's enterprise and its index

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-01 03:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("registry_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enterprise_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("chain_index", sa.Integer(), nullable=True))
        # Two operations naming the same index are a fork: the second one fails to commit.
        batch_op.create_unique_constraint(
            "uq_registry_event_chain", ["enterprise_id", "chain_index"]
        )


def downgrade() -> None:
    with op.batch_alter_table("registry_event", schema=None) as batch_op:
        batch_op.drop_constraint("uq_registry_event_chain", type_="unique")
        batch_op.drop_column("chain_index")
        batch_op.drop_column("enterprise_id")

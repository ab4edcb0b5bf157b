"""the keys that sign each carbon-asset programme's issues; the lot rules of each lot

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 03:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asset_issuer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("signer", sqlmodel.sql.sqltypes.AutoString(length=42), nullable=False),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("asset_issuer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_asset_issuer_program"), ["program"], unique=True)
    # Lots already stored were written under lot rules 1 (transfers delivered at once).
    with op.batch_alter_table("asset_lot", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rules", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("asset_lot", schema=None) as batch_op:
        batch_op.drop_column("rules")
    with op.batch_alter_table("asset_issuer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_issuer_program"))
    op.drop_table("asset_issuer")

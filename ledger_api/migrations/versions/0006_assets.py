"""carbon assets

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 08:50:17.221529
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "asset_ledger_lock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "asset_lot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("program", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("vintage", sa.Integer(), nullable=False),
        sa.Column("serial_prefix", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("first", sa.BigInteger(), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.Column("head", sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("asset_lot", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_asset_lot_identifier"), ["identifier"], unique=True)
        batch_op.create_index(batch_op.f("ix_asset_lot_program"), ["program"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_asset_lot_serial_prefix"), ["serial_prefix"], unique=False
        )

    op.create_table(
        "asset_operation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("digest", sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
        sa.Column("leaf_hash", sqlmodel.sql.sqltypes.AutoString(length=66), nullable=False),
        sa.Column("message", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("signature", sqlmodel.sql.sqltypes.AutoString(length=132), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=True),
        sa.Column("first", sa.BigInteger(), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["leaf_hash"],
            ["leaf.hash"],
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"],
            ["asset_lot.id"],
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["enterprise.id"],
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["enterprise.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("leaf_hash"),
        sa.UniqueConstraint("lot_id", "position"),
    )
    with op.batch_alter_table("asset_operation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_asset_operation_digest"), ["digest"], unique=True)
        batch_op.create_index(batch_op.f("ix_asset_operation_lot_id"), ["lot_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_asset_operation_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_asset_operation_recipient_id"), ["recipient_id"], unique=False
        )

    op.create_table(
        "asset_journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("account", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lot_id"],
            ["asset_lot.id"],
        ),
        sa.ForeignKeyConstraint(
            ["operation_id"],
            ["asset_operation.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("asset_journal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_asset_journal_account"), ["account"], unique=False)
        batch_op.create_index(batch_op.f("ix_asset_journal_lot_id"), ["lot_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_asset_journal_operation_id"), ["operation_id"], unique=False
        )

    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("asset_signer", sqlmodel.sql.sqltypes.AutoString(length=42), nullable=True)
        )

    # The lock row every asset operation updates first (see AssetLedgerLock).
    op.execute("INSERT INTO asset_ledger_lock (id, operations) VALUES (1, 0)")


def downgrade() -> None:
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.drop_column("asset_signer")

    with op.batch_alter_table("asset_journal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_journal_operation_id"))
        batch_op.drop_index(batch_op.f("ix_asset_journal_lot_id"))
        batch_op.drop_index(batch_op.f("ix_asset_journal_account"))

    op.drop_table("asset_journal")
    with op.batch_alter_table("asset_operation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_operation_recipient_id"))
        batch_op.drop_index(batch_op.f("ix_asset_operation_owner_id"))
        batch_op.drop_index(batch_op.f("ix_asset_operation_lot_id"))
        batch_op.drop_index(batch_op.f("ix_asset_operation_digest"))

    op.drop_table("asset_operation")
    with op.batch_alter_table("asset_lot", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_lot_serial_prefix"))
        batch_op.drop_index(batch_op.f("ix_asset_lot_program"))
        batch_op.drop_index(batch_op.f("ix_asset_lot_identifier"))

    op.drop_table("asset_lot")
    op.drop_table("asset_ledger_lock")

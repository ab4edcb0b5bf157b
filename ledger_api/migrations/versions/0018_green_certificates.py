"""green certificates: enterprises' signed claims of green electricity certificate serial
ranges, each serial claimed once across all enterprises

Revision ID: 0018
Revises: 0019
Create Date: 2026-12-01 06:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
# 0019 already revises 0016: chained after it so the history keeps one head.
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "green_certificate_claim",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(66), nullable=False),
        sa.Column("enterprise_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.String(10), nullable=False),
        sa.Column("period_end", sa.String(10), nullable=False),
        sa.Column("programme", sa.String(16), nullable=False),
        sa.Column("serial_prefix", sa.String(64), nullable=False),
        sa.Column("first", sa.BigInteger(), nullable=False),
        sa.Column("last", sa.BigInteger(), nullable=False),
        sa.Column("mwh", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["enterprise_id"], ["enterprise.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event"),
        sa.UniqueConstraint("programme", "serial_prefix", "first", name="uq_green_cert_first"),
        sa.UniqueConstraint("programme", "serial_prefix", "last", name="uq_green_cert_last"),
    )
    op.create_index(
        "ix_green_certificate_claim_enterprise_id", "green_certificate_claim", ["enterprise_id"]
    )
    op.create_table(
        "green_certificate_lock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claims", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO green_certificate_lock (id, claims) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("green_certificate_lock")
    op.drop_index("ix_green_certificate_claim_enterprise_id", "green_certificate_claim")
    op.drop_table("green_certificate_claim")

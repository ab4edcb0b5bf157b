"""portal sessions: a browser signed in with an API key, kept in the database so every API
process sees the same sessions

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 03:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("principal_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["principal_id"], ["principal.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_session_token_hash", "web_session", ["token_hash"], unique=True)
    op.create_index("ix_web_session_principal_id", "web_session", ["principal_id"])


def downgrade() -> None:
    op.drop_index("ix_web_session_principal_id", table_name="web_session")
    op.drop_index("ix_web_session_token_hash", table_name="web_session")
    op.drop_table("web_session")

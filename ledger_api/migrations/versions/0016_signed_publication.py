"""signed publication: the head of each evaluation's chain of enterprise-signed publication
statements (its index, 0 before the first, and the digest of its latest registry event)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 06:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evaluation") as batch:
        batch.add_column(
            sa.Column("publication_index", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("publication_head", sa.String(length=66), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evaluation") as batch:
        batch.drop_column("publication_head")
        batch.drop_column("publication_index")

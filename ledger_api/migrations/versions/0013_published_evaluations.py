"""published evaluations: the time an enterprise made an evaluation's proof public (null when
not published, or withdrawn)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 03:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evaluation") as batch:
        batch.add_column(sa.Column("published_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evaluation") as batch:
        batch.drop_column("published_at")

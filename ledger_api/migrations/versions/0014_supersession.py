"""supersession: one current evaluation per enterprise, period and ruleset; a re-evaluation
names the one it supersedes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 04:30:00.000000
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_CURRENT = "superseded_by IS NULL"


def _backfill() -> None:
    """The ruleset of every stored entry; of duplicates made before supersession existed, the
    latest stays current (the one the portfolio already showed) and the others point at it."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, identifier, enterprise_id, period_start, period_end, entry "
            "FROM evaluation ORDER BY id"
        )
    ).all()
    latest: dict[tuple[int, str, str, str], str] = {}
    keyed = []
    for row in rows:
        rating = json.loads(row.entry).get("rating") or {}
        ruleset = (rating.get("ruleset") or {}).get("id") or ""
        key = (row.enterprise_id, row.period_start, row.period_end, ruleset)
        latest[key] = row.identifier
        keyed.append((row.id, row.identifier, key))
    for row_id, identifier, key in keyed:
        successor = latest[key] if latest[key] != identifier else None
        bind.execute(
            sa.text("UPDATE evaluation SET ruleset = :r, superseded_by = :s WHERE id = :i"),
            {"r": key[3], "s": successor, "i": row_id},
        )


def upgrade() -> None:
    with op.batch_alter_table("evaluation") as batch:
        batch.add_column(sa.Column("ruleset", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("superseded_by", sa.String(128), nullable=True))
    _backfill()
    op.create_index(
        "uq_evaluation_current",
        "evaluation",
        ["enterprise_id", "period_start", "period_end", "ruleset"],
        unique=True,
        sqlite_where=sa.text(_CURRENT),
        postgresql_where=sa.text(_CURRENT),
    )


def downgrade() -> None:
    op.drop_index("uq_evaluation_current", table_name="evaluation")
    with op.batch_alter_table("evaluation") as batch:
        batch.drop_column("superseded_by")
        batch.drop_column("ruleset")

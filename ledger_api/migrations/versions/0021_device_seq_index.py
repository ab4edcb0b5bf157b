"""device and seq index: on PostgreSQL, activity records are indexed by (device, seq) again

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 15:10:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_INDEX = "ix_activity_record_device_seq"


def upgrade() -> None:
    # Partitioning (0019) moved the (device_id, seq) uniqueness to activity_record_key and
    # with it the only index on those columns. Ingestion looks up every batch's stored seqs
    # and each register device's last reading by them, and proofs find edge readings by them:
    # without an index, each look-up reads every partition in full, so ingestion slowed as
    # the table grew (1 s a look-up at 1.5 million records). SQLite keeps its unique
    # constraint, which is an index. On the partitioned table the index recurses into every
    # partition and is made for each new one.
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"CREATE INDEX {_INDEX} ON activity_record (device_id, seq)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX {_INDEX}")

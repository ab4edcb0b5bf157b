"""wide ids: on PostgreSQL, leaf and activity-record ids and sequence numbers are eight bytes,
and activity records are indexed by leaf hash

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-01 11:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0020"
down_revision = "0018"
branch_labels = None
depends_on = None

# (table, column) pairs that were four-byte integers on PostgreSQL. At 5,000 records a second
# a four-byte id is spent in five days; seq is accepted up to 2^53 - 1 by ingestion. SQLite's
# INTEGER is eight bytes already, so there is nothing to do there. The period columns stay:
# period_start is the partition key (PostgreSQL cannot retype it in place) and both hold
# epoch seconds to 2038.
_COLUMNS = (
    ("leaf", "id"),
    ("activity_record", "id"),
    ("activity_record", "seq"),
    ("device", "last_seq"),
    ("monitor_device", "last_seq"),
)
_SEQUENCES = ("leaf_id_seq", "activity_record_id_seq")
_LEAF_HASH_INDEX = "ix_activity_record_leaf_hash"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in _COLUMNS:
        # On the partitioned activity_record this recurses into every partition.
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE bigint")
    for sequence in _SEQUENCES:
        op.execute(f"ALTER SEQUENCE {sequence} AS bigint")
    # Partitioning (0019) moved leaf_hash's uniqueness to activity_record_key and with it the
    # index; the anchoring worker joins pending leaves to their records by leaf hash every
    # round, which without one reads every partition in full.
    op.execute(f"CREATE INDEX {_LEAF_HASH_INDEX} ON activity_record (leaf_hash)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX {_LEAF_HASH_INDEX}")
    for sequence in _SEQUENCES:
        op.execute(f"ALTER SEQUENCE {sequence} AS integer")
    for table, column in _COLUMNS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE integer")

"""scale-out: the anchoring lease, the deployment binding; on PostgreSQL, activity records
partitioned by month

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-01 06:45:00.000000
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

from ledger_api.ledger import partitions

revision = "0019"
down_revision = "0016"
branch_labels = None
depends_on = None

_OLD = "activity_record_unpartitioned"
_FOREIGN_KEYS = (
    ("device_id", "device", "id"),
    ("source_id", "emission_source", "id"),
    ("enterprise_id", "enterprise", "id"),
    ("leaf_hash", "leaf", "hash"),
)
_INDEXES = ("digest", "enterprise_id", "source_id")

# One set-based insert a statement: the keys of every record the statement stored. Its unique
# constraints refuse a second record with a stored digest, leaf hash or (device, seq) in any
# month, as the single table's constraints did.
_KEYS_TRIGGER = """
CREATE FUNCTION activity_record_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO activity_record_key (digest, leaf_hash, device_id, seq)
    SELECT digest, leaf_hash, device_id, seq FROM stored;
    RETURN NULL;
END $$;
CREATE TRIGGER activity_record_keys AFTER INSERT ON activity_record
    REFERENCING NEW TABLE AS stored FOR EACH STATEMENT EXECUTE FUNCTION activity_record_keys();
"""


def upgrade() -> None:
    op.create_table(
        "anchor_lease",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=True),
        sa.Column("token", sa.BigInteger(), nullable=False),
        sa.Column("expires_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.execute(
        "INSERT INTO anchor_lease (name, holder, token, expires_ms) "
        "VALUES ('anchoring', NULL, 0, 0)"
    )
    op.create_table(
        "ledger_binding",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("contract", sa.String(length=42), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    if op.get_bind().dialect.name == "postgresql":
        _partition()


def _partition() -> None:
    """Rebuild ``activity_record`` as a partitioned table and move every row into it."""
    bind = op.get_bind()
    op.execute(f"ALTER TABLE activity_record RENAME TO {_OLD}")
    op.execute(
        f"ALTER TABLE {_OLD} DROP CONSTRAINT activity_record_pkey, "
        "DROP CONSTRAINT activity_record_device_id_seq_key, "
        "DROP CONSTRAINT activity_record_leaf_hash_key"
    )
    for column in _INDEXES:
        op.execute(f"DROP INDEX ix_activity_record_{column}")
    op.execute(
        f"CREATE TABLE activity_record (LIKE {_OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
        "PARTITION BY RANGE (period_start)"
    )
    # The id sequence outlives the old table: ids keep counting where they were.
    op.execute("ALTER SEQUENCE activity_record_id_seq OWNED BY activity_record.id")
    op.execute("ALTER TABLE activity_record ADD PRIMARY KEY (id, period_start)")
    for column, table, target in _FOREIGN_KEYS:
        op.execute(
            f"ALTER TABLE activity_record ADD CONSTRAINT activity_record_{column}_fkey "
            f"FOREIGN KEY ({column}) REFERENCES {table} ({target})"
        )
    for column in _INDEXES:
        op.execute(f"CREATE INDEX ix_activity_record_{column} ON activity_record ({column})")
    op.execute(
        "CREATE TABLE activity_record_key (digest varchar(66) PRIMARY KEY, "
        "leaf_hash varchar(66) NOT NULL UNIQUE, device_id integer NOT NULL, "
        "seq bigint NOT NULL, UNIQUE (device_id, seq))"
    )
    op.execute(_KEYS_TRIGGER)
    op.execute(f"CREATE TABLE {partitions.DEFAULT} PARTITION OF activity_record DEFAULT")
    stored = bind.execute(sa.text(f"SELECT DISTINCT period_start / 86400 FROM {_OLD}"))
    months = {partitions.month_start(day * 86400) for (day,) in stored}
    partitions.ensure(bind, months | set(partitions.months_ahead(int(time.time()))))
    op.execute(f"INSERT INTO activity_record SELECT * FROM {_OLD}")
    op.execute(f"DROP TABLE {_OLD}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _unpartition()
    op.drop_table("ledger_binding")
    op.drop_table("anchor_lease")


def _unpartition() -> None:
    op.execute(f"ALTER TABLE activity_record RENAME TO {_OLD}")
    op.execute(f"DROP TRIGGER activity_record_keys ON {_OLD}")
    op.execute("DROP FUNCTION activity_record_keys()")
    for column in _INDEXES:
        op.execute(f"DROP INDEX ix_activity_record_{column}")
    op.execute(
        f"CREATE TABLE activity_record (LIKE {_OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    op.execute("ALTER SEQUENCE activity_record_id_seq OWNED BY activity_record.id")
    op.execute(f"INSERT INTO activity_record SELECT * FROM {_OLD}")
    op.execute(f"DROP TABLE {_OLD}")
    op.execute("DROP TABLE activity_record_key")
    op.execute(
        "ALTER TABLE activity_record ADD PRIMARY KEY (id), ADD UNIQUE (device_id, seq), "
        "ADD UNIQUE (leaf_hash)"
    )
    for column, table, target in _FOREIGN_KEYS:
        op.execute(
            f"ALTER TABLE activity_record ADD CONSTRAINT activity_record_{column}_fkey "
            f"FOREIGN KEY ({column}) REFERENCES {table} ({target})"
        )
    op.execute("CREATE UNIQUE INDEX ix_activity_record_digest ON activity_record (digest)")
    for column in _INDEXES[1:]:
        op.execute(f"CREATE INDEX ix_activity_record_{column} ON activity_record ({column})")

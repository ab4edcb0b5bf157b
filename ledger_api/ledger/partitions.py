"""Monthly partitions of ``activity_record`` on PostgreSQL (migration 0019; SQLite has none).

Records are partitioned by the UTC month of their period start. A record whose month has no
partition yet lands in the default partition, so ingestion never waits on DDL and never
fails for want of one. The anchoring worker that holds the lease (one at a time, so DDL never
races) keeps the current month and the next ones created ahead, and moves any month that
collected rows in the default partition out into a partition of its own.

Uniqueness cannot live on the partitioned table itself (a unique index there must contain the
partition key, so ``(device_id, seq)`` would only be unique within a month). Every insert
into ``activity_record`` therefore also writes ``activity_record_key`` (a statement trigger,
one set-based insert per batch), whose unique constraints keep digest, leaf hash and
``(device_id, seq)`` unique across all months. Moving rows between partitions does not pass
through the parent, so it leaves the keys alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

TABLE = "activity_record"
DEFAULT = f"{TABLE}_default"
MONTHS_AHEAD = 3


def month_start(epoch_s: int) -> datetime:
    moment = datetime.fromtimestamp(epoch_s, UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(month: datetime) -> datetime:
    return month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)


def partition_name(month: datetime) -> str:
    return f"{TABLE}_y{month.year:04d}m{month.month:02d}"


def _bounds(month: datetime) -> tuple[int, int]:
    return int(month.timestamp()), int(next_month(month).timestamp())


def months_ahead(now_s: int, ahead: int = MONTHS_AHEAD) -> list[datetime]:
    months = [month_start(now_s)]
    for _ in range(ahead):
        months.append(next_month(months[-1]))
    return months


def is_partitioned(connection: Connection) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    found = connection.execute(
        text(
            "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relname = :t AND pg_table_is_visible(c.oid)"
        ),
        {"t": TABLE},
    ).first()
    return found is not None


def _existing(connection: Connection) -> set[str]:
    rows = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = :t"
        ),
        {"t": TABLE},
    )
    return {r[0] for r in rows}


def create_month(connection: Connection, month: datetime) -> bool:
    """Create ``month``'s partition, first moving its rows out of the default partition (a
    range the default holds rows of cannot be attached). False if it already existed."""
    name = partition_name(month)
    if name in _existing(connection):
        return False
    low, high = _bounds(month)
    where = f"period_start >= {low} AND period_start < {high}"
    # Hold inserts into the default partition until the month is attached: a row of the
    # month stored between the move and the attach would make the attach fail.
    connection.execute(text(f"LOCK TABLE {DEFAULT} IN SHARE ROW EXCLUSIVE MODE"))
    connection.execute(text(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS)"))
    moved = connection.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE {where} RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved"
        )
    ).rowcount
    connection.execute(
        text(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM ({low}) TO ({high})")
    )
    if moved:
        log.info("moved %s records of %s out of the default partition", moved, name)
    return True


def default_months(connection: Connection) -> list[datetime]:
    """Months that have rows waiting in the default partition."""
    starts = connection.execute(
        text(
            f"SELECT DISTINCT date_trunc('month', to_timestamp(period_start) AT TIME ZONE 'UTC') "
            f"FROM {DEFAULT}"
        )
    )
    return [datetime(r[0].year, r[0].month, 1, tzinfo=UTC) for r in starts]


def ensure(connection: Connection, months: Iterable[datetime]) -> list[str]:
    """Create the partitions of ``months`` and of every month in the default partition."""
    created = []
    for month in sorted({*months, *default_months(connection)}):
        if create_month(connection, month):
            created.append(partition_name(month))
    return created


def maintain(engine: Engine, now_s: int) -> list[str]:
    """The worker's periodic step: partitions ahead, and none of the default's rows left
    behind. A no-op on SQLite and on an unpartitioned database."""
    if engine.dialect.name != "postgresql":
        return []
    with engine.begin() as connection:
        if not is_partitioned(connection):
            return []
        return ensure(connection, months_ahead(now_s))

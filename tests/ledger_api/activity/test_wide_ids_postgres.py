"""Row ids and sequence numbers are eight bytes on PostgreSQL, as they are on SQLite.

At the soak's 5,000 records a second a four-byte id runs out after 2^31 records, about five
days; and ingestion accepts any ``seq`` up to 2^53 - 1. Both must be stored, not refused by
the database with a 500."""

from __future__ import annotations

from dataclasses import replace

import psycopg

from devtools.postgres import libpq_url
from devtools.seeding import register, signed_readings
from terminal.client import Terminal
from tests.conftest import LedgerServer

ENTERPRISE = "88.118.8/ENT-WIDE-PG"
SOURCE = "88.118.8/SRC-WIDE-PG-GRID"
PAST_FOUR_BYTES = 2**31 + 7  # the first id a four-byte column could not hold, and then some
LAST_SEQ = 2**53 - 1  # the largest seq ingestion accepts (ledger_api/activity/service.py)


def _query(ledger: LedgerServer, sql: str) -> list[tuple[object, ...]]:
    dsn = libpq_url(ledger.env["CARBON_DATABASE_URL"])
    with psycopg.connect(dsn, autocommit=True) as connection:
        cursor = connection.execute(sql)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def test_ids_past_two_to_the_31_and_the_largest_seq_are_stored(ledger_pg: LedgerServer) -> None:
    terminal = Terminal.create()
    register(ledger_pg.server, ENTERPRISE, [SOURCE], terminal)
    # As if two billion records had been stored before these.
    for sequence in ("leaf_id_seq", "activity_record_id_seq"):
        _query(ledger_pg, f"SELECT setval('{sequence}', {PAST_FOUR_BYTES})")
    client = ledger_pg.ledger_client()
    domain = client.domain()
    [first, second] = signed_readings(terminal, domain, ENTERPRISE, SOURCE, range(1, 3))
    # The last reading carries the largest seq ingestion takes (its period stays in the past).
    last = terminal.sign(domain, replace(second.record, seq=LAST_SEQ))
    stored = client.submit([first, last])
    assert stored["accepted"] == 2

    rows = _query(ledger_pg, "SELECT id, seq FROM activity_record ORDER BY seq")
    assert rows == [(PAST_FOUR_BYTES + 1, 1), (PAST_FOUR_BYTES + 2, LAST_SEQ)]
    leaves = _query(ledger_pg, "SELECT max(id) FROM leaf")
    assert leaves[0][0] > 2**31
    [(last_seq,)] = _query(ledger_pg, "SELECT last_seq FROM device WHERE last_seq IS NOT NULL")
    assert last_seq == LAST_SEQ
    out = ledger_pg.get(f"/v1/records/{stored['records'][1]['digest']}").json()
    assert out["typedData"]["message"]["seq"] == str(LAST_SEQ)


# Every look-up of activity records by a key the ledger runs (ingestion's duplicate and seq
# checks, a register device's last reading, the worker's join by leaf hash, proofs' edge
# readings). Partitioning moved the unique constraints to activity_record_key, and with them
# the indexes they made: a shape that lost its index scans every partition in full.
LOOKUPS = {
    "digest": "digest = 'x'",
    "leaf hash": "leaf_hash = 'x'",
    "device and seq": "device_id = 1 AND seq = 1",
    "devices and seqs": "device_id IN (1, 2) AND seq IN (1, 2, 3)",
}


def test_every_keyed_look_up_uses_an_index_in_every_partition(ledger_pg: LedgerServer) -> None:
    partitions = _query(
        ledger_pg,
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'activity_record'",
    )
    assert len(partitions) >= 2  # the default partition and the months made at migration
    dsn = libpq_url(ledger_pg.env["CARBON_DATABASE_URL"])
    with psycopg.connect(dsn, autocommit=True) as connection:
        # With sequential scans priced out, the planner still scans a partition that has no
        # usable index: so any "Seq Scan" left in a plan is a missing index.
        connection.execute("SET enable_seqscan = off")
        for shape, where in LOOKUPS.items():
            plan = connection.execute(
                f"EXPLAIN SELECT * FROM activity_record WHERE {where}"  # type: ignore[arg-type]
            ).fetchall()
            text = "\n".join(line for (line,) in plan)
            assert "Seq Scan" not in text, f"{shape}: {text}"
            scanned = {p for (p,) in partitions if f" on {p} " in text}
            assert scanned == {p for (p,) in partitions}, f"{shape}: {text}"

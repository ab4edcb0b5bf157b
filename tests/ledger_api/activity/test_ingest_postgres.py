"""Ingestion's PostgreSQL insert path (COPY, one statement a table a batch): the same rows as
the executemany path stores, the partition keys written once for the whole batch, and a batch
the database refuses half-way leaves nothing behind."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import psycopg

from devtools.postgres import libpq_url
from devtools.seeding import register, signed_readings
from terminal.client import Terminal
from tests.conftest import LedgerServer

ENTERPRISE = "88.118.8/ENT-STEEL-PG"
SOURCE = "88.118.8/SRC-STEEL-PG-GRID"


def _query(ledger: LedgerServer, sql: str, *params: object) -> list[tuple[object, ...]]:
    dsn = libpq_url(ledger.env["CARBON_DATABASE_URL"])
    with psycopg.connect(dsn, autocommit=True) as connection:
        cursor = connection.execute(sql, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def _stored(ledger: LedgerServer) -> tuple[object, ...]:
    return _query(
        ledger,
        "select (select count(*) from activity_record), (select count(*) from leaf "
        "where kind = 1), (select count(*) from activity_record_key)",
    )[0]


def test_copy_stores_what_was_signed_and_all_or_nothing(ledger_pg: LedgerServer) -> None:
    terminal = Terminal.create()
    register(ledger_pg.server, ENTERPRISE, [SOURCE], terminal)
    client = ledger_pg.ledger_client()
    domain = client.domain()
    readings = signed_readings(terminal, domain, ENTERPRISE, SOURCE, range(1, 304))
    before = time.time()
    stored = client.submit(readings[:300])
    assert stored["accepted"] == 300
    assert _stored(ledger_pg) == (300, 300, 300)

    # Read back as stored: the message and signature as signed, received now and in UTC (a
    # timestamp written through COPY must not move with the server's time zone).
    sample, digest = readings[123], stored["records"][123]["digest"]
    out = ledger_pg.get(f"/v1/records/{digest}").json()
    assert out["typedData"]["message"] == sample.record.to_message()
    assert out["signature"] == "0x" + sample.signature.hex()
    received = datetime.fromisoformat(out["receivedAt"])
    received = received if received.tzinfo else received.replace(tzinfo=UTC)
    assert before - 5 <= received.timestamp() <= time.time() + 5

    # An operator-made key row only the database sees: the second COPY (records) is refused
    # after the first (leaves) went in, and the whole batch goes with it.
    device = _query(ledger_pg, "select id from device where address = %s", terminal.address)
    _query(
        ledger_pg,
        "insert into activity_record_key (digest, leaf_hash, device_id, seq) "
        "values ('0x' || repeat('ab', 32), '0x' || repeat('cd', 32), %s, 302)",
        device[0][0],
    )
    response = ledger_pg.post(
        "/v1/activity-batches", json={"records": [r.to_json() for r in readings[300:]]}
    )
    assert response.status_code == 500
    assert _stored(ledger_pg) == (300, 300, 301)
    leaves = _query(ledger_pg, "select count(*) from leaf where created_at > now() - interval '1h'")
    assert leaves[0][0] == 300 + 3  # the readings and the three registry events, no more

"""The core loop on PostgreSQL: the same API, worker and proofs over another SQL database."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from devtools.publishing import next_statement, post_statement
from devtools.seeding import enterprise_secret, register, resign, signed_readings
from ledger_api.commands.serve import build_worker
from ledger_api.core.db import make_engine
from terminal.client import BatchRejected, Terminal
from tests.conftest import LedgerServer
from verifier.checks.record import verify_record
from verifier.formats.record import RecordProofBundle
from verifier.rpc import JsonRpcReader

ENTERPRISE = "88.118.8/ENT-CHEM-PG"
SOURCE = "88.118.8/SRC-CHEM-PG-STEAM"


def count(ledger: LedgerServer, table: str) -> int:
    engine = make_engine(ledger.env["CARBON_DATABASE_URL"])
    with engine.connect() as connection:
        return connection.execute(text(f"select count(*) from {table}")).scalar_one()


def test_ingest_anchor_and_prove_on_postgres(ledger_pg: LedgerServer) -> None:
    terminal = Terminal.create()
    register(ledger_pg.server, ENTERPRISE, [SOURCE], terminal, industry="chemicals")
    client = ledger_pg.ledger_client()
    domain = client.domain()
    records = signed_readings(terminal, domain, ENTERPRISE, SOURCE, range(1, 201))
    assert client.submit(records)["accepted"] == 200
    assert client.submit(records[:50])["duplicates"] == 50

    bad = [*signed_readings(terminal, domain, ENTERPRISE, SOURCE, range(201, 204))]
    bad[1] = resign(terminal, domain, bad[1], seq=150)
    with pytest.raises(BatchRejected):
        client.submit(bad)
    assert count(ledger_pg, "activity_record") == 200

    result = build_worker(ledger_pg.settings()).run_once()
    events = 3  # the enterprise, its source and the terminal were registered
    assert (result.batches, result.leaves) == (1, 200 + events)
    digest = client.submit(records[7:8])["records"][0]["digest"]
    bundle = RecordProofBundle.model_validate(ledger_pg.get(f"/v1/records/{digest}/proof").json())
    outcome = verify_record(bundle, JsonRpcReader(ledger_pg.env["CARBON_RPC_URL"]))
    assert outcome.valid, outcome.failure

    # The enterprise publishes an evaluation with a signed statement; the compare-and-set on
    # the statement head holds on PostgreSQL too (a replay is refused, one event stored).
    day = {"enterprise": ENTERPRISE, "periodStart": "2026-01-02", "periodEnd": "2026-01-02"}
    evaluated = ledger_pg.post("/v1/evaluations", json={**day, "addedValue": "10"})
    assert evaluated.status_code == 201, evaluated.text
    owner = {"name": "chem-pg", "role": "enterprise", "enterprise": ENTERPRISE}
    token = ledger_pg.post("/v1/principals", json=owner).json()["key"]["token"]
    identifier = evaluated.json()["identifier"]
    with ledger_pg.client() as http:
        statement = next_statement(http, token, identifier, "publish")
        key = enterprise_secret(ENTERPRISE)
        assert post_statement(http, token, domain, key, statement).status_code == 200
        replayed = post_statement(http, token, domain, key, statement)
    assert replayed.json()["error"]["code"] == "publication_head_moved"
    published = "registry_event where type = 'evaluation.published'"
    assert count(ledger_pg, published) == 1

"""One bad leaf never halts anchoring: the ledger refuses sequence numbers the manifest cannot
hold, and the worker sets aside any such leaf that reached the database anyway."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from devtools.seeding import register, resign, signed_readings
from ledger_api.commands.serve import build_worker
from terminal.client import Terminal
from tests.conftest import LedgerServer

ENTERPRISE = "88.118.8/ENT-AL-07"
SOURCE = "88.118.8/SRC-AL-07-GRID"
SAFE_MAX = 2**53 - 1  # RFC 8785 (I-JSON) holds integers exactly up to here


@pytest.mark.parametrize("seq", [SAFE_MAX + 1, 2**63 - 1, 2**63, 2**64 - 1])
def test_a_sequence_number_the_manifest_cannot_hold_is_refused_at_the_edge(
    ledger: LedgerServer, seq: int
) -> None:
    terminal = Terminal.create()
    register(ledger.server, ENTERPRISE, [SOURCE], terminal, industry="aluminium")
    domain = ledger.ledger_client().domain()
    first = signed_readings(terminal, domain, ENTERPRISE, SOURCE, range(1, 2))[0]
    signed = [resign(terminal, domain, first, seq=seq)]
    response = ledger.post(
        "/v1/activity-batches",
        json={"records": [s.to_json() for s in signed]},
    )
    assert response.status_code == 422, response.text
    problem = response.json()["error"]["problems"][0]
    assert (problem["code"], problem["field"]) == ("seq_out_of_range", "record.seq")
    assert ledger.sql("select count(*) from activity_record") == [(0,)]


def test_the_top_safe_sequence_number_is_accepted(ledger: LedgerServer) -> None:
    terminal = Terminal.create()
    register(ledger.server, ENTERPRISE, [SOURCE], terminal, industry="aluminium")
    client = ledger.ledger_client()
    domain = client.domain()
    first = signed_readings(terminal, domain, ENTERPRISE, SOURCE, range(1, 2))[0]
    result = client.submit([resign(terminal, domain, first, seq=SAFE_MAX)])
    assert len(result["records"]) == 1
    assert build_worker(ledger.settings()).run_once().leaves > 0


def test_the_worker_sets_a_bad_leaf_aside_and_anchors_the_rest(ledger: LedgerServer) -> None:
    terminal = Terminal.create()
    register(ledger.server, ENTERPRISE, [SOURCE], terminal, industry="aluminium")
    client = ledger.ledger_client()
    stored = client.submit(
        signed_readings(terminal, client.domain(), ENTERPRISE, SOURCE, range(1, 11))
    )
    bad_digest = stored["records"][4]["digest"]
    # An operator's edit (or a record accepted by an older ledger): a sequence number past 2^53.
    with ledger.tampering() as db:
        db.execute(
            text("update activity_record set seq = :seq where digest = :digest"),
            {"seq": 2**53 + 5, "digest": bad_digest},
        )
        leaves = db.execute(text("select count(*) from leaf")).scalar_one()

    result = build_worker(ledger.settings()).run_once()

    assert result.leaves == leaves - 1
    [aside] = ledger.sql(
        "select l.batch_id, l.set_aside from leaf l join activity_record r"
        " on r.leaf_hash = l.hash where r.digest = :digest",
        digest=bad_digest,
    )
    [(unbatched,)] = ledger.sql(
        "select count(*) from leaf where batch_id is null and set_aside is null"
    )
    assert aside[0] is None and "IntegerDomainError" in aside[1]
    assert unbatched == 0
    # The next round neither retries the bad leaf nor stops on it.
    assert build_worker(ledger.settings()).run_once().leaves == 0

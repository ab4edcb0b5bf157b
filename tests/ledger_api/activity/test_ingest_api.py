"""Ingestion over real HTTP into a real database: all or nothing, idempotent, strict."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest
from eth_account import Account

from devtools.seeding import reading, register, resign, signed_readings
from ledger_api.activity.schemas import ActivityBatchOut, StoredRecord
from terminal.client import BatchRejected, LedgerClient, SignedRecord, Terminal
from tests.conftest import LedgerServer
from verifier.protocol.leaves import activity_record_leaf
from verifier.protocol.typed_data import SECP256K1_N, Domain, record_digest, typed_data

ENTERPRISE = "88.118.8/ENT-STEEL-01"
SOURCE = "88.118.8/SRC-STEEL-01-GRID"


@pytest.fixture
def terminal(ledger: LedgerServer) -> Terminal:
    terminal = Terminal.create()
    register(ledger.server, ENTERPRISE, [SOURCE], terminal)
    return terminal


@pytest.fixture
def client(ledger: LedgerServer) -> LedgerClient:
    return ledger.ledger_client()


def stored_count(ledger: LedgerServer) -> tuple[int, int]:
    [(records,)] = ledger.sql("select count(*) from activity_record")
    [(leaves,)] = ledger.sql("select count(*) from leaf where kind = 1")
    return records, leaves


def rejected(client: LedgerClient, records: list[SignedRecord]) -> BatchRejected:
    with pytest.raises(BatchRejected) as info:
        client.submit(records)
    return info.value


def test_typed_data_is_bound_to_the_deployment(ledger: LedgerServer, client: LedgerClient) -> None:
    domain = client.domain()
    assert domain == Domain(1337, ledger.deployment.address)
    body = ledger.get("/v1/typed-data").json()
    assert body["primaryType"] == "ActivityRecord"
    assert body["domain"] == {
        "name": "carbon-ledger",
        "version": "1",
        "chainId": 1337,
        "verifyingContract": ledger.deployment.address,
    }


def test_a_record_signed_by_eth_account_is_accepted(
    ledger: LedgerServer, client: LedgerClient
) -> None:
    # Any EIP-712 signer will do: sign the served document with eth-account, not our signer.
    account = Account.create()
    terminal = Terminal(account.key)
    register(ledger.server, ENTERPRISE, [SOURCE], terminal)
    record = reading(terminal, ENTERPRISE, SOURCE, seq=1)
    document = typed_data(client.domain(), record)
    signature = Account.sign_typed_data(account.key, full_message=document).signature
    result = client.submit([SignedRecord(record, bytes(signature))])
    assert result["accepted"] == 1


def test_batch_is_stored_and_resending_is_a_no_op(
    ledger: LedgerServer, client: LedgerClient, terminal: Terminal
) -> None:
    records = signed_readings(terminal, client.domain(), ENTERPRISE, SOURCE, range(1, 51))
    first = client.submit(records)
    assert (first["accepted"], first["duplicates"]) == (50, 0)
    again = client.submit(records)
    assert (again["accepted"], again["duplicates"]) == (0, 50)
    assert stored_count(ledger) == (50, 50)


def test_partly_stored_batch_stores_only_the_new_part(
    ledger: LedgerServer, client: LedgerClient, terminal: Terminal
) -> None:
    records = signed_readings(terminal, client.domain(), ENTERPRISE, SOURCE, range(1, 11))
    client.submit(records[:4])
    result = client.submit(records)
    assert (result["accepted"], result["duplicates"]) == (6, 4)
    assert stored_count(ledger) == (10, 10)


def test_the_answer_is_the_response_models_json(
    ledger: LedgerServer, client: LedgerClient, terminal: Terminal
) -> None:
    # The answer is built as plain data: byte for byte what ActivityBatchOut renders, the new
    # records first, then the duplicates, each in the order sent; 201 if any is new, else 200.
    domain = client.domain()
    records = signed_readings(terminal, domain, ENTERPRISE, SOURCE, range(1, 6))
    digests = ["0x" + record_digest(domain, r.record).hex() for r in records]
    client.submit(records[:2])
    sent = [records[1], records[2], records[0], records[3], records[4]]
    for answer, new, old in (
        (_post(ledger, sent), [digests[2], digests[3], digests[4]], [digests[1], digests[0]]),
        (_post(ledger, sent[:3]), [], [digests[1], digests[2], digests[0]]),
    ):
        expected = ActivityBatchOut(
            accepted=len(new),
            duplicates=len(old),
            records=[StoredRecord(digest=d, status="stored") for d in new]
            + [StoredRecord(digest=d, status="duplicate") for d in old],
        )
        assert answer.status_code == (201 if new else 200)
        assert answer.headers["content-type"] == "application/json"
        assert answer.content == expected.model_dump_json().encode()


def _post(ledger: LedgerServer, records: list[SignedRecord]) -> httpx.Response:
    return ledger.post("/v1/activity-batches", json={"records": [r.to_json() for r in records]})


def test_one_bad_record_rejects_the_whole_batch(
    ledger: LedgerServer, client: LedgerClient, terminal: Terminal
) -> None:
    domain = client.domain()
    records = signed_readings(terminal, domain, ENTERPRISE, SOURCE, range(1, 6))
    records[3] = resign(terminal, domain, records[3], seq=2)  # goes backwards
    error = rejected(client, records)
    assert error.status == 422 and error.code == "invalid_batch"
    assert [(p["index"], p["code"]) for p in error.problems] == [(3, "seq_not_increasing")]
    assert stored_count(ledger) == (0, 0)


def test_sequence_must_rise_across_batches(client: LedgerClient, terminal: Terminal) -> None:
    domain = client.domain()
    client.submit(signed_readings(terminal, domain, ENTERPRISE, SOURCE, range(10, 12)))
    error = rejected(client, signed_readings(terminal, domain, ENTERPRISE, SOURCE, range(5, 6)))
    assert error.problems[0]["code"] == "seq_not_increasing"


def test_replayed_sequence_number_with_other_content_is_a_conflict(
    client: LedgerClient, terminal: Terminal
) -> None:
    domain = client.domain()
    original = signed_readings(terminal, domain, ENTERPRISE, SOURCE, range(1, 2))
    client.submit(original)
    error = rejected(client, [resign(terminal, domain, original[0], quantity=1)])
    assert error.problems[0]["code"] == "seq_conflict"
    assert error.problems[0]["field"] == "record.seq"


def test_unknown_device_is_rejected(client: LedgerClient) -> None:
    stranger = Terminal.create()
    records = [stranger.sign(client.domain(), reading(stranger, ENTERPRISE, SOURCE, 1))]
    assert rejected(client, records).problems[0]["code"] == "unknown_device"


def test_revoked_device_is_rejected_but_its_records_stay(
    ledger: LedgerServer, client: LedgerClient, terminal: Terminal
) -> None:
    domain = client.domain()
    client.submit(signed_readings(terminal, domain, ENTERPRISE, SOURCE, range(1, 3)))
    revoked = ledger.post(f"/v1/devices/{terminal.address}/revoke")
    assert revoked.json()["status"] == "revoked"
    error = rejected(client, signed_readings(terminal, domain, ENTERPRISE, SOURCE, range(3, 4)))
    assert error.problems[0]["code"] == "device_revoked"
    assert stored_count(ledger) == (2, 2)


def test_device_not_bound_to_the_source(
    ledger: LedgerServer, client: LedgerClient, terminal: Terminal
) -> None:
    other = "88.118.8/SRC-STEEL-01-GAS"
    ledger.post(
        f"/v1/enterprises/{ENTERPRISE}/sources",
        json={"identifier": other, "name": "gas"},
    )
    records = [terminal.sign(client.domain(), reading(terminal, ENTERPRISE, other, 1))]
    assert rejected(client, records).problems[0]["code"] == "device_not_bound"


def test_device_of_another_enterprise(
    ledger: LedgerServer, client: LedgerClient, terminal: Terminal
) -> None:
    other_terminal = Terminal.create()
    register(
        ledger.server,
        "88.118.8/ENT-GLASS-01",
        ["88.118.8/SRC-GLASS-01"],
        other_terminal,
        industry="flat_glass",
    )
    records = [other_terminal.sign(client.domain(), reading(other_terminal, ENTERPRISE, SOURCE, 1))]
    assert rejected(client, records).problems[0]["code"] == "device_not_bound"


@pytest.mark.parametrize("target", ["chain", "contract"])
def test_record_signed_for_another_domain(
    client: LedgerClient, terminal: Terminal, ledger: LedgerServer, target: str
) -> None:
    domain = client.domain()
    foreign = (
        Domain(1, domain.verifying_contract)
        if target == "chain"
        else Domain(domain.chain_id, "0x" + "42" * 20)
    )
    records = signed_readings(terminal, foreign, ENTERPRISE, SOURCE, range(1, 2))
    problem = rejected(client, records).problems[0]
    assert (problem["code"], problem["field"]) == ("signer_mismatch", "signature")


def test_high_s_signature_is_rejected(client: LedgerClient, terminal: Terminal) -> None:
    (signed,) = signed_readings(terminal, client.domain(), ENTERPRISE, SOURCE, range(1, 2))
    r, s, v = (
        signed.signature[:32],
        int.from_bytes(signed.signature[32:64], "big"),
        signed.signature[64],
    )
    # (r, n - s, v ^ 1) is the same signature's malleable twin: it recovers the same key.
    twin = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes((55 - v,))
    problem = rejected(client, [SignedRecord(signed.record, twin)]).problems[0]
    assert problem["code"] == "malleable_signature"


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"period_end": 1_767_225_600}, "period_reversed", "record.periodEnd"),
        (
            {"period_start": 4_000_000_000, "period_end": 4_000_003_600},
            "period_in_future",
            "record.periodEnd",
        ),
        ({"quantity": 10**40}, "quantity_too_large", "record.quantity"),
        ({"decimals": 30}, "decimals_out_of_range", "record.decimals"),
        ({"period_start": 100, "period_end": 200}, "period_too_old", "record.periodStart"),
        ({"activity": "electricity.bought"}, "unknown_activity", "record.activity"),
        ({"unit": "t"}, "unit_mismatch", "record.unit"),
        ({"unit": "blorps"}, "unknown_unit", "record.unit"),
    ],
)
def test_insane_values_are_rejected(
    ledger: LedgerServer,
    client: LedgerClient,
    terminal: Terminal,
    changes: dict[str, int],
    code: str,
    field: str,
) -> None:
    (signed,) = signed_readings(terminal, client.domain(), ENTERPRISE, SOURCE, range(5, 6))
    bad = resign(terminal, client.domain(), signed, **changes)
    problem = rejected(client, [bad]).problems[0]
    assert (problem["code"], problem["field"]) == (code, field)
    assert stored_count(ledger) == (0, 0)


def test_attributes_must_match_their_hash(client: LedgerClient, terminal: Terminal) -> None:
    (signed,) = signed_readings(terminal, client.domain(), ENTERPRISE, SOURCE, range(1, 2))
    tampered = SignedRecord(signed.record, signed.signature, {"meter": "M-1"})
    assert rejected(client, [tampered]).problems[0]["code"] == "attributes_mismatch"


def test_malformed_requests_get_machine_readable_errors(ledger: LedgerServer) -> None:
    url = "/v1/activity-batches"
    malformed = ledger.post(url, content=b"{not json", headers={"content-type": "application/json"})
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "malformed_json"
    wrong = ledger.post(url, json={"records": [{"record": {}, "signature": "0x12"}]})
    assert wrong.status_code == 422
    assert wrong.json()["error"]["field"] == "records.0.signature"
    empty = ledger.post(url, json={"records": []})
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "records"


def test_oversized_batch_is_413(
    ledger: LedgerServer, client: LedgerClient, terminal: Terminal
) -> None:
    records = signed_readings(terminal, client.domain(), ENTERPRISE, SOURCE, range(1, 10_002))
    error = rejected(client, records)
    assert (error.status, error.code) == (413, "batch_too_large")


def test_registration_errors(ledger: LedgerServer, terminal: Terminal) -> None:
    with ledger.client() as http:
        again = http.post(
            "/v1/enterprises",
            json={"identifier": ENTERPRISE, "name": "x", "industry": "iron_steel"},
        )
        assert (again.status_code, again.json()["error"]["code"]) == (409, "enterprise_exists")
        industry = http.post(
            "/v1/enterprises",
            json={"identifier": "88.118.8/X", "name": "x", "industry": "shipbuilding"},
        )
        assert (industry.status_code, industry.json()["error"]["code"]) == (422, "unknown_industry")
        missing = http.get("/v1/enterprises/88.118.8/NOPE")
        assert (missing.status_code, missing.json()["error"]["code"]) == (
            404,
            "enterprise_not_found",
        )
        bad = http.post(
            "/v1/devices",
            json={
                "address": Terminal.create().address,
                "enterprise": ENTERPRISE,
                "sources": ["88.118.8/NOT-OURS"],
            },
        )
        assert bad.status_code == 422
        assert bad.json()["error"] == {
            "code": "source_not_in_enterprise",
            "message": f"88.118.8/NOT-OURS is not a source of {ENTERPRISE}",
            "field": "sources.0",
        }


def test_stored_rows_are_the_signed_record_and_its_leaf(
    ledger: LedgerServer, client: LedgerClient, terminal: Terminal
) -> None:
    domain = client.domain()
    records = signed_readings(terminal, domain, ENTERPRISE, SOURCE, range(1, 4))
    before = time.time()
    stored = client.submit(records)
    rows = ledger.sql(
        "select r.digest, r.leaf_hash, l.kind, l.digest, l.aux, r.seq, r.quantity, "
        "r.signature, r.received_at = l.created_at from activity_record r "
        "join leaf l on l.hash = r.leaf_hash order by r.seq"
    )
    expected = []
    for signed in records:
        leaf = activity_record_leaf(domain, signed.record, signed.signature)
        digest, aux = "0x" + leaf.digest.hex(), "0x" + leaf.aux.hex()
        seq, quantity = signed.record.seq, str(signed.record.quantity)
        signature = "0x" + signed.signature.hex()
        expected.append(
            (digest, "0x" + leaf.hash().hex(), 1, digest, aux, seq, quantity, signature, 1)
        )
    assert rows == expected
    # Read back through the ORM: the receipt time is the batch's, in UTC.
    out = ledger.get(f"/v1/records/{stored['records'][1]['digest']}").json()
    received = datetime.fromisoformat(out["receivedAt"])
    received = received if received.tzinfo else received.replace(tzinfo=UTC)
    assert before - 5 <= received.timestamp() <= time.time() + 5


def test_every_record_naming_a_refused_device_is_listed(
    client: LedgerClient, terminal: Terminal
) -> None:
    # The registry is checked once for each device, enterprise and source a batch names: each
    # record still gets its own problem, and the good records around them none.
    domain = client.domain()
    stranger = Terminal.create()
    good = signed_readings(terminal, domain, ENTERPRISE, SOURCE, range(1, 4))
    bad = signed_readings(stranger, domain, ENTERPRISE, SOURCE, range(1, 3))
    problems = rejected(client, [good[0], bad[0], good[1], bad[1], good[2]]).problems
    assert [(p["index"], p["code"]) for p in problems] == [
        (1, "unknown_device"),
        (3, "unknown_device"),
    ]

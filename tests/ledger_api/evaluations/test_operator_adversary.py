"""The operator as the adversary: it edits its own database, re-runs an evaluation through the
ledger's own API, fetches the figure proof and verifies it against the real chain. Each
dishonest figure must fail at a named check, or be refused by the ledger with a named code.
"""

from __future__ import annotations

import copy
import time
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from accounting import account
from accounting.factors import parse_factor_set
from accounting.figures import figures
from accounting.from_records import RecordQuantity, inventory_from_records
from accounting.grading import grade, load_ruleset, parse_ruleset
from devtools.seeding import grid_record, register, revoke
from terminal.client import SignedRecord, Terminal
from tests.conftest import LedgerServer
from tests.ledger_api.evaluations.adversary import (
    ENTERPRISE,
    GRID,
    JUNE_2025_CST,
    OTHER,
    OTHER_GRID,
    anchor,
    proof,
    rewrite_entry,
    tamper,
    verify,
)
from tests.ledger_api.evaluations.helpers import HOUR, anchored_hours
from verifier.checks.figure import parse_figure_bundle
from verifier.formats.figure import FigureProofBundle
from verifier.protocol.keccak import keccak256
from verifier.protocol.leaves import LeafKind, leaf_hash
from verifier.protocol.typed_data import record_digest

DAYS = {"periodStart": "2025-06-01", "periodEnd": "2025-06-02"}


# --- the operator's tools -------------------------------------------------------------------


def evaluate(ledger: LedgerServer, **changes: Any) -> str:
    body = {"enterprise": ENTERPRISE, **DAYS, "addedValue": "20", "ruleset": "zj-huzhou-2021"}
    response = ledger.post("/v1/evaluations", json={**body, **changes})
    assert response.status_code == 201, response.text
    return response.json()["identifier"]


def refused(ledger: LedgerServer, **changes: str) -> tuple[int, str, str]:
    body = {"enterprise": ENTERPRISE, **DAYS, "addedValue": "20", "ruleset": "zj-huzhou-2021"}
    response = ledger.post("/v1/evaluations", json={**body, **changes})
    error = response.json()["error"]
    return response.status_code, error["code"], error["field"]


INSERT_LEAF = (
    "INSERT INTO leaf (kind, digest, aux, hash, created_at) "
    "VALUES (1, :digest, :aux, :hash, CURRENT_TIMESTAMP)"
)
INSERT_RECORD = (
    "INSERT INTO activity_record (digest, leaf_hash, device_id, source_id, enterprise_id, seq, "
    "activity, quantity, decimals, unit, period_start, period_end, attributes_hash, attributes, "
    "signature, received_at) "
    "VALUES (:digest, :hash, (SELECT id FROM device WHERE address = :device), "
    "(SELECT id FROM emission_source WHERE identifier = :source), "
    "(SELECT id FROM enterprise WHERE identifier = :enterprise), "
    ":seq, :activity, :quantity, :decimals, :unit, :start, :end, :attributes, NULL, :signature, "
    "CURRENT_TIMESTAMP)"
)


def insert_record(ledger: LedgerServer, signed: SignedRecord, source: str) -> str:
    """Put a signed record straight into the database, as if the ledger had accepted it."""
    record, domain = signed.record, ledger.ledger_client().domain()
    digest = record_digest(domain, record)
    hashed = leaf_hash(LeafKind.ACTIVITY_RECORD, digest, keccak256(signed.signature))
    row = {
        "digest": "0x" + digest.hex(),
        "hash": "0x" + hashed.hex(),
        "device": record.device,
        "source": source,
        "enterprise": record.enterprise,
        "seq": record.seq,
        "activity": record.activity,
        "quantity": str(record.quantity),
        "decimals": record.decimals,
        "unit": record.unit,
        "start": record.period_start,
        "end": record.period_end,
        "attributes": "0x" + record.attributes_hash.hex(),
        "signature": "0x" + signed.signature.hex(),
    }
    with ledger.tampering() as db:
        db.execute(text(INSERT_LEAF), {**row, "aux": "0x" + "00" * 32})
        db.execute(text(INSERT_RECORD), row)
    return row["digest"]


def drop_reading(ledger: LedgerServer, seq: int) -> None:
    """Delete one of the enterprise's readings and its leaf, as an operator hiding it would."""
    [(leaf,)] = ledger.sql(
        "SELECT r.leaf_hash FROM activity_record r JOIN enterprise e ON e.id = r.enterprise_id "
        "WHERE e.identifier = :enterprise AND r.seq = :seq",
        enterprise=ENTERPRISE,
        seq=seq,
    )
    with ledger.tampering() as db:
        db.execute(text("DELETE FROM activity_record WHERE leaf_hash = :leaf"), {"leaf": leaf})
        db.execute(text("DELETE FROM leaf WHERE hash = :leaf"), {"leaf": leaf})


def reading(terminal: Terminal, ledger: LedgerServer, seq: int, start: int) -> SignedRecord:
    record = grid_record(terminal, (ENTERPRISE, GRID), seq, start, HOUR, 99_000)
    return terminal.sign(ledger.ledger_client().domain(), record)


# --- 7: the period's timestamps are its dates' ----------------------------------------------


def test_entry_whose_dates_say_two_days_but_count_one_fails_period(two_days: LedgerServer) -> None:
    identifier = evaluate(two_days, periodEnd="2025-06-01")  # an honest one-day entry

    def two_days_heading(entry: dict[str, Any]) -> None:
        entry["period"]["end"] = "2025-06-02"  # the timestamps still cover only June 1

    rewrite_entry(two_days, identifier, two_days_heading)
    anchor(two_days)
    result = verify(two_days, proof(two_days, identifier))
    assert (result.failed_check, result.failure.code) == ("period", "PeriodMismatch")
    assert "2025-06-01..2025-06-02" in result.failure.reason


# --- 6: records of a key not registered for this enterprise ---------------------------------


def test_record_of_a_key_registered_elsewhere_fails_authorization(
    two_days: LedgerServer,
) -> None:
    rogue = Terminal.create()
    register(two_days.server, OTHER, [OTHER_GRID], rogue, industry="aluminium")
    anchor(two_days)  # the rogue key's registration, for another enterprise, is anchored
    insert_record(two_days, reading(rogue, two_days, 1, JUNE_2025_CST), GRID)
    insert_record(two_days, reading(rogue, two_days, 2, JUNE_2025_CST + 2 * 86_400), GRID)
    anchor(two_days)
    identifier = evaluate(two_days)
    anchor(two_days)
    bundle = proof(two_days, identifier)
    assert bundle.entry["records"]["count"] == 49  # the rogue reading was counted
    result = verify(two_days, bundle)
    assert (result.failed_check, result.failure.code) == ("authorization", "TerminalNotAuthorised")
    assert f"binds {rogue.address} to {ENTERPRISE} / {GRID}" in result.failure.reason


# --- 10: a terminal without its registration is a 409, not a 500 ----------------------------


def test_never_registered_key_gets_409_for_record_and_figure(two_days: LedgerServer) -> None:
    rogue = Terminal.create()
    [(enterprise_id,)] = two_days.sql(
        "SELECT id FROM enterprise WHERE identifier = :enterprise", enterprise=ENTERPRISE
    )
    tamper(
        two_days,
        "INSERT INTO device (address, enterprise_id, status, created_at) "
        "VALUES (:address, :enterprise, 'active', CURRENT_TIMESTAMP)",
        address=rogue.address,
        enterprise=enterprise_id,
    )
    digest = insert_record(two_days, reading(rogue, two_days, 1, JUNE_2025_CST), GRID)
    insert_record(two_days, reading(rogue, two_days, 2, JUNE_2025_CST + 2 * 86_400), GRID)
    anchor(two_days)
    response = two_days.get(f"/v1/records/{digest}/proof")
    assert response.status_code == 409, response.text
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (
        "registry_event_missing",
        "device",
    )
    assert refused(two_days) == (409, "registry_event_missing", "device")


def test_removed_registration_event_gets_409_for_record_and_figure(
    two_days: LedgerServer,
) -> None:
    identifier = evaluate(two_days)
    anchor(two_days)
    [(digest, device)] = two_days.sql(
        "SELECT r.digest, d.address FROM activity_record r JOIN device d ON d.id = r.device_id "
        "WHERE r.seq = 1",
    )
    tamper(
        two_days,
        "DELETE FROM registry_event WHERE subject = :device AND type = 'device.registered'",
        device=device,
    )
    for path in (f"/v1/records/{digest}/proof", f"/v1/evaluations/{identifier}/proof"):
        response = two_days.get(path)
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "registry_event_missing"
        assert device in response.json()["error"]["message"]


# --- 1: the period's edges ------------------------------------------------------------------


@pytest.mark.parametrize(("seq", "field"), [(1, "periodStart"), (48, "periodEnd")])
def test_dropping_an_edge_reading_is_refused(two_days: LedgerServer, seq: int, field: str) -> None:
    drop_reading(two_days, seq)
    assert refused(two_days) == (422, "sequence_gap", field)


def test_a_period_not_reported_past_is_open(two_days: LedgerServer) -> None:
    drop_reading(two_days, 49)  # hide the reading after the period: now nothing closes it
    status, code, field = refused(two_days)
    assert (status, code, field) == (409, "period_open", "periodEnd")


def test_a_revoked_terminal_closes_its_period(ledger: LedgerServer) -> None:
    anchored_hours(ledger, ENTERPRISE, GRID, "aluminium", JUNE_2025_CST, 47, 10_000)
    [(device,)] = ledger.sql("SELECT address FROM device")
    assert revoke(ledger.server, ENTERPRISE, device, 48).status_code == 201  # signed
    anchor(ledger)  # the revocation, stating lastSeq 48, is anchored
    identifier = evaluate(ledger)
    anchor(ledger)
    bundle = proof(ledger, identifier)
    assert bundle.devices[0].after is None and bundle.devices[0].before is None
    result = verify(ledger, bundle)
    assert result.valid, result.failure


def test_honest_bundle_shows_both_edges_and_verifies(two_days: LedgerServer) -> None:
    identifier = evaluate(two_days)
    anchor(two_days)
    bundle = proof(two_days, identifier)
    assert bundle.version == 3  # v2 with manifest sections
    [evidence] = bundle.devices
    assert evidence.before is None  # the registration says the terminal starts at seq 1
    assert evidence.after is not None and evidence.after.record.message["seq"] == "49"
    assert verify(two_days, bundle).valid


# --- 4: reference data under the official id and version, with other numbers ----------------


def _refigured(bundle: FigureProofBundle, factor_set: dict[str, Any]) -> dict[str, Any]:
    """The entry's figures recomputed from its records with ``factor_set``."""
    entry = bundle.entry
    quantities = [
        RecordQuantity(
            m["activity"], m["source"], int(m["quantity"]), int(m["decimals"]), m["unit"], None
        )
        for m in (r.message for r in bundle.records)
    ]
    period = entry["period"]
    inventory = inventory_from_records(
        entry["enterprise"],
        entry["industry"],
        date.fromisoformat(period["start"]),
        date.fromisoformat(period["end"]),
        quantities,
    )
    return figures(account(inventory, parse_factor_set(factor_set), entry["accounting"]["gwp"]))


def test_factor_set_with_other_numbers_is_unpublished(two_days: LedgerServer) -> None:
    honest = evaluate(two_days, addedValue="21")
    anchor(two_days)
    shown = proof(two_days, honest)
    forged = copy.deepcopy(dict(shown.factor_set))
    grid = next(f for f in forged["factors"] if f["id"].startswith("grid."))
    grid["value"] = "0.1"  # the published grid factor is 0.5366
    time.sleep(1)  # entry identifiers are minted per second
    # A second evaluation of the period names the one it supersedes (docs/grading.md).
    correction = {"evaluation": honest, "reason": "corrected_data", "note": "added value 20"}
    identifier = evaluate(two_days, supersedes=correction)

    def with_forged_factors(entry: dict[str, Any]) -> None:
        entry["accounting"]["factorSet"]["digest"] = parse_factor_set(forged).digest
        entry["accounting"]["figures"] = _refigured(shown, forged)
        total = Decimal(entry["accounting"]["figures"]["exact"]["total"])
        ruleset = load_ruleset("zj-huzhou-2021")
        entry["rating"] = grade(total, Decimal("20"), "aluminium", 2025, ruleset).to_dict()

    rewrite_entry(two_days, identifier, with_forged_factors)
    anchor(two_days)
    served = proof(two_days, identifier).to_json()
    result = verify(two_days, parse_figure_bundle({**served, "factorSet": forged}))
    assert (result.failed_check, result.failure.code) == ("factor-set", "FactorSetUnpublished")
    assert "not the published one" in result.failure.reason


def test_ruleset_with_another_average_is_unpublished(two_days: LedgerServer) -> None:
    identifier = evaluate(two_days)
    document = copy.deepcopy(dict(load_ruleset("zj-huzhou-2021").document))
    for item in document["industry_averages"]:
        item["value"] = str(Decimal(item["value"]) * 10)
    forged = parse_ruleset(document)

    def with_forged_ruleset(entry: dict[str, Any]) -> None:
        total = Decimal(entry["accounting"]["figures"]["exact"]["total"])
        entry["rating"] = grade(total, Decimal("20"), "aluminium", 2025, forged).to_dict()

    rewrite_entry(two_days, identifier, with_forged_ruleset)
    anchor(two_days)
    served = proof(two_days, identifier).to_json()
    result = verify(two_days, parse_figure_bundle({**served, "ruleset": document}))
    assert (result.failed_check, result.failure.code) == ("rating", "RulesetUnpublished")


def test_a_counted_reading_taken_out_of_its_batch_gets_409(two_days: LedgerServer) -> None:
    """The operator unassigns one counted reading's leaf after the entry is anchored: the
    figure proof is refused (nothing proves that reading), never served without it."""
    identifier = evaluate(two_days)
    anchor(two_days)
    tamper(
        two_days,
        "UPDATE leaf SET batch_id = NULL "
        "WHERE hash = (SELECT leaf_hash FROM activity_record WHERE seq = 7)",
    )
    response = two_days.get(f"/v1/evaluations/{identifier}/proof", params={"figure": "total"})
    assert (response.status_code, response.json()["error"]["code"]) == (409, "not_anchored")

"""The register form of a figure proof (docs/figure-proof-format.md section 11), on one real
ledger and chain for the module (tests/verifier/register_case.py), and the ingest rule it rests
on."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from anchoring.devchain import DevChain
from devtools.seeding import grid_record, register
from terminal.client import BatchRejected, SignedRecord, Terminal
from tests.verifier.failures import failed
from tests.verifier.register_case import (
    CHANGE_AT,
    HOUR,
    JUNE_2025_CST,
    OTHER,
    OTHER_GRID,
    Case,
    edits,
    tamper,
)
from verifier.checks.figure import verify_figure
from verifier.protocol.typed_data import Domain, attributes_hash
from verifier.rpc import JsonRpcReader


@pytest.fixture(scope="module")
def case(register_ledger: Case) -> Case:
    return register_ledger


# --- both forms prove the same figure ---------------------------------------------------------


def test_both_forms_verify_the_same_figure(case: Case, dev_chain: DevChain) -> None:
    rpc = JsonRpcReader(dev_chain.rpc_url)
    for bundle in (case.records, case.registers):
        result = verify_figure(bundle, rpc)
        assert result.valid, result.failure
    assert case.registers.figure == case.records.figure
    assert case.registers.entry == case.records.entry


def _register(reading: Any) -> int:
    return int(reading.record.attributes["register"])


def test_register_runs_equal_the_signed_quantities(case: Case) -> None:
    """What the register form sums, from its few readings, is what the terminals signed
    reading by reading: quantity(first) + register(last) − register(first) per epoch run."""
    evidence = case.registers.registers
    assert evidence is not None
    m1 = next(d for d in evidence.devices if d.device == case.m1.address)
    m2 = next(d for d in evidence.devices if d.device == case.m2.address)
    [change] = m1.changes
    q = int(m1.first.record.message["quantity"])
    runs_m1 = q + _register(change.end) - _register(m1.first)
    runs_m1 += (
        int(change.start.record.message["quantity"]) + _register(m1.last) - _register(change.start)
    )
    runs_m2 = int(m2.first.record.message["quantity"]) + _register(m2.last) - _register(m2.first)
    signed = {k: [r.record for r in v] for k, v in case.signed.items()}
    assert runs_m1 == sum(r.quantity for r in signed["m1"] if 1 <= r.seq <= 48)
    assert runs_m2 == sum(r.quantity for r in signed["m2"] if 2 <= r.seq <= 49)
    assert runs_m2 == sum(7_000 + 13 * s for s in range(2, 50))


def test_register_form_holds_only_the_edges(case: Case) -> None:
    """M1: first, last, the change's two readings, the reading after; M2: the reading before
    too. M3's 48 readings stay as records."""
    assert {r.message["device"] for r in case.registers.records} == {case.m3.address}
    assert len(case.registers.records) == 48
    evidence = case.registers.registers
    assert evidence is not None
    m1 = next(d for d in evidence.devices if d.device == case.m1.address)
    m2 = next(d for d in evidence.devices if d.device == case.m2.address)
    assert [(c.end.record.message["seq"], c.start.record.message["seq"]) for c in m1.changes] == [
        (str(CHANGE_AT - 1), str(CHANGE_AT))
    ]
    assert m1.before is None and m1.after is not None
    assert m2.before is not None and m2.before.record.message["seq"] == "1"
    assert (m2.first.record.message["seq"], m2.last.record.message["seq"]) == ("2", "49")
    assert not m2.changes
    assert len(evidence.batches) == 2


def test_unknown_form_is_refused(case: Case) -> None:
    identifier = case.records.entry["identifier"]
    answer = case.server.get(f"/v1/evaluations/{identifier}/proof", params={"form": "sums"})
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "form"


# --- the operator against the register form ---------------------------------------------------


def test_operator_edits_fail_where_named(case: Case) -> None:
    """Every edit of tests/verifier/register_case.py fails at its named check and code."""
    for name, (change, expected) in edits(case).items():
        result = verify_figure(tamper(case.registers, change), None)
        assert failed(result) == expected, name


def test_register_devices_use_the_enterprise_registry(case: Case) -> None:
    """Register devices carry no per-device evidence: their registration is read from the
    enterprise's signed chain (the "unregistered" edit removes it there)."""
    assert [d.device for d in case.registers.devices] == [case.m3.address]


# --- ingest: the continuity every register proof relies on -----------------------------------


@pytest.fixture(scope="module")
def meterless(case: Case) -> tuple[Terminal, Domain]:
    terminal = Terminal.create()
    register(case.server, OTHER, [OTHER_GRID], terminal, industry="aluminium")
    return terminal, case.domain


def _reading(
    terminal: Terminal, domain: Domain, seq: int, q: int, attributes: dict[str, Any] | None
) -> SignedRecord:
    record = grid_record(terminal, (OTHER, OTHER_GRID), seq, JUNE_2025_CST + seq * HOUR, HOUR, q)
    if attributes is None:
        return terminal.sign(domain, record)
    return terminal.sign(
        domain, replace(record, attributes_hash=attributes_hash(attributes)), attributes
    )


def _rejected(case: Case, records: list[SignedRecord]) -> list[dict[str, Any]]:
    with pytest.raises(BatchRejected) as info:
        case.server.ledger_client().submit(records)
    assert info.value.status == 422
    return info.value.problems


def test_ingest_enforces_register_continuity(
    case: Case, meterless: tuple[Terminal, Domain]
) -> None:
    terminal, domain = meterless
    first = _reading(
        terminal,
        domain,
        1,
        100,
        {"register": "1100", "registerEpoch": 0, "registerOpening": "1000"},
    )
    wrong = _reading(terminal, domain, 2, 100, {"register": "1250", "registerEpoch": 0})
    problems = _rejected(case, [first, wrong])
    assert [(p["index"], p["code"], p["field"]) for p in problems] == [
        (1, "register_discontinuity", "record.quantity")
    ]
    case.server.ledger_client().submit([first])  # nothing was stored: the good one alone goes in
    # Across batches the previous reading is the stored one.
    problems = _rejected(case, [wrong])
    assert [(p["code"], p["field"]) for p in problems] == [
        ("register_discontinuity", "record.quantity")
    ]
    skipped = _reading(
        terminal, domain, 2, 50, {"register": "50", "registerEpoch": 2, "registerOpening": "0"}
    )
    assert [p["code"] for p in _rejected(case, [skipped])] == ["register_epoch_skipped"]
    no_opening = _reading(terminal, domain, 2, 50, {"register": "50", "registerEpoch": 1})
    assert [(p["code"], p["field"]) for p in _rejected(case, [no_opening])] == [
        ("register_opening_missing", "attributes.registerOpening")
    ]
    same = _reading(
        terminal, domain, 2, 50, {"register": "1150", "registerEpoch": 0, "registerOpening": "1100"}
    )
    case.server.ledger_client().submit([same])  # an opening equal to the previous register
    back = _reading(
        terminal, domain, 3, 50, {"register": "50", "registerEpoch": 0, "registerOpening": "0"}
    )
    assert [p["code"] for p in _rejected(case, [back])] == ["register_discontinuity"]
    plain = _reading(terminal, domain, 3, 50, None)
    assert [(p["code"], p["field"]) for p in _rejected(case, [plain])] == [
        ("register_missing", "attributes.register")
    ]
    bad = _reading(terminal, domain, 3, 50, {"register": "1200", "registerEpoch": "0"})
    assert [p["code"] for p in _rejected(case, [bad])] == ["template_violation"]
    # A replaced meter opens epoch 1 (accepted); going back to epoch 0, or another unit within
    # epoch 1, is refused.
    replaced = _reading(
        terminal, domain, 3, 40, {"register": "40", "registerEpoch": 1, "registerOpening": "0"}
    )
    case.server.ledger_client().submit([replaced])
    older = _reading(terminal, domain, 4, 10, {"register": "1160", "registerEpoch": 0})
    assert [p["code"] for p in _rejected(case, [older])] == ["register_epoch_reversed"]
    kwh = replace(
        grid_record(terminal, (OTHER, OTHER_GRID), 4, JUNE_2025_CST + 4 * HOUR, HOUR, 10_000),
        unit="kWh",
    )
    attributes = {"register": "10040", "registerEpoch": 1}
    in_kwh = terminal.sign(
        domain, replace(kwh, attributes_hash=attributes_hash(attributes)), attributes
    )
    assert [(p["code"], p["field"]) for p in _rejected(case, [in_kwh])] == [
        ("register_meter_changed", "record")
    ]

"""A real ledger's register-form figure proofs (docs/figure-proof-format.md section 11) for the
register tests and the browser verifier's agreement test, and the operator's edits of them.

Smelter R's grid source has three terminals over 2025-06-01..02 (hourly): M1 reads a meter
with a cumulative register whose meter is replaced at its seq 20 (epoch 0 → 1); M2 reads a
register that started an hour before the period (its seq 1 is outside, so the period starts at
seq 2); M3 has no register and is proven record by record in the same bundle. Every terminal
has one reading past the period. The readings go into two anchored batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.devchain import DevChain
from devtools.seeding import grid_record, register, sign_registry
from ledger_api.commands.serve import build_worker
from terminal.client import RegisterMeter, SignedRecord, Terminal
from tests.conftest import LedgerServer
from tests.verifier.figure_case import (
    HOUR,
    JUNE_2025_CST,
    evaluate,
    on_own_ledger,
    proof_bundle,
    tamper,
)
from verifier.formats.figure import FigureProofBundle
from verifier.protocol.typed_data import Domain, attributes_hash

# What the register tests import from here, some of it shared with the figure case.
__all__ = [
    "CHANGE_AT",
    "ENTERPRISE",
    "GRID",
    "HOUR",
    "JUNE_2025_CST",
    "OTHER",
    "OTHER_GRID",
    "Case",
    "device_of",
    "edits",
    "register_case",
    "tamper",
]

ENTERPRISE = "88.118.8/ENT-AL-REG-R"
GRID = "88.118.8/SRC-AL-REG-R-GRID"
OTHER = "88.118.8/ENT-AL-REG-S"  # the ingest tests' enterprise
OTHER_GRID = "88.118.8/SRC-AL-REG-S-GRID"
CHANGE_AT = 20  # M1's first reading on its new meter


def _metered(
    terminal: Terminal, domain: Domain, meter: RegisterMeter, seq: int, start: int, change: bool
) -> SignedRecord:
    if change and seq == CHANGE_AT:
        meter.replace(500)  # the new meter's register opens at 0.500 MWh
    record = grid_record(terminal, (ENTERPRISE, GRID), seq, start, HOUR, 7_000 + 13 * seq)
    return terminal.sign_reading(domain, record, meter)


@dataclass(frozen=True)
class Case:
    server: LedgerServer
    domain: Domain
    m1: Terminal
    m2: Terminal
    m3: Terminal
    records: FigureProofBundle
    registers: FigureProofBundle
    signed: dict[str, list[SignedRecord]]


def _build(server: LedgerServer) -> Case:
    client = server.ledger_client()
    domain = client.domain()
    worker = build_worker(server.settings())
    m1, m2, m3 = Terminal.create(), Terminal.create(), Terminal.create()
    register(server, ENTERPRISE, [GRID], m1, industry="aluminium")
    for terminal in (m2, m3):
        details = {"sources": [GRID], "metadata": None, "firstSeq": 1}
        answer = sign_registry(
            server, ENTERPRISE, [("device.registered", terminal.address, details)]
        )
        assert answer.status_code == 201, answer.text
    worker.run_once()
    meter1, meter2 = RegisterMeter(1_000_000), RegisterMeter(2_000_000)
    signed = {
        "m1": [
            _metered(m1, domain, meter1, s, JUNE_2025_CST + (s - 1) * HOUR, True)
            for s in range(1, 50)
        ],
        "m2": [
            _metered(m2, domain, meter2, s, JUNE_2025_CST + (s - 2) * HOUR, False)
            for s in range(1, 51)
        ],
        "m3": [
            m3.sign(
                domain,
                grid_record(
                    m3, (ENTERPRISE, GRID), s, JUNE_2025_CST + (s - 1) * HOUR, HOUR, 900 + s
                ),
            )
            for s in range(1, 50)
        ],
    }
    client.submit([r for rs in signed.values() for r in rs[:24]])
    worker.run_once()
    client.submit([r for rs in signed.values() for r in rs[24:]])
    worker.run_once()
    identifier = evaluate(server, enterprise=ENTERPRISE, addedValue="20")
    worker.run_once()
    records = proof_bundle(server, identifier, form="records")
    registers = proof_bundle(server, identifier, form="registers")
    return Case(server, domain, m1, m2, m3, records, registers, signed)


def register_case(
    dev_chain: DevChain, w3: Web3, operator_account: LocalAccount, tmp: Path
) -> Iterator[Case]:
    return on_own_ledger(_build, dev_chain, w3, operator_account, tmp)


def device_of(data: dict[str, Any], terminal: Terminal) -> dict[str, Any]:
    return next(d for d in data["registers"]["devices"] if d["device"] == terminal.address)


# --- the operator's edits, with the failure each must meet -----------------------------------

Change = Callable[[dict[str, Any]], None]


def _lowered_and_rehashed(case: Case) -> Change:
    """A middle reading dropped from the ledger and the last register lowered to match: the
    terminal's signature no longer covers the reading."""

    def change(data: dict[str, Any]) -> None:
        last = device_of(data, case.m2)["last"]["record"]
        attributes = last["attributes"]
        attributes["register"] = str(int(attributes["register"]) - 7_000)
        last["message"]["attributesHash"] = "0x" + attributes_hash(attributes).hex()

    return change


def _lowered(case: Case) -> Change:
    def change(data: dict[str, Any]) -> None:
        last = device_of(data, case.m2)["last"]["record"]["attributes"]
        last["register"] = str(int(last["register"]) - 7_000)

    return change


def _earlier_last(case: Case) -> Change:
    """M1's last reading swapped for the old meter's last (seq 19): a smaller register run."""

    def change(data: dict[str, Any]) -> None:
        m1 = device_of(data, case.m1)
        m1["last"] = m1["changes"][0]["end"]
        m1["changes"] = []

    return change


def _later_first(case: Case) -> Change:
    def change(data: dict[str, Any]) -> None:
        m2 = device_of(data, case.m2)
        m2["first"] = m2["last"]

    return change


def _left_out(case: Case) -> Change:
    def change(data: dict[str, Any]) -> None:
        devices = data["registers"]["devices"]
        data["registers"]["devices"] = [d for d in devices if d["device"] != case.m2.address]

    return change


def _moved(case: Case) -> Change:
    def change(data: dict[str, Any]) -> None:
        last = device_of(data, case.m2)["last"]
        last["batch"] = 1 - last["batch"]

    return change


def _forged_multiproof(data: dict[str, Any]) -> None:
    data["registers"]["batches"][0]["proof"][0] = "0x" + "00" * 32


def _unregistered(case: Case) -> Change:
    def change(data: dict[str, Any]) -> None:
        data["registry"] = [
            e for e in data["registry"] if e["event"].get("subject") != case.m1.address
        ]

    return change


def edits(case: Case) -> dict[str, tuple[Change, tuple[str, str]]]:
    """Each edit of the register bundle, and the (check, failure) it must end at."""
    return {
        "register-lowered-rehashed": (
            _lowered_and_rehashed(case),
            ("records", "RecordSignatureMismatch"),
        ),
        "register-lowered": (_lowered(case), ("records", "RecordAttributesMismatch")),
        "epoch-change-hidden": (
            lambda d: device_of(d, case.m1).update(changes=[]),
            ("completeness", "RegisterEpochHidden"),
        ),
        "earlier-last": (_earlier_last(case), ("completeness", "RegisterEdgeMismatch")),
        "later-first": (_later_first(case), ("completeness", "RegisterEdgeMismatch")),
        # The entry counts M2: with neither records, readings nor evidence of it, the first
        # check to miss it is the terminals'.
        "device-left-out": (_left_out(case), ("authorization", "TerminalNotAuthorised")),
        "before-hidden": (
            lambda d: device_of(d, case.m2).update(before=None),
            ("completeness", "PeriodEdgeUnproven"),
        ),
        "reading-moved": (_moved(case), ("record-inclusion", "RecordNotIncluded")),
        "forged-multiproof": (_forged_multiproof, ("record-inclusion", "MultiproofInvalid")),
        "unregistered": (_unregistered(case), ("authorization", "TerminalNotAuthorised")),
    }

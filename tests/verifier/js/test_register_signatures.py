"""The register readings' signatures in the browser verifier (web-verifier/src/checks/
registers.mjs): it checks them together, one key recovery per device and one randomised
equation over every reading, and checks reading by reading only when that equation fails. On
each signature edit below, at the first reading of a device (the one its key is recovered from)
or at a later one, it must end where ``carbon-verify`` ends, with the same failure name."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest

from anchoring.devchain import DevChain
from tests.verifier.js_runner import assert_agree
from tests.verifier.register_case import Case, device_of, tamper
from verifier.checks.figure import verify_figure
from verifier.protocol.typed_data import SECP256K1_N, ActivityRecord, Domain, sign_record

# The field prime of secp256k1: an r whose r³ + 7 is no square mod P is no point's x.
SECP256K1_P = 2**256 - 2**32 - 977

Change = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def case(register_ledger: Case) -> Case:
    return register_ledger


def _signature(reading: dict[str, Any]) -> bytes:
    return bytes.fromhex(reading["record"]["signature"][2:])


def _set_signature(reading: dict[str, Any], signature: bytes) -> None:
    reading["record"]["signature"] = "0x" + signature.hex()


def _first_signed_by_another_device(case: Case) -> Change:
    """M1's first reading carries M2's first signature: M1's key no longer recovers."""

    def change(data: dict[str, Any]) -> None:
        m2_first = _signature(device_of(data, case.m2)["first"])
        _set_signature(device_of(data, case.m1)["first"], m2_first)

    return change


def _last_signed_by_a_stranger(case: Case) -> Change:
    """M2's last reading, unchanged, validly signed by a key that is not M2's: recovery from
    M2's first reading still gives M2's key, so only the equation over all readings sees it."""

    def change(data: dict[str, Any]) -> None:
        last = device_of(data, case.m2)["last"]
        record = ActivityRecord.from_message(last["record"]["message"])
        domain = Domain(data["domain"]["chainId"], data["domain"]["verifyingContract"])
        _set_signature(last, sign_record(secrets.token_bytes(32), domain, record))

    return change


def _swapped_within_device(case: Case) -> Change:
    """M2's first and last signatures swapped: both M2's, each over the other's reading."""

    def change(data: dict[str, Any]) -> None:
        m2 = device_of(data, case.m2)
        first, last = _signature(m2["first"]), _signature(m2["last"])
        _set_signature(m2["first"], last)
        _set_signature(m2["last"], first)

    return change


def _high_s(case: Case) -> Change:
    """The end of M1's old meter signed with s' = N − s and the other parity: the same
    signer, in the malleable form the protocol refuses."""

    def change(data: dict[str, Any]) -> None:
        end = device_of(data, case.m1)["changes"][0]["end"]
        signature = _signature(end)
        s = int.from_bytes(signature[32:64], "big")
        v = 27 + 28 - signature[64]
        flipped = signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([v])
        _set_signature(end, flipped)

    return change


def _no_point(case: Case) -> Change:
    """M2's last reading with an r that is no point's x: no key recovers."""
    r = next(x for x in range(1, 100) if pow(x**3 + 7, (SECP256K1_P - 1) // 2, SECP256K1_P) != 1)

    def change(data: dict[str, Any]) -> None:
        last = device_of(data, case.m2)["last"]
        signature = _signature(last)
        _set_signature(last, r.to_bytes(32, "big") + signature[32:])

    return change


def test_signature_edits_end_as_in_carbon_verify(case: Case, dev_chain: DevChain) -> None:
    edits = {
        "first-signed-by-another-device": _first_signed_by_another_device(case),
        "last-signed-by-a-stranger": _last_signed_by_a_stranger(case),
        "swapped-within-device": _swapped_within_device(case),
        "high-s": _high_s(case),
        "no-point": _no_point(case),
    }
    cases: list[tuple[str, Any, bool]] = [("registers", case.registers, False)]
    cases += [(name, tamper(case.registers, change), False) for name, change in edits.items()]
    expected = assert_agree("figure", cases, verify_figure, dev_chain.rpc_url)
    assert expected["registers"][0]
    ends = {name: expected[name][1:3] for name in edits}
    assert ends == {
        "first-signed-by-another-device": ("records", "RecordSignatureMismatch"),
        "last-signed-by-a-stranger": ("records", "RecordSignatureMismatch"),
        "swapped-within-device": ("records", "RecordSignatureMismatch"),
        "high-s": ("records", "RecordSignatureMalleable"),
        "no-point": ("records", "RecordSignatureMalformed"),
    }

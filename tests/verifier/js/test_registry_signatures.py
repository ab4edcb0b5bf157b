"""The enterprise's signed registry chain in the browser verifier (web-verifier/src/checks/
registry.mjs): its changes' signatures are checked together, one key recovery per signer key and
one randomised equation over every change, and change by change only when that equation fails.
A real bundle's chain is re-signed with a hundred more changes, with and without a rotation of
the enterprise's key; on it and on each signature edit below, at the first change of a key (the
one its key is recovered from) or at a later one, the browser must end where ``carbon-verify``
ends, with the same check and failure name."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import coincurve
import pytest

from anchoring.devchain import DevChain
from devtools.seeding import enterprise_secret
from tests.verifier.js_runner import assert_agree
from tests.verifier.record_bundle_factory import address_of, new_key
from tests.verifier.register_case import ENTERPRISE, Case, tamper
from verifier.checks.figure import verify_figure
from verifier.protocol.events import REGISTRY_CHECKPOINT, SIGNER_SET
from verifier.protocol.registry_ops import (
    RegistryOperation,
    event_digest,
    operation_of_event,
    sign_registry_operation,
    signed_event,
)
from verifier.protocol.typed_data import SECP256K1_N, Domain

# The field prime of secp256k1: an r whose r³ + 7 is no square mod P is no point's x.
SECP256K1_P = 2**256 - 2**32 - 977
CHECKPOINTS = 100
Key = bytes | coincurve.PrivateKey
Change = Callable[[dict[str, Any]], None]


@pytest.fixture(scope="module")
def case(register_ledger: Case) -> Case:
    return register_ledger


def _operations(data: dict[str, Any], rotate_to: str | None) -> list[RegistryOperation]:
    """The chain's own changes, then CHECKPOINTS checkpoints; with ``rotate_to``, the
    enterprise's key is set to that address half way through the checkpoints."""
    ops = [operation_of_event(proof["event"])[0] for proof in data["registry"][1:]]
    last = ops[-1]
    checkpoint = replace(last, action=REGISTRY_CHECKPOINT, subject=ENTERPRISE, details="{}")
    ops += [checkpoint] * CHECKPOINTS
    if rotate_to is not None:
        rotation = replace(last, action=SIGNER_SET, subject=ENTERPRISE)
        ops.insert(
            len(ops) - CHECKPOINTS // 2, replace(rotation, details=f'{{"signer":"{rotate_to}"}}')
        )
    return ops


ROTATED_KEY = new_key()


def _resigned(rotate_to: str | None = None) -> Change:
    """Replace the chain's changes with :func:`_operations`, each linked to the one before and
    signed by the key in force: the enterprise's, then ROTATED_KEY after a rotation. Each
    change keeps a copy of an anchored proof, so the chain then fails ``registry-chain``, after
    the signatures."""

    def change(data: dict[str, Any]) -> None:
        domain = _domain(data)
        proofs = data["registry"]
        key: Key = enterprise_secret(ENTERPRISE)
        prev, chain = event_digest(proofs[0]["event"]), [proofs[0]]
        for k, op in enumerate(_operations(data, rotate_to), start=1):
            op = replace(op, index=k, prev=prev)
            event = signed_event(op, sign_registry_operation(key, domain, op))
            chain.append({**copy.deepcopy(proofs[min(k, len(proofs) - 1)]), "event": event})
            prev = event_digest(event)
            key = ROTATED_KEY if op.action == SIGNER_SET else key
        data["registry"] = chain

    return change


def _domain(data: dict[str, Any]) -> Domain:
    return Domain(data["domain"]["chainId"], data["domain"]["verifyingContract"])


def _signed_by(key: Key, at: Callable[[list[dict[str, Any]]], int]) -> Change:
    """The change at index ``at(chain)`` signed by ``key`` instead, as it is."""

    def change(data: dict[str, Any]) -> None:
        event = data["registry"][at(data["registry"])]["event"]
        op, _ = operation_of_event(event)
        event["signature"] = "0x" + sign_registry_operation(key, _domain(data), op).hex()

    return change


def _after_rotation(n: int) -> Callable[[list[dict[str, Any]]], int]:
    return lambda chain: (
        n + next(k for k, p in enumerate(chain) if p["event"]["type"] == SIGNER_SET)
    )


def _then(*changes: Change) -> Change:
    def change(data: dict[str, Any]) -> None:
        for each in changes:
            each(data)

    return change


def _signature(data: dict[str, Any], k: int) -> bytes:
    return bytes.fromhex(data["registry"][k]["event"]["signature"][2:])


def _set_signature(data: dict[str, Any], k: int, signature: bytes) -> None:
    data["registry"][k]["event"]["signature"] = "0x" + signature.hex()


def _swapped(data: dict[str, Any]) -> None:
    """Two changes' signatures swapped: both the enterprise's, each over the other change."""
    third, fourth = _signature(data, 3), _signature(data, 4)
    _set_signature(data, 3, fourth)
    _set_signature(data, 4, third)


def _high_s(data: dict[str, Any]) -> None:
    """A middle change signed with s' = N − s and the other parity: the same signer, in the
    malleable form the protocol refuses."""
    signature = _signature(data, 40)
    s = int.from_bytes(signature[32:64], "big")
    flipped = signature[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - signature[64]])
    _set_signature(data, 40, flipped)


def _no_point(data: dict[str, Any]) -> None:
    """A late change with an r that is no point's x: no key recovers."""
    r = next(x for x in range(1, 100) if pow(x**3 + 7, (SECP256K1_P - 1) // 2, SECP256K1_P) != 1)
    _set_signature(data, 90, r.to_bytes(32, "big") + _signature(data, 90)[32:])


def test_registry_signature_edits_end_as_in_carbon_verify(case: Case, dev_chain: DevChain) -> None:
    rotated = address_of(ROTATED_KEY)
    stranger = new_key()
    old_key = enterprise_secret(ENTERPRISE)
    edits: dict[str, Change] = {
        "resigned": _resigned(),
        "rotated": _resigned(rotated),
        "rotated-lower-case": _resigned(rotated.lower()),
        "old-key-after-rotation": _then(
            _resigned(rotated), _signed_by(old_key, _after_rotation(7))
        ),
        "stranger-first": _then(_resigned(), _signed_by(stranger, lambda _: 1)),
        "stranger-last": _then(
            _resigned(rotated), _signed_by(stranger, lambda chain: len(chain) - 1)
        ),
        "swapped": _then(_resigned(), _swapped),
        "high-s": _then(_resigned(rotated), _high_s),
        "no-point": _then(_resigned(rotated), _no_point),
    }
    cases: list[tuple[str, Any, bool]] = [("records", case.records, False)]
    cases += [(name, tamper(case.records, change), False) for name, change in edits.items()]
    expected = assert_agree("figure", cases, verify_figure, dev_chain.rpc_url)
    assert expected["records"][0]
    ends = {name: expected[name][1:3] for name in edits}
    signed = ("registry-chain", "RegistryEventInvalid")  # the re-signed events were not anchored
    invalid = ("registry-signatures", "RegistrySignatureInvalid")
    assert ends == {
        "resigned": signed,
        "rotated": signed,
        "rotated-lower-case": invalid,
        "old-key-after-rotation": invalid,
        "stranger-first": invalid,
        "stranger-last": invalid,
        "swapped": invalid,
        "high-s": invalid,
        "no-point": invalid,
    }

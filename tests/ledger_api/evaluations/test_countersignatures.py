"""A third-party verifier countersigns an added-value declaration (issue 14, item B).

An admin or regulator names the countersigner's key (an anchored event); the countersigner
signs ``DeclarationCountersignature`` over the declaration's EIP-712 digest; the ledger stores
it, the API answer and the report say "declared by the enterprise and verified by …", and
``carbon-verify figure`` checks it at ``inputs``. The operator who writes a countersignature by
a key nobody named, or moves one onto another declaration, fails ``inputs`` with a named code.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import coincurve
from sqlmodel import Session

from devtools.declarations import declare_added_value
from devtools.seeding import enterprise_key
from ledger_api.core.db import make_engine
from ledger_api.registry.events import record_event
from tests.conftest import LedgerServer
from tests.ledger_api.evaluations.added_value import (
    DAYS,
    DECLARED,
    evaluate_days,
    inputs_check,
    report_html,
    verified,
)
from tests.ledger_api.evaluations.adversary import ENTERPRISE, proof
from tests.verifier.figure_case import tamper
from tests.verifier.js_runner import assert_agree
from tests.verifier.record_bundle_factory import address_of, new_key
from verifier.checks.figure import verify_figure
from verifier.checks.kernel import CheckStatus
from verifier.protocol.declarations import (
    ADDED_VALUE_COUNTERSIGNED,
    AddedValueDeclaration,
    declaration_digest,
    sign_countersignature,
)

NAME = "Acme Verification"


def _declare(ledger: LedgerServer, period: tuple[date, date] = DAYS) -> tuple[str, bytes]:
    """The enterprise declares; the declaration's event digest and its EIP-712 digest."""
    domain = ledger.ledger_client().domain()
    with ledger.client() as http:
        answer = declare_added_value(
            http, domain, enterprise_key(ENTERPRISE), ENTERPRISE, period, DECLARED, 1_750_000_000
        )
    assert answer.status_code == 201, answer.text
    declaration = AddedValueDeclaration.of(ENTERPRISE, *period, DECLARED, 1_750_000_000)
    return answer.json()["event"], declaration_digest(domain, declaration)


def _name(ledger: LedgerServer, key: coincurve.PrivateKey, name: str = NAME) -> None:
    with ledger.client() as http:  # the admin key: an overseer names it
        answer = http.put(f"/v1/countersigners/{name}", json={"address": address_of(key)})
    assert answer.status_code == 201, answer.text


def _signature(ledger: LedgerServer, key: coincurve.PrivateKey, signed: bytes) -> str:
    domain = ledger.ledger_client().domain()
    return "0x" + sign_countersignature(key, domain, signed, NAME).hex()


def _countersign(ledger: LedgerServer, event: str, signature: str, name: str = NAME) -> Any:
    body = {"countersigner": name, "signature": signature}
    return ledger.post(f"/v1/added-value-declarations/{event}/countersignatures", json=body)


def _operator_writes(ledger: LedgerServer, **fields: Any) -> None:
    """The operator records a countersignature event with the ledger's own code, unchecked."""
    with Session(make_engine(ledger.settings().effective_database_url)) as db:
        record_event(db, ADDED_VALUE_COUNTERSIGNED, ENTERPRISE, **fields)
        db.commit()


def _js_agrees(ledger: LedgerServer, identifier: str) -> None:
    """The browser verifier gives the same verdict, online and with a retouched event."""
    bundle = proof(ledger, identifier)

    def retouched(data: dict[str, Any]) -> None:
        data["inputs"]["countersignatures"][0]["countersignature"]["event"]["countersigner"] = "X"

    cases = [("as-served", bundle, True), ("retouched", tamper(bundle, retouched), False)]
    assert_agree("figure", cases, verify_figure, ledger.env["CARBON_RPC_URL"])


def test_an_honest_countersignature_is_shown_and_verified(two_days: LedgerServer) -> None:
    event, signed = _declare(two_days)
    key = new_key()
    _name(two_days, key)
    stored = _countersign(two_days, event, _signature(two_days, key, signed))
    assert stored.status_code == 201, stored.text
    assert stored.json()["signer"] == address_of(key)
    again = _countersign(two_days, event, _signature(two_days, key, signed))
    assert again.status_code == 200 and again.json()["event"] == stored.json()["event"]
    made = evaluate_days(two_days)
    assert made.status_code == 201, made.text
    shown = f"verified by {NAME} ({address_of(key)})"
    assert shown in made.json()["addedValueAttestation"]["label"]
    report = report_html(two_days, made.json()["identifier"])
    assert shown in report and "企业签名声明，经第三方核验" in report
    result = verified(two_days, made.json()["identifier"])
    assert result.valid, result.failure
    status, detail = inputs_check(result)
    assert status is CheckStatus.PASSED and shown in detail
    _js_agrees(two_days, made.json()["identifier"])


def test_the_api_refuses_an_unnamed_or_wrong_key(two_days: LedgerServer) -> None:
    event, signed = _declare(two_days)
    key = new_key()
    unnamed = _countersign(two_days, event, _signature(two_days, key, signed))
    error = unnamed.json()["error"]
    assert (unnamed.status_code, error["code"], error["field"]) == (
        422,
        "countersigner_unregistered",
        "countersigner",
    )
    _name(two_days, key)
    stranger = _countersign(two_days, event, _signature(two_days, new_key(), signed))
    error = stranger.json()["error"]
    assert (stranger.status_code, error["code"], error["field"]) == (
        422,
        "countersignature_signer_mismatch",
        "signature",
    )


def test_a_countersignature_by_an_unregistered_key_fails_inputs(
    two_days: LedgerServer,
) -> None:
    event, signed = _declare(two_days)
    _name(two_days, new_key())  # the countersigner's real key
    stranger = new_key()  # the operator's: named nowhere
    _operator_writes(
        two_days,
        declaration=event,
        declarationDigest="0x" + signed.hex(),
        countersigner=NAME,
        signer=address_of(stranger),
        signature=_signature(two_days, stranger, signed),
    )
    made = evaluate_days(two_days)
    assert made.status_code == 201, made.text
    result = verified(two_days, made.json()["identifier"])
    assert (result.failed_check, result.failure and result.failure.code) == (
        "inputs",
        "CountersignerUnregistered",
    )
    assert address_of(stranger) in result.failure.reason  # type: ignore[union-attr]
    _js_agrees(two_days, made.json()["identifier"])


def test_a_countersignature_of_another_declaration_fails_inputs(
    two_days: LedgerServer,
) -> None:
    other_event, other_signed = _declare(two_days, (date(2025, 5, 1), date(2025, 5, 2)))
    key = new_key()
    _name(two_days, key)
    signature = _signature(two_days, key, other_signed)
    assert _countersign(two_days, other_event, signature).status_code == 201
    event, _ = _declare(two_days)
    # The operator moves the May countersignature onto the June declaration.
    _operator_writes(
        two_days,
        declaration=event,
        declarationDigest="0x" + other_signed.hex(),
        countersigner=NAME,
        signer=address_of(key),
        signature=signature,
    )
    made = evaluate_days(two_days)
    assert made.status_code == 201, made.text
    result = verified(two_days, made.json()["identifier"])
    assert (result.failed_check, result.failure and result.failure.code) == (
        "inputs",
        "CountersignatureMismatch",
    )
    _js_agrees(two_days, made.json()["identifier"])

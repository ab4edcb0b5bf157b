"""The added value (万元) as the attacker sees it: the one grading input no record proves.

The enterprise signs it (an EIP-712 declaration with its registered key); the ledger grades
with it and names it in the anchored entry; ``carbon-verify figure`` checks it at ``inputs``.
The operator who edits the figure or the declaration in its database, and a key that is not
the enterprise's, must each be caught by a named check or refused with a named code.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import rfc8785
from sqlalchemy import text

from accounting.grading import grade, load_ruleset
from devtools.declarations import declare_added_value
from devtools.seeding import enterprise_key
from terminal.client import Terminal
from tests.conftest import LedgerServer
from tests.ledger_api.evaluations.added_value import (
    DAYS,
    DECLARED,
    evaluate_days,
    inputs_check,
    report_html,
    verified,
)
from tests.ledger_api.evaluations.adversary import ENTERPRISE, rewrite_entry
from verifier.checks.kernel import CheckStatus
from verifier.protocol.keccak import keccak256
from verifier.protocol.leaves import LeafKind, leaf_hash


def _declare(
    ledger: LedgerServer, key: Terminal, value: Decimal = DECLARED, at: int | None = None
) -> Any:
    with ledger.client() as http:
        domain = ledger.ledger_client().domain()
        return declare_added_value(http, domain, key, ENTERPRISE, DAYS, value, at)


def test_a_declared_added_value_is_attested_end_to_end(two_days: LedgerServer) -> None:
    signed_at = int(time.time())
    declared = _declare(two_days, enterprise_key(ENTERPRISE), at=signed_at)
    assert declared.status_code == 201, declared.text
    time.sleep(1.1)  # the same signed declaration re-posted a second later: not a second event
    again = _declare(two_days, enterprise_key(ENTERPRISE), at=signed_at)
    assert again.status_code in (200, 201)
    made = evaluate_days(two_days)  # no addedValue: the declared one is used
    assert made.status_code == 201, made.text
    entry = made.json()["entry"]
    assert Decimal(entry["rating"]["added_value_wan_yuan"]) == DECLARED
    assert entry["inputs"] == {"addedValue": {"declaration": declared.json()["event"]}}
    assert made.json()["addedValueAttestation"]["status"] == "declared"
    assert "declared by the enterprise" in report_html(two_days, made.json()["identifier"])
    result = verified(two_days, made.json()["identifier"])
    assert result.valid, result.failure
    status, detail = inputs_check(result)
    assert status is CheckStatus.PASSED and "declared by" in detail
    assert result.to_json()["warnings"] == []


def test_an_undeclared_added_value_is_flagged_not_silently_valid(two_days: LedgerServer) -> None:
    made = evaluate_days(two_days, addedValue="20")
    assert made.status_code == 201, made.text
    assert made.json()["entry"]["inputs"] == {"addedValue": None}
    assert made.json()["addedValueAttestation"]["status"] == "not_attested"
    assert "added value not attested" in report_html(two_days, made.json()["identifier"])
    result = verified(two_days, made.json()["identifier"])
    assert result.valid, result.failure
    status, detail = inputs_check(result)
    assert status is CheckStatus.WARNING and "NOT attested" in detail
    assert result.to_json()["warnings"] == [detail]


def test_another_figure_than_the_declared_one_is_refused(two_days: LedgerServer) -> None:
    assert _declare(two_days, enterprise_key(ENTERPRISE)).status_code == 201
    refused = evaluate_days(two_days, addedValue="40")
    error = refused.json()["error"]
    assert (refused.status_code, error["code"], error["field"]) == (
        422,
        "added_value_not_declared",
        "addedValue",
    )


def test_a_declaration_signed_by_a_stranger_key_is_refused(two_days: LedgerServer) -> None:
    refused = _declare(two_days, Terminal.create())
    error = refused.json()["error"]
    assert (refused.status_code, error["code"], error["field"]) == (
        422,
        "declaration_signer_mismatch",
        "signature",
    )


def _regrade(entry: dict[str, Any], added_value: Decimal) -> None:
    """What an operator re-running the ledger's own grading would write: L, K and the grade
    consistent with the forged figure, so only the declaration can tell."""
    emissions = Decimal(entry["rating"]["emissions_t"])
    ruleset = load_ruleset("zj-huzhou-2021")
    entry["rating"] = grade(emissions, added_value, "aluminium", 2025, ruleset).to_dict()


def test_a_consistent_forged_added_value_fails_inputs(two_days: LedgerServer) -> None:
    assert _declare(two_days, enterprise_key(ENTERPRISE)).status_code == 201
    identifier = evaluate_days(two_days).json()["identifier"]
    rewrite_entry(two_days, identifier, lambda entry: _regrade(entry, DECLARED * 2))
    result = verified(two_days, identifier)
    assert result.failed_check == "inputs" and result.failure is not None
    assert result.failure.code == "AddedValueMismatch"


def test_a_declaration_rewritten_in_the_database_fails_inputs(two_days: LedgerServer) -> None:
    """The operator rewrites the stored declaration's figure (and its event digest and leaf,
    before anchoring): the enterprise's signature no longer covers it."""
    declared = _declare(two_days, enterprise_key(ENTERPRISE)).json()["event"]
    [(body, old_leaf)] = two_days.sql(
        "SELECT body, leaf_hash FROM registry_event WHERE digest = :digest", digest=declared
    )
    event = json.loads(body)
    event["declaration"]["addedValue"] = str(int(event["declaration"]["addedValue"]) * 2)
    canonical = rfc8785.dumps(event)
    digest = "0x" + keccak256(canonical).hex()
    hashed = "0x" + leaf_hash(LeafKind.REGISTRY_EVENT, keccak256(canonical), bytes(32)).hex()
    with two_days.tampering() as db:
        db.execute(
            text("UPDATE leaf SET digest = :digest, hash = :hash WHERE hash = :old"),
            {"digest": digest, "hash": hashed, "old": old_leaf},
        )
        db.execute(
            text(
                "UPDATE registry_event SET body = :body, digest = :digest, leaf_hash = :hash "
                "WHERE digest = :old"
            ),
            {"body": canonical.decode(), "digest": digest, "hash": hashed, "old": declared},
        )
    made = evaluate_days(two_days)
    assert made.status_code == 201, made.text
    assert Decimal(made.json()["entry"]["rating"]["added_value_wan_yuan"]) == DECLARED * 2
    result = verified(two_days, made.json()["identifier"])
    assert result.failed_check == "inputs" and result.failure is not None
    assert result.failure.code == "DeclarationSignerMismatch"

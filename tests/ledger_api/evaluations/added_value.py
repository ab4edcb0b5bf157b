"""What the added-value declaration and countersignature tests share: the adversary's
enterprise evaluated over 2025-06-01..02 with a declared figure, its report, and what the
``inputs`` check says of it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from tests.conftest import LedgerServer
from tests.ledger_api.evaluations.adversary import ENTERPRISE, anchor, proof, verify
from verifier.checks.kernel import CheckStatus, VerificationResult

DAYS = (date(2025, 6, 1), date(2025, 6, 2))
BODY = {"periodStart": "2025-06-01", "periodEnd": "2025-06-02", "ruleset": "zj-huzhou-2021"}
DECLARED = Decimal("20.5")


def evaluate_days(ledger: LedgerServer, **more: str) -> Any:
    """The evaluation request's answer, whatever its status."""
    return ledger.post("/v1/evaluations", json={**BODY, "enterprise": ENTERPRISE, **more})


def verified(ledger: LedgerServer, identifier: str) -> VerificationResult:
    """The evaluation's total verified against the chain, once its entry is anchored."""
    anchor(ledger)
    return verify(ledger, proof(ledger, identifier))


def report_html(ledger: LedgerServer, identifier: str) -> str:
    response = ledger.get(f"/v1/evaluations/{identifier}/report")
    assert response.status_code == 200, response.text
    return response.text


def inputs_check(result: VerificationResult) -> tuple[CheckStatus, str]:
    (check,) = [c for c in result.checks if c.name == "inputs"]
    return check.status, check.detail

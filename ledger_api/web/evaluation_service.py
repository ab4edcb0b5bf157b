"""What the enterprise's evaluation pages do: run an evaluation from the portal's form, show one
evaluation with its publication, and store a publication statement signed in the browser."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session

from ledger_api.access.deps import Caller, Role, enterprise_for
from ledger_api.core.config import Settings
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import Evaluation
from ledger_api.evaluations.publication import SignedStatement, publication_state, set_published
from ledger_api.evaluations.queries import evaluation_out, visible_evaluation
from ledger_api.evaluations.request import EvaluationRequest
from ledger_api.evaluations.schemas import EvaluationOut
from ledger_api.evaluations.service import evaluate
from verifier.protocol.typed_data import Domain

#: The evaluation form's fields: what POST /v1/evaluations takes for a period's evaluation.
FIELDS = ("periodStart", "periodEnd", "addedValue", "ruleset")


@dataclass(frozen=True)
class EvaluationPage:
    evaluation: EvaluationOut
    publication: dict[str, Any]
    chain_id: int
    contract: str


def _enterprise_caller(caller: Caller) -> str:
    """Only an enterprise runs and publishes its own evaluations from the portal."""
    if caller.role != Role.ENTERPRISE or caller.enterprise is None:
        raise not_found("page", "evaluation")
    return caller.enterprise


def _date(form: dict[str, str], field: str) -> date:
    try:
        return date.fromisoformat(form.get(field, ""))
    except ValueError:
        raise ApiError(422, "invalid_date", f"{field} must be a date YYYY-MM-DD", field) from None


def _decimal(form: dict[str, str], field: str) -> Decimal | None:
    text = form.get(field, "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ApiError(422, "invalid_decimal", f"{field} must be a decimal number", field) from None
    if not value.is_finite() or value <= 0:
        raise ApiError(422, "invalid_decimal", f"{field} must be positive", field)
    return value


def run_evaluation(
    session: Session, settings: Settings, caller: Caller, form: dict[str, str]
) -> Evaluation:
    """Evaluate the signed-in enterprise's period as POST /v1/evaluations does."""
    identifier = _enterprise_caller(caller)
    enterprise = enterprise_for(session, caller, identifier, write=True)
    start, end = _date(form, "periodStart"), _date(form, "periodEnd")
    if end < start:
        raise ApiError(422, "period_reversed", "periodEnd is before periodStart", "periodEnd")
    request = EvaluationRequest(
        enterprise=enterprise.identifier,
        period_start=start,
        period_end=end,
        added_value=_decimal(form, "addedValue"),
        ruleset_id=form.get("ruleset", "").strip() or None,
    )
    return evaluate(
        session,
        request,
        settings.identifier_prefix,
        settings.reporting_utc_offset_h,
        settings.population_min_members,
    )


def evaluation_page(
    session: Session, domain: Domain, caller: Caller, identifier: str
) -> EvaluationPage:
    _enterprise_caller(caller)
    row = visible_evaluation(session, caller, identifier)
    return EvaluationPage(
        evaluation=evaluation_out(session, row),
        publication=publication_state(session, caller, identifier),
        chain_id=domain.chain_id,
        contract=domain.verifying_contract,
    )


def publish_signed(session: Session, domain: Domain, caller: Caller, form: dict[str, str]) -> str:
    """Store the statement the browser signed; returns the evaluation's identifier."""
    _enterprise_caller(caller)
    identifier, action = form.get("evaluation", ""), form.get("action", "")
    if action not in ("publish", "withdraw"):
        raise ApiError(422, "invalid_publication", "action is publish or withdraw", "action")
    try:
        message = json.loads(form.get("publication", ""))
    except ValueError:
        raise ApiError(422, "invalid_publication", "not JSON", "publication") from None
    signature = form.get("signature", "")
    if not isinstance(message, dict) or not signature.startswith("0x") or len(signature) != 132:
        raise ApiError(422, "invalid_publication", "a signed statement is needed", "signature")
    statement = SignedStatement(message, signature)
    set_published(session, domain, caller, identifier, action == "publish", statement)
    return identifier

"""Grading an evaluated period: the ruleset, the industry average and the 碳效 rating."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from accounting.errors import MissingAddedValueError
from accounting.grading import (
    IndustryAverage,
    Ruleset,
    grade,
    industry_average_from_population,
    load_ruleset,
    ruleset_for,
)
from ledger_api.core.models import Enterprise, Evaluation
from ledger_api.evaluations.request import EvaluationRequest


def choose_ruleset(request: EvaluationRequest, region: str | None) -> Ruleset:
    """The named ruleset, else the one in force for the enterprise's region and year."""
    if request.ruleset_id:
        return load_ruleset(request.ruleset_id)
    return ruleset_for(region or "", request.period_start.year)


def population(
    session: Session, enterprise: Enterprise, request: EvaluationRequest
) -> list[tuple[Decimal, Decimal]]:
    """(emissions, added value) of the industry's other firms for the same period: the latest
    evaluation of each, so re-evaluations do not count twice."""
    query = (
        select(Evaluation.enterprise_id, Evaluation.entry)
        .join(Enterprise, Enterprise.id == Evaluation.enterprise_id)
        .where(
            Enterprise.industry == enterprise.industry,
            Evaluation.enterprise_id != enterprise.id,
            Evaluation.period_start == request.period_start.isoformat(),
            Evaluation.period_end == request.period_end.isoformat(),
        )
        .order_by(Evaluation.id)
    )
    latest: dict[int, tuple[Decimal, Decimal]] = {}
    for enterprise_id, text in session.execute(query):
        entry = json.loads(text)
        if entry.get("rating"):
            latest[enterprise_id] = (
                Decimal(entry["accounting"]["figures"]["exact"]["total"]),
                Decimal(entry["rating"]["added_value_wan_yuan"]),
            )
    return list(latest.values())


def rate(
    session: Session, enterprise: Enterprise, request: EvaluationRequest, total: Decimal
) -> dict[str, Any]:
    """The rating block of an evaluation entry (grading's own JSON form)."""
    year = request.period_start.year
    ruleset = choose_ruleset(request, enterprise.region)
    average: IndustryAverage | None = None
    if request.average_source == "population":
        if request.added_value is None:
            raise MissingAddedValueError(
                "added value of the period is required", field="addedValue"
            )
        members = population(session, enterprise, request)
        members.append((total, request.added_value))
        average = industry_average_from_population(enterprise.industry, year, members)
    rating = grade(
        total,
        request.added_value,
        enterprise.industry,
        year,
        ruleset,
        industry_average=average,
        product_output_t=request.product_output,
    )
    return rating.to_dict()


def ruleset_document(ruleset_id: str) -> dict[str, Any]:
    return dict(load_ruleset(ruleset_id).document)

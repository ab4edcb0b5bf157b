"""Whether a period can be graded, and how far the grade can be relied on.

A region no ruleset covers, or a ruleset without an average for the industry and year, is a
fact about the published data, not a caller's mistake: the evaluation is stored with its
emissions and L, no grade, and the reason (``grading.status = "not_gradable"``). A ruleset the
caller named that cannot grade the firm stays a 422. A grade resting on a placeholder value
(an illustrative industry average) is stored as ``"indicative"``, with the reasons.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlmodel import Session

from accounting.errors import RulesetNotApplicableError, UnknownIndustryAverageError
from accounting.grading import indicative_reasons, load_ruleset, ungraded
from ledger_api.core.models import Enterprise
from ledger_api.evaluations.period_rating import rate
from ledger_api.evaluations.request import EvaluationRequest

NOT_GRADABLE = {
    "region": (
        "no_ruleset_for_region",
        "not gradable: no published average for this industry and region",
    ),
    "industry": (
        "no_average_for_industry",
        "not gradable: no published average for this industry in this region and year",
    ),
    "year": (
        "no_average_for_year",
        "not gradable: no published average for this industry and region in this year",
    ),
}


def rate_or_explain(
    session: Session,
    enterprise: Enterprise,
    request: EvaluationRequest,
    total: Decimal,
    min_peers: int,
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The entry's ``rating`` (None when not gradable) and its ``grading`` block."""
    selection = "named" if request.ruleset_id else "region"
    try:
        rating = rate(session, enterprise, request, total, min_peers)
    except (RulesetNotApplicableError, UnknownIndustryAverageError) as exc:
        if request.ruleset_id:
            raise  # the caller asked for this ruleset: their request cannot be honoured
        # An average missing for the year of a covered industry is a gap in time, not place.
        key = "year" if isinstance(exc, UnknownIndustryAverageError) else exc.field or ""
        code, reason = NOT_GRADABLE.get(key, NOT_GRADABLE["region"])
        return None, {
            "status": "not_gradable",
            "code": code,
            "reason": reason,
            "detail": exc.message,
            "region": enterprise.region,
            "rulesetSelection": selection,
            "indicativeReasons": [],
            **ungraded(total, request.added_value),
        }
    reasons = indicative_reasons(rating, load_ruleset(rating["ruleset"]["id"]))
    return rating, {
        "status": "indicative" if reasons else "graded",
        "code": None,
        "reason": None,
        "region": enterprise.region,
        "rulesetSelection": selection,
        "indicativeReasons": list(reasons),
    }


def grading_of(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The entry's grading block; for an entry made before it was recorded, derived from its
    rating and ruleset (None for an old entry with no rating)."""
    if entry.get("grading"):
        return entry["grading"]
    rating = entry.get("rating")
    if not rating:
        return None
    reasons = indicative_reasons(rating, load_ruleset(rating["ruleset"]["id"]))
    return {
        "status": "indicative" if reasons else "graded",
        "code": None,
        "reason": None,
        "region": entry.get("region"),
        "rulesetSelection": None,
        "indicativeReasons": list(reasons),
    }

"""Aggregates across all enterprises, for regulators: ratings and emissions by industry."""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from ledger_api.access.deps import Overseer
from ledger_api.core.deps import SessionDep
from ledger_api.core.models import Enterprise, Evaluation

router = APIRouter(tags=["aggregates"])


@router.get("/aggregates/ratings")
def ratings_by_industry(
    session: SessionDep,
    _: Overseer,
    year: int | None = Query(None, ge=2000, le=2100, description="Periods starting that year."),
) -> list[dict[str, Any]]:
    """Per industry: evaluations, how many got each grade, and their summed reported total."""
    query = select(Enterprise.industry, Evaluation.grade, Evaluation.total).join(
        Enterprise, Enterprise.id == Evaluation.enterprise_id
    )
    if year is not None:
        query = query.where(Evaluation.period_start.startswith(f"{year}-"))  # type: ignore[attr-defined]
    grades: dict[str, Counter[str]] = defaultdict(Counter)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for industry, grade, total in session.execute(query):
        grades[industry][str(grade) if grade is not None else "none"] += 1
        totals[industry] += Decimal(total)
    return [
        {
            "industry": industry,
            "evaluations": sum(grades[industry].values()),
            "grades": dict(sorted(grades[industry].items())),
            "totalTCO2e": str(totals[industry]),
        }
        for industry in sorted(grades)
    ]

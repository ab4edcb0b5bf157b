"""Aggregates across all enterprises, for regulators: ratings and emissions by industry."""

from __future__ import annotations

from fastapi import APIRouter, Query

from ledger_api.access.deps import Overseer
from ledger_api.core.deps import Context, SessionDep
from ledger_api.financier import service
from ledger_api.financier.schemas import IndustryRatings

router = APIRouter(prefix="/v1/aggregates", tags=["aggregates"])


@router.get("/ratings", response_model=list[IndustryRatings])
def ratings_by_industry(
    session: SessionDep,
    context: Context,
    _: Overseer,
    year: int | None = Query(None, ge=2000, le=2100, description="Periods starting that year."),
) -> list[IndustryRatings]:
    """Per industry: evaluations, how many got each grade, and their summed reported total;
    the last two withheld below the minimum cell size (``suppressed``)."""
    minimum = context.settings.population_min_members
    return service.ratings_by_industry(session, year, minimum)

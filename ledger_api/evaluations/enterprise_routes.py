"""An enterprise's evaluation history: its ratings and its reported figures by period."""

from __future__ import annotations

from fastapi import APIRouter

from ledger_api.access.deps import Reader
from ledger_api.core.deps import SessionDep
from ledger_api.core.paths import IDENTIFIER
from ledger_api.evaluations.queries import figure_history, rating_history
from ledger_api.evaluations.schemas import PeriodRowOut

router = APIRouter(prefix=f"/v1/enterprises/{IDENTIFIER}", tags=["evaluations"])


@router.get("/ratings", response_model=list[PeriodRowOut])
def get_ratings(identifier: str, session: SessionDep, caller: Reader) -> list[PeriodRowOut]:
    """The enterprise's rating history, oldest first."""
    return rating_history(session, caller, identifier)


@router.get("/figures", response_model=list[PeriodRowOut])
def get_figures(identifier: str, session: SessionDep, caller: Reader) -> list[PeriodRowOut]:
    """The enterprise's reported figures by period (every evaluation, oldest first)."""
    return figure_history(session, caller, identifier)

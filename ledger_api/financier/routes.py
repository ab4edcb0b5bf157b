"""The financier's view: a portfolio of consenting enterprises, and one enterprise's profile —
ratings and their history, the emissions trend, asset balances and retirements — every
figure with the link to its proof. Financiers see only enterprises that granted them access;
regulators and admins see all.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ledger_api.access.deps import Lender, Reader, enterprise_for
from ledger_api.core.deps import SessionDep
from ledger_api.core.paths import IDENTIFIER
from ledger_api.financier.csv_export import to_csv
from ledger_api.financier.schemas import PortfolioOut, PortfolioRow, ProfileOut
from ledger_api.financier.service import portfolio, profile_of

router = APIRouter(prefix="/v1", tags=["financier"])

CSV_COLUMNS = (
    "enterprise",
    "name",
    "industry",
    "region",
    "periodStart",
    "periodEnd",
    "grade",
    "K",
    "totalTCO2e",
    "heldTCO2e",
    "retiredTCO2e",
    "profile",
)


@router.get(f"/enterprises/{IDENTIFIER}/profile", response_model=ProfileOut)
def get_profile(
    identifier: str,
    session: SessionDep,
    request: Request,
    caller: Reader,
    since: date | None = Query(None, alias="from", description="Periods starting on or after."),
    until: date | None = Query(None, alias="to", description="Periods ending on or before."),
) -> ProfileOut:
    """One enterprise's profile: ratings history, emissions trend, assets, proof links."""
    enterprise = enterprise_for(session, caller, identifier)
    return profile_of(session, str(request.base_url).rstrip("/"), enterprise, since, until)


@router.get(
    "/portfolio",
    response_model=PortfolioOut,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with ?format=csv"}},
)
def get_portfolio(
    session: SessionDep,
    request: Request,
    caller: Lender,
    industry: str | None = Query(None, max_length=64),
    region: str | None = Query(None, max_length=64),
    grade: int | None = Query(None, ge=1, le=5, description="Latest grade equals."),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0, le=2**31),
    format: str = Query("json", pattern="^(json|csv)$"),
) -> PortfolioOut | Response:
    """Enterprises the caller may see, each with its latest rating, total and assets;
    filtered, paged, as JSON or CSV."""
    base = str(request.base_url).rstrip("/")
    rows = portfolio(session, caller, base, (industry, region, grade))
    page = rows[offset : offset + limit]
    if format == "csv":
        return _csv(page)
    return PortfolioOut(total=len(rows), limit=limit, offset=offset, items=page)


def _csv(rows: list[PortfolioRow]) -> Response:
    text = to_csv(CSV_COLUMNS, (r.model_dump(include=set(CSV_COLUMNS)) for r in rows))
    headers = {"Content-Disposition": 'attachment; filename="portfolio.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)

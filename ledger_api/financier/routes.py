"""The financier's view: a portfolio of consenting enterprises, and one enterprise's profile —
ratings and their history, the emissions trend, asset balances and retirements — every
figure with the link to its proof. Financiers see only enterprises that granted them access;
regulators and admins see all.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlmodel import Session

from ledger_api.access.deps import Caller, Lender, Reader, enterprise_for, sees
from ledger_api.assets.routes import holding_summary
from ledger_api.core.deps import SessionDep
from ledger_api.core.models import Enterprise, Evaluation

router = APIRouter(tags=["financier"])

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


def _history(
    session: Session, enterprise: Enterprise, since: date | None, until: date | None
) -> list[Evaluation]:
    query = select(Evaluation).where(Evaluation.enterprise_id == enterprise.id)
    if since is not None:
        query = query.where(Evaluation.period_start >= since.isoformat())
    if until is not None:
        query = query.where(Evaluation.period_end <= until.isoformat())
    return list(session.scalars(query.order_by(Evaluation.period_start, Evaluation.id)))


def _rating_row(base: str, row: Evaluation) -> dict[str, Any]:
    entry = json.loads(row.entry)
    rating = entry.get("rating") or {}
    proof = f"{base}/v1/evaluations/{quote(row.identifier)}/proof"
    return {
        "evaluation": row.identifier,
        "periodStart": row.period_start,
        "periodEnd": row.period_end,
        "grade": rating.get("grade"),
        "K": (rating.get("K") or {}).get("reported"),
        "totalTCO2e": row.total,
        "proofs": {
            "total": f"{proof}?figure=total",
            "grade": f"{proof}?figure=rating.grade" if rating else None,
            "K": f"{proof}?figure=rating.K" if rating else None,
        },
        "report": f"{base}/v1/evaluations/{quote(row.identifier)}/report",
    }


def _change(history: list[Evaluation]) -> str | None:
    """Percentage change of the latest period's total against the one before, exactly."""
    if len(history) < 2 or Decimal(history[-2].total) == 0:
        return None
    before, after = Decimal(history[-2].total), Decimal(history[-1].total)
    return str(((after - before) / before * 100).quantize(Decimal("0.01")))


def profile_of(
    session: Session, base: str, enterprise: Enterprise, since: date | None, until: date | None
) -> dict[str, Any]:
    evaluations = _history(session, enterprise, since, until)
    history = [_rating_row(base, row) for row in evaluations]
    return {
        "enterprise": {
            "identifier": enterprise.identifier,
            "name": enterprise.name,
            "industry": enterprise.industry,
            "region": enterprise.region,
        },
        "latestRating": history[-1] if history else None,
        "ratings": history,
        "emissionsChangePercent": _change(evaluations),
        "assets": holding_summary(session, base, enterprise),
    }


@router.get("/enterprises/{identifier:path}/profile")
def get_profile(
    identifier: str,
    session: SessionDep,
    request: Request,
    caller: Reader,
    since: date | None = Query(None, alias="from", description="Periods starting on or after."),
    until: date | None = Query(None, alias="to", description="Periods ending on or before."),
) -> dict[str, Any]:
    """One enterprise's profile: ratings history, emissions trend, assets, proof links."""
    enterprise = enterprise_for(session, caller, identifier)
    return profile_of(session, str(request.base_url).rstrip("/"), enterprise, since, until)


def _visible(
    session: Session, caller: Caller, industry: str | None, region: str | None
) -> list[Enterprise]:
    query = select(Enterprise).order_by(Enterprise.identifier)
    if industry is not None:
        query = query.where(Enterprise.industry == industry)
    if region is not None:
        query = query.where(Enterprise.region == region)
    return [e for e in session.scalars(query) if e.id is not None and sees(session, caller, e.id)]


def _portfolio_row(session: Session, base: str, enterprise: Enterprise) -> dict[str, Any]:
    history = _history(session, enterprise, None, None)
    latest = _rating_row(base, history[-1]) if history else {}
    assets = holding_summary(session, base, enterprise)
    return {
        "enterprise": enterprise.identifier,
        "name": enterprise.name,
        "industry": enterprise.industry,
        "region": enterprise.region,
        "periodStart": latest.get("periodStart"),
        "periodEnd": latest.get("periodEnd"),
        "grade": latest.get("grade"),
        "K": latest.get("K"),
        "totalTCO2e": latest.get("totalTCO2e"),
        "heldTCO2e": sum(a["held"] for a in assets),
        "retiredTCO2e": sum(a["retired"] + a["surrendered"] for a in assets),
        "profile": f"{base}/v1/enterprises/{quote(enterprise.identifier)}/profile",
        "proofs": latest.get("proofs"),
    }


@router.get("/portfolio")
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
) -> Any:
    """Enterprises the caller may see, each with its latest rating, total and assets;
    filtered, paged, as JSON or CSV."""
    base = str(request.base_url).rstrip("/")
    rows = [_portfolio_row(session, base, e) for e in _visible(session, caller, industry, region)]
    if grade is not None:
        rows = [r for r in rows if r["grade"] == grade]
    page = rows[offset : offset + limit]
    if format == "csv":
        return _csv(page)
    return {"total": len(rows), "limit": limit, "offset": offset, "items": page}


def _csv(rows: list[dict[str, Any]]) -> Response:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if r[k] is None else r[k]) for k in CSV_COLUMNS} for r in rows)
    headers = {"Content-Disposition": 'attachment; filename="portfolio.csv"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)

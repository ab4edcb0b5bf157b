"""The financier's queries: an enterprise's profile (ratings history, emissions trend, assets)
and the portfolio of the enterprises a caller may see; the regulator's aggregates by industry.
Every figure comes with the link to its proof."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from urllib.parse import quote

from sqlalchemy import select
from sqlmodel import Session

from ledger_api.access.deps import Caller, sees
from ledger_api.assets.holdings import holding_summary
from ledger_api.core.models import Enterprise, Evaluation
from ledger_api.financier.schemas import (
    EnterpriseBrief,
    IndustryRatings,
    PortfolioRow,
    ProfileOut,
    RatingProofs,
    RatingRowOut,
)


def _history(
    session: Session, enterprise: Enterprise, since: date | None, until: date | None
) -> list[Evaluation]:
    """The enterprise's current evaluations, oldest period first: a superseded one is history
    (``GET /v1/evaluations/{id}``), never a figure a financier reads as the period's."""
    query = select(Evaluation).where(
        Evaluation.enterprise_id == enterprise.id,
        Evaluation.superseded_by.is_(None),  # type: ignore[union-attr]
    )
    if since is not None:
        query = query.where(Evaluation.period_start >= since.isoformat())
    if until is not None:
        query = query.where(Evaluation.period_end <= until.isoformat())
    return list(session.scalars(query.order_by(Evaluation.period_start, Evaluation.id)))


def _rating_row(base: str, row: Evaluation) -> RatingRowOut:
    entry = json.loads(row.entry)
    rating = entry.get("rating") or {}
    proof = f"{base}/v1/evaluations/{quote(row.identifier)}/proof"
    return RatingRowOut(
        evaluation=row.identifier,
        periodStart=row.period_start,
        periodEnd=row.period_end,
        grade=rating.get("grade"),
        K=(rating.get("K") or {}).get("reported"),
        totalTCO2e=row.total,
        proofs=RatingProofs(
            total=f"{proof}?figure=total",
            grade=f"{proof}?figure=rating.grade" if rating else None,
            K=f"{proof}?figure=rating.K" if rating else None,
        ),
        report=f"{base}/v1/evaluations/{quote(row.identifier)}/report",
    )


def _change(history: list[Evaluation]) -> str | None:
    """Percentage change of the latest period's total against the period just before it
    (ending the day before it starts), exactly; None without such a period. Two evaluations of
    one period (two rulesets) are never compared with each other."""
    if not history:
        return None
    latest = history[-1]
    start = date.fromisoformat(latest.period_start)
    adjacent = [
        r for r in history if date.fromisoformat(r.period_end).toordinal() + 1 == start.toordinal()
    ]
    if not adjacent:
        return None
    before_row = adjacent[-1]
    before, after = Decimal(before_row.total), Decimal(latest.total)
    if before == 0:
        return None
    return str(((after - before) / before * 100).quantize(Decimal("0.01")))


def profile_of(
    session: Session, base: str, enterprise: Enterprise, since: date | None, until: date | None
) -> ProfileOut:
    evaluations = _history(session, enterprise, since, until)
    history = [_rating_row(base, row) for row in evaluations]
    return ProfileOut(
        enterprise=EnterpriseBrief(
            identifier=enterprise.identifier,
            name=enterprise.name,
            industry=enterprise.industry,
            region=enterprise.region,
        ),
        latestRating=history[-1] if history else None,
        ratings=history,
        emissionsChangePercent=_change(evaluations),
        assets=holding_summary(session, base, enterprise),
    )


def _visible(
    session: Session, caller: Caller, industry: str | None, region: str | None
) -> list[Enterprise]:
    query = select(Enterprise).order_by(Enterprise.identifier)
    if industry is not None:
        query = query.where(Enterprise.industry == industry)
    if region is not None:
        query = query.where(Enterprise.region == region)
    return [e for e in session.scalars(query) if e.id is not None and sees(session, caller, e.id)]


def _portfolio_row(session: Session, base: str, enterprise: Enterprise) -> PortfolioRow:
    history = _history(session, enterprise, None, None)
    latest = _rating_row(base, history[-1]) if history else None
    assets = holding_summary(session, base, enterprise)
    return PortfolioRow(
        enterprise=enterprise.identifier,
        name=enterprise.name,
        industry=enterprise.industry,
        region=enterprise.region,
        periodStart=latest.periodStart if latest else None,
        periodEnd=latest.periodEnd if latest else None,
        grade=latest.grade if latest else None,
        K=latest.K if latest else None,
        totalTCO2e=latest.totalTCO2e if latest else None,
        heldTCO2e=sum(a.held for a in assets),
        retiredTCO2e=sum(a.retired + a.surrendered for a in assets),
        profile=f"{base}/v1/enterprises/{quote(enterprise.identifier)}/profile",
        proofs=latest.proofs if latest else None,
    )


def portfolio(
    session: Session,
    caller: Caller,
    base: str,
    where: tuple[str | None, str | None, int | None],
) -> list[PortfolioRow]:
    """Every enterprise the caller may see, filtered by (industry, region, latest grade)."""
    industry, region, grade = where
    rows = [_portfolio_row(session, base, e) for e in _visible(session, caller, industry, region)]
    return [r for r in rows if grade is None or r.grade == grade]


def ratings_by_industry(
    session: Session, year: int | None, min_enterprises: int
) -> list[IndustryRatings]:
    """Per industry: evaluations, how many got each grade, and their summed reported total —
    withheld for an industry of fewer than ``min_enterprises`` evaluated enterprises, whose
    sums would be one or two firms' own figures."""
    query = (
        select(Enterprise.industry, Evaluation.enterprise_id, Evaluation.grade, Evaluation.total)
        .join(Enterprise, Enterprise.id == Evaluation.enterprise_id)
        .where(Evaluation.superseded_by.is_(None))  # type: ignore[union-attr]
    )
    if year is not None:
        query = query.where(Evaluation.period_start.startswith(f"{year}-"))  # type: ignore[attr-defined]
    grades: dict[str, Counter[str]] = defaultdict(Counter)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    members: dict[str, set[int]] = defaultdict(set)
    for industry, enterprise_id, grade, total in session.execute(query):
        grades[industry][str(grade) if grade is not None else "none"] += 1
        totals[industry] += Decimal(total)
        members[industry].add(enterprise_id)
    out = []
    for industry in sorted(grades):
        shown = len(members[industry]) >= min_enterprises
        out.append(
            IndustryRatings(
                industry=industry,
                evaluations=sum(grades[industry].values()),
                grades=dict(sorted(grades[industry].items())) if shown else None,
                totalTCO2e=str(totals[industry]) if shown else None,
                suppressed=not shown,
            )
        )
    return out

"""Response bodies of the financier's view and the regulator's aggregates."""

from __future__ import annotations

from pydantic import BaseModel, Field

from ledger_api.assets.schemas import HoldingOut


class RatingProofs(BaseModel):
    total: str
    grade: str | None
    K: str | None


class RatingRowOut(BaseModel):
    """One evaluation's rating and total, with the links that prove them."""

    evaluation: str
    periodStart: str
    periodEnd: str
    grade: int | None
    K: str | None
    totalTCO2e: str
    proofs: RatingProofs
    report: str


class EnterpriseBrief(BaseModel):
    identifier: str
    name: str
    industry: str
    region: str | None


class ProfileOut(BaseModel):
    enterprise: EnterpriseBrief
    latestRating: RatingRowOut | None
    ratings: list[RatingRowOut]
    emissionsChangePercent: str | None = Field(
        description="Latest period's total against the one before, in percent."
    )
    assets: list[HoldingOut]


class PortfolioRow(BaseModel):
    enterprise: str
    name: str
    industry: str
    region: str | None
    periodStart: str | None
    periodEnd: str | None
    grade: int | None
    K: str | None
    totalTCO2e: str | None
    heldTCO2e: int
    retiredTCO2e: int
    profile: str
    proofs: RatingProofs | None


class PortfolioOut(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[PortfolioRow]


class IndustryRatings(BaseModel):
    """One industry's cell; below the minimum number of enterprises its grade counts and
    total are withheld (``suppressed``), so no single firm's figures can be read off it."""

    industry: str
    evaluations: int
    grades: dict[str, int] | None
    totalTCO2e: str | None
    suppressed: bool = False

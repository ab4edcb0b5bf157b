"""What each portal page shows, gathered from the domain services; the few questions no domain
answers yet (a terminal's health, an enterprise's evaluation list) are asked here."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlmodel import Session

from ledger_api.access.deps import Caller, enterprise_for
from ledger_api.access.grants import list_grants
from ledger_api.access.schemas import GrantOut
from ledger_api.assets.holdings import holding_summary
from ledger_api.assets.schemas import HoldingOut
from ledger_api.core.models import ActivityRecordRow, Device, Enterprise, Evaluation
from ledger_api.evaluations.queries import evaluation_out
from ledger_api.evaluations.schemas import EvaluationOut
from ledger_api.financier.schemas import PortfolioRow, ProfileOut
from ledger_api.financier.service import portfolio, profile_of
from ledger_api.registry.schemas import DeviceOut, SourceOut
from ledger_api.registry.service import device_out, list_sources
from ledger_api.web import oversight

PAGE_SIZE = 20
SORT_KEYS = ("enterprise", "name", "industry", "region", "grade", "totalTCO2e")


@dataclass(frozen=True)
class PortfolioQuery:
    industry: str | None = None
    region: str | None = None
    grade: int | None = None
    sort: str = "enterprise"
    descending: bool = False
    page: int = 1


@dataclass(frozen=True)
class PortfolioPage:
    rows: list[PortfolioRow]
    total: int
    page: int
    pages: int
    industries: list[str]
    regions: list[str]


def _sort_key(sort: str) -> object:
    def key(row: PortfolioRow) -> tuple[bool, object]:
        value = getattr(row, sort)
        if sort == "totalTCO2e" and value is not None:
            value = Decimal(value)
        return (value is None, value if value is not None else 0)

    return key


def sorted_portfolio(rows: list[PortfolioRow], query: PortfolioQuery) -> list[PortfolioRow]:
    """Rows in the asked order; enterprises without the figure always last."""
    sort = query.sort if query.sort in SORT_KEYS else "enterprise"
    present = [r for r in rows if getattr(r, sort) is not None]
    missing = [r for r in rows if getattr(r, sort) is None]
    present.sort(key=_sort_key(sort), reverse=query.descending)  # type: ignore[arg-type]
    return present + missing


def portfolio_page(
    session: Session, caller: Caller, base: str, query: PortfolioQuery
) -> PortfolioPage:
    everything = portfolio(session, caller, base, (None, None, None))
    chosen = portfolio(session, caller, base, (query.industry, query.region, query.grade))
    ordered = sorted_portfolio(chosen, query)
    pages = max(1, -(-len(ordered) // PAGE_SIZE))
    page = min(max(1, query.page), pages)
    return PortfolioPage(
        rows=ordered[(page - 1) * PAGE_SIZE : page * PAGE_SIZE],
        total=len(ordered),
        page=page,
        pages=pages,
        industries=sorted({r.industry for r in everything}),
        regions=sorted({r.region for r in everything if r.region}),
    )


def portfolio_rows(
    session: Session, caller: Caller, base: str, query: PortfolioQuery
) -> list[PortfolioRow]:
    """Every row the filters keep, in the page's order (the CSV holds them all)."""
    rows = portfolio(session, caller, base, (query.industry, query.region, query.grade))
    return sorted_portfolio(rows, query)


def profile(session: Session, caller: Caller, base: str, identifier: str) -> ProfileOut:
    """An enterprise's profile, if the caller may see it (404 as for none otherwise)."""
    return profile_of(session, base, enterprise_for(session, caller, identifier), None, None)


@dataclass
class Bucket:
    """The enterprises of one industry or region, by their latest evaluation: how many, their
    grades and summed total. ``withheld`` when too few to hide any one firm's figures."""

    name: str
    enterprises: int = 0
    grades: Counter[str] = field(default_factory=Counter)
    total: Decimal = Decimal(0)
    withheld: bool = False
    code: str = ""  # a region's division code to drill into (empty: none further)


@dataclass(frozen=True)
class Overview:
    by_industry: list[Bucket]
    by_region: list[Bucket]
    grades: dict[str, int]
    low_grades: list[PortfolioRow]
    province: str | None = None  # the province drilled into, by name (None: all of China)


def _add(bucket: Bucket, row: PortfolioRow) -> None:
    grade = str(row.grade) if row.grade is not None else "none"
    bucket.enterprises += 1
    bucket.grades[grade] += 1
    bucket.total += Decimal(row.totalTCO2e or 0)


def overview(
    session: Session, caller: Caller, base: str, min_members: int, province: str | None = None
) -> Overview:
    """The regulator's view, from every enterprise's latest evaluation; regions by province,
    or by city within ``province`` (a two-digit GB/T 2260 code). A cell of fewer than
    ``min_members`` enterprises shows only its count (as the aggregates API does)."""
    rows = [r for r in portfolio(session, caller, base, (None, None, None)) if r.totalTCO2e]
    industries: dict[str, Bucket] = {}
    regions: dict[str, Bucket] = {}
    for row in rows:
        _add(industries.setdefault(row.industry, Bucket(row.industry)), row)
    for row, place in oversight.within(rows, province):
        _add(regions.setdefault(place.name, Bucket(place.name, code=place.code)), row)
    for bucket in (*industries.values(), *regions.values()):
        bucket.withheld = bucket.enterprises < min_members
    grades = Counter(str(r.grade) if r.grade is not None else "none" for r in rows)
    low = [r for r in rows if r.grade is not None and r.grade >= 4]
    return Overview(
        by_industry=[industries[k] for k in sorted(industries)],
        by_region=[regions[k] for k in sorted(regions)],
        grades={g: grades[g] for g in ("1", "2", "3", "4", "5", "none") if grades[g]},
        low_grades=sorted(low, key=lambda r: (-(r.grade or 0), r.enterprise)),
        province=oversight.province_name(province),
    )


@dataclass(frozen=True)
class TerminalHealth:
    device: DeviceOut
    readings: int
    last_reading_end: int | None  # unix seconds
    missing: int  # sequence numbers absent between the first and the last stored


def _health(session: Session, enterprise: Enterprise) -> list[TerminalHealth]:
    stats = defaultdict(lambda: (0, None, None, None))
    query = (
        select(
            ActivityRecordRow.device_id,
            func.count(),
            func.min(ActivityRecordRow.seq),
            func.max(ActivityRecordRow.seq),
            func.max(ActivityRecordRow.period_end),
        )
        .where(ActivityRecordRow.enterprise_id == enterprise.id)
        .group_by(ActivityRecordRow.device_id)
    )
    for device_id, count, first, last, end in session.execute(query):
        stats[device_id] = (count, first, last, end)
    devices = session.scalars(
        select(Device).where(Device.enterprise_id == enterprise.id).order_by(Device.id)
    )
    out = []
    for device in devices:
        count, first, last, end = stats[device.id]
        missing = (last - first + 1 - count) if count else 0
        out.append(TerminalHealth(device_out(session, device), count, end, missing))
    return out


@dataclass(frozen=True)
class EnterpriseHome:
    enterprise: Enterprise
    sources: list[SourceOut]
    terminals: list[TerminalHealth]
    evaluations: list[EvaluationOut]
    grants: list[GrantOut]
    assets: list[HoldingOut]


def enterprise_home(session: Session, caller: Caller, base: str) -> EnterpriseHome:
    assert caller.enterprise is not None
    enterprise = enterprise_for(session, caller, caller.enterprise)
    evaluations = session.scalars(
        select(Evaluation)
        # The current evaluations: a superseded one stays readable through the API's history
        .where(Evaluation.enterprise_id == enterprise.id, Evaluation.superseded_by.is_(None))  # type: ignore[union-attr]
        .order_by(Evaluation.period_start.desc(), Evaluation.id.desc())  # type: ignore[attr-defined, union-attr]
    )
    return EnterpriseHome(
        enterprise=enterprise,
        sources=list_sources(session, enterprise),
        terminals=_health(session, enterprise),
        evaluations=[evaluation_out(session, row) for row in evaluations],
        grants=list_grants(session, enterprise),
        assets=holding_summary(session, base, enterprise),
    )


def _portal(link: str | None) -> str | None:
    """An API proof or report link as the portal's own (the browser holds a session, not a
    key)."""
    return link.replace("/v1/", "/portal/", 1) if link else None


def profile_chart(found: ProfileOut) -> dict[str, list[str | int | None]]:
    """The series of the profile's two charts, each point with the link to its proof."""
    ratings = found.ratings
    return {
        "periods": [f"{r.periodStart} – {r.periodEnd}" for r in ratings],
        "grades": [r.grade for r in ratings],
        "gradeProofs": [_portal(r.proofs.grade) for r in ratings],
        "totals": [r.totalTCO2e for r in ratings],
        "totalProofs": [_portal(r.proofs.total) for r in ratings],
    }

"""The regulator's views beyond the overview: enterprises by region, drilled from province to
city (GB/T 2260 codes read by ``accounting.regions``), and the terminals whose data deserve a
look (silent, with sequence gaps, or revoked)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from accounting.regions import PROVINCES, read_region
from ledger_api.core.models import ActivityRecordRow, Device, Enterprise
from ledger_api.financier.schemas import PortfolioRow

#: A terminal is silent when no reading ended within this many of its reading intervals.
SILENT_INTERVALS = 2
UNKNOWN = "–"


@dataclass(frozen=True)
class Place:
    """Where a bucket of enterprises is: the code to drill into (empty: no further) and how
    the page names it."""

    code: str
    name: str


def place_of(region: str | None, province: str | None) -> Place | None:
    """The province of ``region`` (no ``province`` chosen) or its city within ``province``;
    None when it lies outside the chosen province."""
    found = read_region(region)
    if province is None:
        if found is None:
            return Place("", UNKNOWN)
        return Place(found.province, found.province_name)
    if found is None or found.province != province:
        return None
    city = found.code[:4] if len(found.code) >= 4 else ""
    return Place("", f"{city}00" if city else f"{found.province_name} ({province}0000)")


def province_name(code: str | None) -> str | None:
    """The chosen province's name; None for no (or an unknown) code."""
    names = PROVINCES.get(code or "")
    return f"{names[1]} {names[2]}" if names else None


def within(rows: Iterable[PortfolioRow], province: str | None) -> list[tuple[PortfolioRow, Place]]:
    """Each row with its place at this level, those outside the chosen province left out."""
    placed = [(row, place_of(row.region, province)) for row in rows]
    return [(row, place) for row, place in placed if place is not None]


@dataclass(frozen=True)
class TerminalQuality:
    enterprise: str
    address: str
    status: str
    revoked_at: datetime | None
    readings: int
    last_reading_end: int | None  # unix seconds
    interval_s: int | None  # the longest reading interval it has reported
    missing: int  # sequence numbers absent between its first and last stored
    silent: bool

    @property
    def flagged(self) -> bool:
        return self.silent or self.missing > 0 or self.status == "revoked"


def _stats(session: Session) -> dict[int, tuple[int, int, int, int, int]]:
    query = select(
        ActivityRecordRow.device_id,
        func.count(),
        func.min(ActivityRecordRow.seq),
        func.max(ActivityRecordRow.seq),
        func.max(ActivityRecordRow.period_end),
        func.max(ActivityRecordRow.period_end - ActivityRecordRow.period_start),
    ).group_by(ActivityRecordRow.device_id)
    return {row[0]: tuple(row[1:]) for row in session.execute(query)}  # type: ignore[misc]


def data_quality(session: Session, now: int) -> list[TerminalQuality]:
    """Every terminal that is silent (no reading ended within ``SILENT_INTERVALS`` of its
    reading interval before ``now``; a terminal that never reported is silent too), has
    sequence gaps, or was revoked, by enterprise. For overseers, who see every enterprise."""
    stats = _stats(session)
    rows = session.execute(
        select(Device, Enterprise.identifier)
        .join(Enterprise, Enterprise.id == Device.enterprise_id)
        .order_by(Enterprise.identifier, Device.id)
    )
    out = []
    for device, enterprise in rows:
        count, first, last, end, interval = stats.get(device.id, (0, None, None, None, None))
        silent = device.status != "revoked" and (
            end is None or now - end > SILENT_INTERVALS * max(interval or 0, 1)
        )
        missing = (last - first + 1 - count) if count else 0
        quality = TerminalQuality(
            enterprise,
            device.address,
            device.status,
            device.revoked_at,
            count,
            end,
            interval,
            missing,
            silent,
        )
        if quality.flagged:
            out.append(quality)
    return out

"""Rolling figures: each record folded once into the hour, day and month of its source and of
its enterprise (local time of reporting), read-modify-write within the worker's round."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, tuple_
from sqlmodel import Session

from ledger_api.core.models import MonitorFigure

SPANS = ("hour", "day", "month")
HOUR, DAY = 3_600, 86_400


def span_start(span: str, at: int, offset_h: int) -> int:
    """Unix start of the hour, day or month holding ``at`` in the reporting time zone."""
    offset = offset_h * HOUR
    if span == "hour":
        return (at + offset) // HOUR * HOUR - offset
    if span == "day":
        return (at + offset) // DAY * DAY - offset
    local = datetime.fromtimestamp(at + offset, UTC)
    return int(local.replace(day=1, hour=0, minute=0, second=0).timestamp()) - offset


def month_end(start: int, offset_h: int) -> int:
    local = datetime.fromtimestamp(start + offset_h * HOUR, UTC)
    following = (local.replace(day=28) + timedelta(days=4)).replace(day=1)
    return int(following.timestamp()) - offset_h * HOUR


@dataclass
class Delta:
    energy: Decimal = Decimal(0)
    emissions: Decimal = Decimal(0)
    readings: int = 0
    last_end: int = 0

    def merge(self, other: Delta) -> None:
        self.energy += other.energy
        self.emissions += other.emissions
        self.readings += other.readings
        self.last_end = max(self.last_end, other.last_end)


Key = tuple[str, int, str, int]  # scope, subject id, span, start


@dataclass
class Deltas:
    """What one round adds: summed per source and hour first, then spread to the day and
    month of each hour and to the enterprise (so the per-record work is one dict update)."""

    hours: dict[tuple[int, int, int], Delta] = field(
        default_factory=dict
    )  # enterprise, source, hour

    def at(self, enterprise: int, source: int, hour: int) -> Delta:
        key = (enterprise, source, hour)
        found = self.hours.get(key)
        if found is None:
            found = self.hours[key] = Delta()
        return found

    def by_key(self, offset_h: int) -> dict[Key, Delta]:
        out: dict[Key, Delta] = {}
        starts: dict[int, tuple[int, int]] = {}
        for (enterprise, source, hour), delta in self.hours.items():
            if hour not in starts:
                starts[hour] = (
                    span_start("day", hour, offset_h),
                    span_start("month", hour, offset_h),
                )
            day, month = starts[hour]
            for scope, subject in (("source", source), ("enterprise", enterprise)):
                for span, start in (("hour", hour), ("day", day), ("month", month)):
                    out.setdefault((scope, subject, span, start), Delta()).merge(delta)
        return out


def apply(session: Session, deltas: Deltas, offset_h: int) -> dict[Key, MonitorFigure]:
    """Add the round's deltas to the stored figures; returns the touched rows by key."""
    by_key = deltas.by_key(offset_h)
    keys = list(by_key)
    rows = {_key(r): r for r in _load(session, keys)}
    for key, delta in by_key.items():
        row = rows.get(key)
        if row is None:
            scope, subject, span, start = key
            row = rows[key] = MonitorFigure(scope=scope, subject_id=subject, span=span, start=start)
        row.energy_tce = str(Decimal(row.energy_tce) + delta.energy)
        row.emissions_t = str(Decimal(row.emissions_t) + delta.emissions)
        row.readings += delta.readings
        row.last_end = max(row.last_end, delta.last_end)
        session.add(row)
    session.flush()
    return rows


def _load(session: Session, keys: list[Key]) -> Iterable[MonitorFigure]:
    columns = (
        MonitorFigure.scope,
        MonitorFigure.subject_id,
        MonitorFigure.span,
        MonitorFigure.start,
    )
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        yield from session.scalars(select(MonitorFigure).where(tuple_(*columns).in_(chunk)))


def _key(row: MonitorFigure) -> Key:
    return (row.scope, row.subject_id, row.span, row.start)


def hours(session: Session, keys: set[tuple[int, int]]) -> dict[tuple[int, int], Decimal]:
    """The energy of the source hours among ``keys`` (source id, hour start) that exist."""
    out: dict[tuple[int, int], Decimal] = {}
    wanted = sorted(keys)
    columns = (MonitorFigure.subject_id, MonitorFigure.start)
    for i in range(0, len(wanted), 500):
        query = select(MonitorFigure.subject_id, MonitorFigure.start, MonitorFigure.energy_tce)
        query = query.where(
            MonitorFigure.scope == "source",
            MonitorFigure.span == "hour",
            tuple_(*columns).in_(wanted[i : i + 500]),
        )
        for subject, start, energy in session.execute(query):
            out[(subject, start)] = Decimal(energy)
    return out

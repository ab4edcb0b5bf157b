"""Rule evaluation over one round of the worker: which alerts the new figures raise, escalate
or clear. Each function takes a rule and the round, and only calls ``alerts``."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlmodel import Session

from ledger_api.core.models import (
    AssetJournalLine,
    Device,
    DeviceBinding,
    EmissionSource,
    Enterprise,
    MonitorDevice,
    MonitorFigure,
    MonitorRule,
)
from ledger_api.monitoring import rule_kinds as kinds
from ledger_api.monitoring.alerts import Opened, clear, load_open, raise_alert
from ledger_api.monitoring.emissions import Reading
from ledger_api.monitoring.figures import HOUR, Key, hours, month_end

WEEK = 7 * 86_400


@dataclass
class Round:
    """What one round read and wrote, for the rules to look at."""

    readings: list[Reading] = field(default_factory=list)
    tce: dict[int, Decimal] = field(default_factory=dict)  # record id → tce
    figures: dict[Key, MonitorFigure] = field(default_factory=dict)
    gaps: list[tuple[Reading, int]] = field(default_factory=list)  # reading, previous seq
    sources: dict[int, str] = field(default_factory=dict)  # id → identifier
    devices: dict[int, str] = field(default_factory=dict)  # id → address
    offset_h: int = 8
    now: int = 0
    open: Opened = field(default_factory=dict)

    def touched(self, scope: str, span: str, subjects: Iterable[int]) -> list[MonitorFigure]:
        wanted = set(subjects)
        rows = [
            row
            for (s, subject, sp, _), row in self.figures.items()
            if s == scope and sp == span and subject in wanted
        ]
        return sorted(rows, key=lambda r: r.start)


def _sources(session: Session, rule: MonitorRule) -> list[int]:
    if rule.source_id is not None:
        return [rule.source_id]
    ids = select(EmissionSource.id).where(EmissionSource.enterprise_id == rule.enterprise_id)
    return [i for i in session.scalars(ids) if i is not None]


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def energy_threshold(session: Session, rule: MonitorRule, r: Round) -> None:
    params = kinds.EnergyThreshold.model_validate_json(rule.params)
    sources = set(_sources(session, rule))
    limit = params.limit_tce
    if params.per == "reading":
        for reading in r.readings:
            subject = r.sources[reading.source_id] if reading.source_id in sources else ""
            value = r.tce[reading.id]
            if subject and _changes(r, rule, subject, value > limit):
                figures = {"readingTce": _fmt(value), "limitTce": _fmt(limit), "seq": reading.seq}
                _decide(
                    session,
                    r,
                    rule,
                    subject,
                    value > limit,
                    figures,
                    f"a reading of {_fmt(value)} tce is above {_fmt(limit)} tce",
                )
        return
    for row in r.touched("source", "hour", sources):
        value = Decimal(row.energy_tce)
        figures = {"hourStart": row.start, "hourTce": _fmt(value), "limitTce": _fmt(limit)}
        _decide(
            session,
            r,
            rule,
            r.sources[row.subject_id],
            value > limit,
            figures,
            f"an hour of {_fmt(value)} tce is above {_fmt(limit)} tce",
        )


def _changes(r: Round, rule: MonitorRule, subject: str, holds: bool) -> bool:
    """Whether a level-less condition changes the alert's state: the per-reading loops skip
    the rest (and the figures' formatting) when it does not."""
    return holds != ((rule.id or 0, subject) in r.open)


def _decide(
    session: Session,
    r: Round,
    rule: MonitorRule,
    subject: str,
    holds: bool,
    figures: dict[str, object],
    message: str,
    level: str = "",
) -> None:
    if holds:
        raise_alert(session, rule, subject, message, figures, level, r.open)
    else:
        clear(session, rule, subject, "condition cleared", r.open)


def median_mad(values: list[Decimal]) -> tuple[Decimal, Decimal]:
    median = statistics.median(values)
    return median, statistics.median([abs(v - median) for v in values])


def energy_band(session: Session, rule: MonitorRule, r: Round) -> None:
    params = kinds.EnergyBand.model_validate_json(rule.params)
    # An hour still filling is judged when it is complete.
    done = [
        row
        for row in r.touched("source", "hour", _sources(session, rule))
        if row.last_end >= row.start + HOUR
    ]
    weeks = range(1, params.weeks + 1)
    past = hours(session, {(row.subject_id, row.start - i * WEEK) for row in done for i in weeks})
    for row in done:
        history = [past[k] for i in weeks if (k := (row.subject_id, row.start - i * WEEK)) in past]
        if len(history) < params.min_history:
            continue
        median, mad = median_mad(history)
        low, high = median - params.k * mad, median + params.k * mad
        value = Decimal(row.energy_tce)
        figures = {
            "hourStart": row.start,
            "hourTce": _fmt(value),
            "median": _fmt(median),
            "mad": _fmt(mad),
            "low": _fmt(low),
            "high": _fmt(high),
            "weeks": len(history),
        }
        _decide(
            session,
            r,
            rule,
            r.sources[row.subject_id],
            not low <= value <= high,
            figures,
            f"an hour of {_fmt(value)} tce is outside {_fmt(low)}–{_fmt(high)} tce",
        )


def allowances_held(session: Session, enterprise: Enterprise) -> Decimal:
    """Units (t) the enterprise holds in the asset book, pending ones not counted."""
    total = session.scalar(
        select(func.sum(AssetJournalLine.quantity)).where(
            AssetJournalLine.account == f"holding:{enterprise.identifier}"
        )
    )
    return Decimal(int(total or 0))


def _latest_month(rows: list[MonitorFigure]) -> list[MonitorFigure]:
    latest: dict[int, MonitorFigure] = {}
    for row in rows:
        if row.subject_id not in latest or row.start > latest[row.subject_id].start:
            latest[row.subject_id] = row
    return list(latest.values())


def emission_budget(session: Session, rule: MonitorRule, r: Round) -> None:
    params = kinds.EmissionBudget.model_validate_json(rule.params)
    enterprise = session.get(Enterprise, rule.enterprise_id)
    assert enterprise is not None
    scope, subjects = (
        ("source", [rule.source_id]) if rule.source_id else ("enterprise", [enterprise.id])
    )
    for row in _latest_month(r.touched(scope, "month", subjects)):  # type: ignore[arg-type]
        subject = r.sources[row.subject_id] if scope == "source" else enterprise.identifier
        budget = (
            params.budget_t if params.budget_t is not None else allowances_held(session, enterprise)
        )
        mtd, elapsed = Decimal(row.emissions_t), row.last_end - row.start
        length = month_end(row.start, r.offset_h) - row.start
        projected = mtd * length / elapsed if elapsed > 0 else mtd
        percent = projected * 100 / budget if budget > 0 else Decimal("Infinity")
        reached = [level for level in params.levels if percent >= level]
        figures = {
            "monthStart": row.start,
            "monthToDateT": _fmt(mtd),
            "projectedT": _fmt(projected),
            "budgetT": _fmt(budget),
            "basis": "budget" if params.budget_t is not None else "allowances",
            "percent": "Infinity" if budget <= 0 else _fmt(percent.quantize(Decimal("0.01"))),
        }
        level = str(reached[-1]) if reached else ""
        _decide(
            session,
            r,
            rule,
            subject,
            bool(reached),
            figures,
            f"emissions projected to {_fmt(projected.quantize(Decimal('0.001')))} t reach "
            f"{level or 0} % of {_fmt(budget)} t",
            level,
        )


def benchmark(session: Session, rule: MonitorRule, r: Round) -> None:
    params = kinds.Benchmark.model_validate_json(rule.params)
    enterprise = session.get(Enterprise, rule.enterprise_id)
    assert enterprise is not None and enterprise.id is not None
    for row in _latest_month(r.touched("enterprise", "month", [enterprise.id])):
        energy, emissions = Decimal(row.energy_tce), Decimal(row.emissions_t)
        if energy <= 0:
            continue
        intensity = emissions / energy
        figures = {
            "monthStart": row.start,
            "intensityTPerTce": _fmt(intensity.quantize(Decimal("0.000001"))),
            "levelTPerTce": _fmt(params.level_t_per_tce),
        }
        _decide(
            session,
            r,
            rule,
            enterprise.identifier,
            intensity > params.level_t_per_tce,
            figures,
            f"intensity {figures['intensityTPerTce']} tCO2e/tce is worse than the level",
        )


def data_quality(session: Session, rule: MonitorRule, r: Round) -> None:
    params = kinds.DataQuality.model_validate_json(rule.params)
    sources = set(_sources(session, rule))
    for reading in r.readings:
        if reading.source_id not in sources:
            continue
        address = r.devices[reading.device_id]
        ahead = reading.end - int(reading.received_at.timestamp())
        if not _changes(r, rule, f"{address}/ahead", ahead > params.max_ahead_s):
            continue
        figures = {"seq": reading.seq, "periodEnd": reading.end, "aheadS": ahead}
        _decide(
            session,
            r,
            rule,
            f"{address}/ahead",
            ahead > params.max_ahead_s,
            figures,
            f"reading {reading.seq} of {address} ends {ahead} s after it was received",
        )
    if params.gaps:
        for reading, previous in r.gaps:
            if reading.source_id in sources:
                address = r.devices[reading.device_id]
                figures = {
                    "afterSeq": previous,
                    "nextSeq": reading.seq,
                    "missing": reading.seq - previous - 1,
                }
                raise_alert(
                    session,
                    rule,
                    f"{address}/gap",
                    f"readings {previous + 1}–{reading.seq - 1} of {address} are missing",
                    figures,
                    opened=r.open,
                )
    _silence(session, r, rule, params, sources)


def _silence(
    session: Session, r: Round, rule: MonitorRule, params: kinds.DataQuality, sources: set[int]
) -> None:
    """Every terminal bound to the rule's sources, heard from or not, against the clock."""
    rows = session.execute(
        select(Device, MonitorDevice.last_received)
        .join(DeviceBinding, DeviceBinding.device_id == Device.id)
        .outerjoin(MonitorDevice, MonitorDevice.device_id == Device.id)
        .where(Device.enterprise_id == rule.enterprise_id, DeviceBinding.source_id.in_(sources))  # type: ignore[attr-defined]
        .distinct()
    ).all()
    for device, last in rows:
        subject = f"{device.address}/silent"
        if device.status != "active":
            clear(session, rule, subject, "terminal no longer active", r.open)
            continue
        heard, now = int(_aware(last or device.created_at).timestamp()), r.now
        figures = {"lastHeard": heard, "silentS": now - heard, "maxSilenceS": params.max_silence_s}
        _decide(
            session,
            r,
            rule,
            subject,
            now - heard > params.max_silence_s,
            figures,
            f"terminal {device.address} silent for {now - heard} s",
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


EVALUATORS: dict[str, Callable[[Session, MonitorRule, Round], None]] = {
    "energy_threshold": energy_threshold,
    "energy_band": energy_band,
    "emission_budget": emission_budget,
    "benchmark": benchmark,
    "data_quality": data_quality,
}


def evaluate(session: Session, r: Round) -> None:
    """Every active rule: those of the enterprises the round touched on their figures, and
    every data-quality rule on the clock (a silent terminal touches nothing)."""
    touched = {reading.enterprise_id for reading in r.readings}
    query = select(MonitorRule).where(MonitorRule.active.is_(True))  # type: ignore[attr-defined]
    rules = [
        rule
        for rule in session.scalars(query.order_by(MonitorRule.id))  # type: ignore[arg-type]
        if rule.enterprise_id in touched or rule.kind == "data_quality"
    ]
    r.open = load_open(session, [rule.id for rule in rules if rule.id is not None])
    for rule in rules:
        EVALUATORS[rule.kind](session, rule, r)

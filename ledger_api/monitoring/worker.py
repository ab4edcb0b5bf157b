"""The monitoring worker's round: fold the records after the cursor into the rolling figures,
evaluate the rules, tell the watchers, and move the cursors, all in one transaction, so a
round killed at any point is redone whole and nothing is counted or raised twice. Deliveries
are sent after the commit (``delivery.py``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ledger_api.core.models import (
    ActivityRecordRow,
    Device,
    EmissionSource,
    Enterprise,
    MonitorCursor,
    MonitorDevice,
)
from ledger_api.monitoring import figures as figs
from ledger_api.monitoring.emissions import Reading, emissions_by_bucket
from ledger_api.monitoring.energy import record_tce, tce_per_unit
from ledger_api.monitoring.rules import Round, evaluate
from ledger_api.monitoring.watch_events import watch_events

log = logging.getLogger("carbon_ledger.monitor")

FACTOR_SET = "cn-ghg-v2"  # the evaluations' factor set: a month here agrees with its entry
TCE_QUANTUM = Decimal("1e-9")
# A record id below the highest one read but not yet visible may belong to a transaction still
# committing (PostgreSQL hands out ids before commit): the cursor waits this long for it
# before taking the gap for a rolled-back insert.
GAP_WAIT_S = 30


@dataclass(frozen=True)
class RoundResult:
    records: int
    position: int


def _lock_cursor(session: Session, name: str) -> int:
    """The cursor, write-locked for the round (an UPDATE first: SQLite and PostgreSQL both
    hold its lock to the commit, so two workers never fold the same records)."""
    now = datetime.now(UTC)
    done = session.execute(
        update(MonitorCursor).where(MonitorCursor.name == name).values(updated_at=now)
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        session.add(MonitorCursor(name=name, position=0, updated_at=now))
        session.flush()
        return 0
    return int(
        session.scalar(select(MonitorCursor.position).where(MonitorCursor.name == name)) or 0
    )


def _move(session: Session, name: str, position: int) -> None:
    session.execute(
        update(MonitorCursor).where(MonitorCursor.name == name).values(position=position)
    )


def _read(session: Session, after: int, limit: int, now: int) -> list[Reading]:
    r = ActivityRecordRow
    rows = session.execute(
        select(
            r.id,
            r.device_id,
            r.source_id,
            r.enterprise_id,
            r.seq,
            r.activity,
            r.quantity,
            r.decimals,
            r.unit,
            r.period_start,
            r.period_end,
            r.attributes,
            r.received_at,
        )
        .where(r.id > after)  # type: ignore[operator]
        .order_by(r.id)  # type: ignore[arg-type]
        .limit(limit)
    ).all()
    readings = []
    expected = after + 1
    for row in rows:
        received = (
            row.received_at if row.received_at.tzinfo else row.received_at.replace(tzinfo=UTC)
        )
        if row.id != expected and now - received.timestamp() < GAP_WAIT_S:
            break  # an earlier id may still commit: stop before the gap, for now
        readings.append(
            Reading(
                row.id,
                row.device_id,
                row.source_id,
                row.enterprise_id,
                row.seq,
                row.activity,
                int(row.quantity),
                row.decimals,
                row.unit,
                row.period_start,
                row.period_end,
                row.attributes,
                received,
            )
        )
        expected = row.id + 1
    return readings


def _year(at: int, offset_h: int) -> int:
    return datetime.fromtimestamp(at + offset_h * figs.HOUR, UTC).year


def _fold(session: Session, readings: list[Reading], offset_h: int) -> Round:
    r = Round(readings=readings, offset_h=offset_h)
    deltas = figs.Deltas()
    by_enterprise: dict[int, list[tuple[Reading, int]]] = defaultdict(list)
    enterprises = {e: session.get(Enterprise, e) for e in {x.enterprise_id for x in readings}}
    hour_of = figs.HOUR
    offset = offset_h * hour_of
    for reading in readings:
        hour = (reading.start + offset) // hour_of * hour_of - offset
        enterprise = enterprises[reading.enterprise_id]
        assert enterprise is not None
        per_unit = tce_per_unit(
            FACTOR_SET,
            enterprise.industry,
            reading.activity,
            reading.unit,
            reading.attributes or "",
            _year(hour, offset_h),
        )
        tce = record_tce(per_unit, reading.quantity, reading.decimals).quantize(TCE_QUANTUM)
        r.tce[reading.id] = tce
        by_enterprise[reading.enterprise_id].append((reading, hour))
        delta = deltas.at(reading.enterprise_id, reading.source_id, hour)
        delta.energy += tce
        delta.readings += 1
        delta.last_end = max(delta.last_end, reading.end)
    for enterprise_id, rows in by_enterprise.items():
        enterprise = enterprises[enterprise_id]
        assert enterprise is not None
        buckets = emissions_by_bucket(
            FACTOR_SET, enterprise.identifier, enterprise.industry, enterprise.region, rows
        )
        for (source_id, hour), co2e in buckets.items():
            deltas.at(enterprise_id, source_id, hour).emissions += co2e
    r.figures = figs.apply(session, deltas, offset_h)
    return r


def _devices(session: Session, r: Round) -> None:
    """Sequence gaps against what the worker last saw of each terminal, and its last reading
    (kept in plain values over the round, written once per terminal)."""
    ids = {reading.device_id for reading in r.readings}
    query = select(MonitorDevice).where(MonitorDevice.device_id.in_(ids))  # type: ignore[attr-defined]
    seen = {d.device_id: d for d in session.scalars(query)}
    last: dict[int, list[Any]] = {
        d: [s.last_seq, s.last_end, _aware(s.last_received)] for d, s in seen.items()
    }
    for reading in r.readings:
        state = last.get(reading.device_id)
        if state is None:
            state = last[reading.device_id] = [reading.seq - 1, 0, reading.received_at]
        elif reading.seq > state[0] + 1:
            r.gaps.append((reading, state[0]))
        state[0] = max(state[0], reading.seq)
        state[1] = max(state[1], reading.end)
        state[2] = max(state[2], reading.received_at)
    for device_id, (seq, end, received) in last.items():
        row = seen.get(device_id) or MonitorDevice(
            device_id=device_id, last_seq=seq, last_end=end, last_received=received
        )
        row.last_seq, row.last_end, row.last_received = seq, end, received
        session.add(row)
    session.flush()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _names(session: Session, r: Round) -> None:
    """Identifiers of the sources and addresses of the terminals the round's alerts name."""
    sources = {s for (scope, s, _, _) in r.figures if scope == "source"}
    devices = {reading.device_id for reading in r.readings}
    if sources:
        query = select(EmissionSource.id, EmissionSource.identifier)
        for row in session.execute(query.where(EmissionSource.id.in_(sources))):  # type: ignore[union-attr]
            r.sources[row.id] = row.identifier
    if devices:
        query = select(Device.id, Device.address).where(Device.id.in_(devices))  # type: ignore[union-attr]
        for row in session.execute(query):
            r.devices[row.id] = row.address


class MonitorWorker:
    """One round at a time over a database; ``run_once`` is safe to kill at any point."""

    def __init__(self, engine: Engine, offset_h: int, round_records: int) -> None:
        self.engine = engine
        self.offset_h = offset_h
        self.round_records = round_records

    def run_once(self, now: int | None = None) -> RoundResult:
        now = now if now is not None else int(datetime.now(UTC).timestamp())
        with Session(self.engine) as session:
            position = _lock_cursor(session, "records")
            readings = _read(session, position, self.round_records, now)
            r = _fold(session, readings, self.offset_h)
            r.now = now
            _devices(session, r)
            _names(session, r)
            evaluate(session, r)
            watch_events(session)
            if readings:
                position = readings[-1].id
                _move(session, "records", position)
            session.commit()
        return RoundResult(len(readings), position)

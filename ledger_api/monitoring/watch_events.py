"""What watchers are told besides alerts: a worse grade, a superseded evaluation, a revoked
terminal. Read from the evaluations and registry events after their own cursors, in the
worker's round transaction."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlmodel import Session

from ledger_api.core.models import Device, Enterprise, Evaluation, MonitorCursor, RegistryEvent
from ledger_api.monitoring.outbox import enqueue


def _position(session: Session, name: str) -> int:
    found = session.get(MonitorCursor, name)
    if found is None:
        session.add(MonitorCursor(name=name, position=0))
        session.flush()
        return 0
    return found.position


def _move(session: Session, name: str, position: int) -> None:
    session.execute(
        update(MonitorCursor).where(MonitorCursor.name == name).values(position=position)
    )


def _evaluation(session: Session, row: Evaluation) -> None:
    enterprise = session.get(Enterprise, row.enterprise_id)
    assert enterprise is not None
    base = {
        "enterprise": enterprise.identifier,
        "evaluation": row.identifier,
        "periodStart": row.period_start,
        "periodEnd": row.period_end,
        "grade": row.grade,
    }
    previous = session.scalar(
        select(Evaluation)
        .where(
            Evaluation.enterprise_id == row.enterprise_id,
            Evaluation.id < row.id,  # type: ignore[operator]
            Evaluation.grade.is_not(None),
        )  # type: ignore[union-attr]
        .order_by(Evaluation.id.desc())  # type: ignore[union-attr]
        .limit(1)
    )
    if (
        row.grade is not None
        and previous is not None
        and previous.grade is not None
        and row.grade > previous.grade
    ):
        data = {**base, "previousEvaluation": previous.identifier, "previousGrade": previous.grade}
        enqueue(session, row.enterprise_id, "evaluation.grade_worsened", data)
    for old in session.scalars(
        select(Evaluation).where(Evaluation.superseded_by == row.identifier)
    ):
        enqueue(
            session,
            row.enterprise_id,
            "evaluation.superseded",
            {**base, "superseded": old.identifier},
        )


def watch_events(session: Session) -> None:
    after = _position(session, "evaluations")
    rows = list(
        session.scalars(
            select(Evaluation).where(Evaluation.id > after).order_by(Evaluation.id).limit(1000)
        )
    )  # type: ignore[operator, arg-type]
    for row in rows:
        _evaluation(session, row)
    if rows:
        _move(session, "evaluations", rows[-1].id or after)
    after = _position(session, "registry")
    events = list(
        session.scalars(
            select(RegistryEvent)
            .where(RegistryEvent.id > after)
            .order_by(RegistryEvent.id)
            .limit(1000)
        )
    )  # type: ignore[operator, arg-type]
    for event in events:
        if event.type == "device.revoked":
            device = session.scalar(select(Device).where(Device.address == event.subject))
            if device is not None:
                enterprise = session.get(Enterprise, device.enterprise_id)
                assert enterprise is not None
                enqueue(
                    session,
                    device.enterprise_id,
                    "terminal.revoked",
                    {
                        "enterprise": enterprise.identifier,
                        "device": device.address,
                        "event": event.digest,
                    },
                )
    if events:
        _move(session, "registry", events[-1].id or after)

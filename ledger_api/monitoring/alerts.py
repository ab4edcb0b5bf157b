"""The alert lifecycle: raised → (escalated) → acknowledged → resolved, every change an
event with who and when, and every change owed to the subscribers in the same transaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import rfc8785
from sqlalchemy import select
from sqlmodel import Session

from ledger_api.core.models import Alert, AlertEvent, Enterprise, MonitorRule
from ledger_api.monitoring.outbox import enqueue

MONITOR = "monitor"


def open_alert(session: Session, rule_id: int, subject: str) -> Alert | None:
    return session.scalar(
        select(Alert).where(
            Alert.rule_id == rule_id,
            Alert.subject == subject,
            Alert.resolved_at.is_(None),  # type: ignore[union-attr]
        )
    )


def alert_data(session: Session, alert: Alert, event: AlertEvent) -> dict[str, Any]:
    enterprise = session.get(Enterprise, alert.enterprise_id)
    return {
        "alert": alert.id,
        "rule": alert.rule_id,
        "kind": alert.kind,
        "enterprise": enterprise.identifier if enterprise else None,
        "subject": alert.subject,
        "level": alert.level,
        "state": alert.state,
        "message": alert.message,
        "figures": json.loads(alert.figures),
        "action": event.action,
        "actor": event.actor,
        "note": event.note,
    }


def record(session: Session, alert: Alert, action: str, actor: str, note: str | None) -> None:
    """Store the change and owe it to every subscriber who hears of the enterprise."""
    assert alert.id is not None
    event = AlertEvent(alert_id=alert.id, action=action, actor=actor, note=note, level=alert.level)
    session.add(event)
    enqueue(session, alert.enterprise_id, f"alert.{action}", alert_data(session, alert, event))


def _rank(level: str) -> float:
    try:
        return float(level)
    except ValueError:
        return 0.0


#: The open alerts of a round by (rule id, subject), loaded once: the worker asks for every
#: reading, and a query per reading would cap it far below the ingest rate.
Opened = dict[tuple[int, str], Alert]


def load_open(session: Session, rule_ids: list[int]) -> Opened:
    rows = session.scalars(
        select(Alert).where(
            Alert.rule_id.in_(rule_ids),  # type: ignore[attr-defined]
            Alert.resolved_at.is_(None),  # type: ignore[union-attr]
        )
    )
    return {(a.rule_id, a.subject): a for a in rows}


def raise_alert(
    session: Session,
    rule: MonitorRule,
    subject: str,
    message: str,
    figures: dict[str, Any],
    level: str = "",
    opened: Opened | None = None,
) -> Alert:
    """Raise, or escalate the open alert of this rule and subject to a higher level."""
    assert rule.id is not None
    if opened is None:
        found = open_alert(session, rule.id, subject)
    else:
        found = opened.get((rule.id, subject))
    if found is not None:
        if level and _rank(level) > _rank(found.level):
            found.level, found.message = level, message
            found.figures = rfc8785.dumps(figures).decode()
            session.add(found)
            record(session, found, "escalated", MONITOR, None)
        return found
    alert = Alert(
        rule_id=rule.id,
        enterprise_id=rule.enterprise_id,
        kind=rule.kind,
        subject=subject,
        level=level,
        message=message[:500],
        figures=rfc8785.dumps(figures).decode(),
    )
    session.add(alert)
    session.flush()
    record(session, alert, "raised", MONITOR, None)
    if opened is not None:
        opened[(rule.id, subject)] = alert
    return alert


def clear(
    session: Session, rule: MonitorRule, subject: str, why: str, opened: Opened | None = None
) -> None:
    """The condition no longer holds: resolve the open alert, if any."""
    assert rule.id is not None
    if opened is None:
        found = open_alert(session, rule.id, subject)
    else:
        found = opened.pop((rule.id, subject), None)
    if found is not None:
        resolve(session, found, MONITOR, why)


def acknowledge(session: Session, alert: Alert, actor: str, note: str | None) -> None:
    alert.state, alert.acknowledged_at = "acknowledged", datetime.now(UTC)
    session.add(alert)
    record(session, alert, "acknowledged", actor, note)


def resolve(session: Session, alert: Alert, actor: str, note: str | None) -> None:
    alert.state, alert.resolved_at = "resolved", datetime.now(UTC)
    session.add(alert)
    record(session, alert, "resolved", actor, note)

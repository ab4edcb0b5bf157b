"""Queries and writes of the monitoring API: alerts, rules, watchlists, subscriptions and
deliveries, each seen only by callers who may see its enterprise (the same 404 otherwise)."""

from __future__ import annotations

import json
from typing import Any

import rfc8785
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlmodel import Session

from ledger_api.access.deps import Caller, enterprise_for, manages, sees, visible_enterprises
from ledger_api.core.errors import ApiError, Problem, not_found
from ledger_api.core.models import (
    Alert,
    AlertEvent,
    EmissionSource,
    Enterprise,
    MonitorRule,
)
from ledger_api.monitoring import alerts as lifecycle
from ledger_api.monitoring.rule_kinds import KINDS
from ledger_api.monitoring.schemas import (
    AlertEventOut,
    AlertOut,
    AlertPage,
    RuleIn,
    RuleOut,
    RuleUpdate,
)
from ledger_api.monitoring.templates import template_for


def _identifier(session: Session, enterprise_id: int) -> str:
    found = session.get(Enterprise, enterprise_id)
    return found.identifier if found else ""


def alert_out(session: Session, alert: Alert, events: bool = False) -> AlertOut:
    assert alert.id is not None
    history = []
    if events:
        rows = session.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id)  # type: ignore[arg-type]
        )
        history = [
            AlertEventOut(action=e.action, actor=e.actor, note=e.note, level=e.level, at=e.at)
            for e in rows
        ]
    return AlertOut(
        id=alert.id,
        rule=alert.rule_id,
        kind=alert.kind,
        enterprise=_identifier(session, alert.enterprise_id),
        subject=alert.subject,
        level=alert.level,
        state=alert.state,
        message=alert.message,
        figures=json.loads(alert.figures),
        raisedAt=alert.raised_at,
        acknowledgedAt=alert.acknowledged_at,
        resolvedAt=alert.resolved_at,
        events=history,
    )


def list_alerts(
    session: Session,
    caller: Caller,
    enterprise: str | None,
    state: str | None,
    kind: str | None,
    limit: int,
    offset: int,
) -> AlertPage:
    query = select(Alert)
    if enterprise is not None:
        found = enterprise_for(session, caller, enterprise)
        query = query.where(Alert.enterprise_id == found.id)
    else:
        visible = visible_enterprises(session, caller)
        if visible is not None:
            ids = select(Enterprise.id).where(Enterprise.identifier.in_(visible))  # type: ignore[attr-defined]
            query = query.where(Alert.enterprise_id.in_(ids))  # type: ignore[attr-defined]
    if state == "open":
        query = query.where(Alert.resolved_at.is_(None))  # type: ignore[union-attr]
    elif state is not None:
        query = query.where(Alert.state == state)
    if kind is not None:
        query = query.where(Alert.kind == kind)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Alert.id.desc()).limit(limit).offset(offset))  # type: ignore[union-attr]
    return AlertPage(alerts=[alert_out(session, a) for a in rows], total=total)


def visible_alert(session: Session, caller: Caller, alert_id: int) -> Alert:
    found = session.get(Alert, alert_id)
    if found is None or not sees(session, caller, found.enterprise_id):
        raise not_found("alert", str(alert_id))
    return found


def change_alert(
    session: Session, caller: Caller, alert_id: int, action: str, note: str | None
) -> AlertOut:
    """Acknowledge or resolve by hand: whoever manages the enterprise (others 404 if they
    may not see it, 403 if they only read it)."""
    alert = visible_alert(session, caller, alert_id)
    if not manages(caller, alert.enterprise_id):
        raise ApiError(403, "forbidden", "only the enterprise or an admin changes its alerts")
    if alert.resolved_at is not None:
        raise ApiError(409, "alert_resolved", f"alert {alert_id} is already resolved", "id")
    if action == "acknowledge":
        if alert.state == "acknowledged":
            raise ApiError(
                409, "alert_acknowledged", f"alert {alert_id} is already acknowledged", "id"
            )
        lifecycle.acknowledge(session, alert, caller.name, note)
    else:
        lifecycle.resolve(session, alert, caller.name, note)
    session.commit()
    return alert_out(session, alert, events=True)


def _params(kind: str, params: dict[str, Any]) -> str:
    try:
        model = KINDS[kind].model_validate(params)
    except ValidationError as exc:
        problems = [
            Problem(
                code=str(e["type"]),
                message=e["msg"],
                field=".".join(["params", *map(str, e["loc"])]),
            )
            for e in exc.errors()
        ]
        raise ApiError(
            422,
            "invalid_rule_params",
            f"parameters do not fit a {kind} rule",
            problems[0].field if problems else "params",
            problems,
        ) from None
    return rfc8785.dumps(model.model_dump(mode="json", by_alias=True)).decode()


def rule_out(session: Session, rule: MonitorRule) -> RuleOut:
    assert rule.id is not None
    source = session.get(EmissionSource, rule.source_id) if rule.source_id else None
    return RuleOut(
        id=rule.id,
        enterprise=_identifier(session, rule.enterprise_id),
        source=source.identifier if source else None,
        kind=rule.kind,
        name=rule.name,
        params=json.loads(rule.params),
        active=rule.active,
        createdBy=rule.created_by,
        createdAt=rule.created_at,
    )


def _source(session: Session, enterprise: Enterprise, identifier: str | None) -> int | None:
    if identifier is None:
        return None
    found = session.scalar(select(EmissionSource).where(EmissionSource.identifier == identifier))
    if found is None or found.enterprise_id != enterprise.id:
        raise ApiError(
            422,
            "source_not_in_enterprise",
            f"no source {identifier} of {enterprise.identifier}",
            "source",
        )
    return found.id


def create_rule(session: Session, caller: Caller, body: RuleIn) -> RuleOut:
    enterprise = enterprise_for(session, caller, body.enterprise, write=True)
    assert enterprise.id is not None
    rule = MonitorRule(
        enterprise_id=enterprise.id,
        source_id=_source(session, enterprise, body.source),
        kind=body.kind,
        params=_params(body.kind, body.params),
        name=body.name or body.kind.replace("_", " "),
        created_by=caller.name,
    )
    session.add(rule)
    session.commit()
    return rule_out(session, rule)


def apply_template(
    session: Session, caller: Caller, enterprise_id: str, industry: str | None
) -> list[RuleOut]:
    enterprise = enterprise_for(session, caller, enterprise_id, write=True)
    assert enterprise.id is not None
    rules = []
    for kind, name, params in template_for(industry or enterprise.industry):
        rule = MonitorRule(
            enterprise_id=enterprise.id,
            kind=kind,
            params=_params(kind, params),
            name=name,
            created_by=caller.name,
        )
        session.add(rule)
        rules.append(rule)
    session.commit()
    return [rule_out(session, r) for r in rules]


def visible_rule(
    session: Session, caller: Caller, rule_id: int, write: bool = False
) -> MonitorRule:
    found = session.get(MonitorRule, rule_id)
    allowed = found is not None and (
        manages(caller, found.enterprise_id)
        if write
        else sees(session, caller, found.enterprise_id)
    )
    if found is None or not allowed:
        raise not_found("rule", str(rule_id))
    return found


def list_rules(session: Session, caller: Caller, enterprise: str) -> list[RuleOut]:
    found = enterprise_for(session, caller, enterprise)
    rows = session.scalars(
        select(MonitorRule).where(MonitorRule.enterprise_id == found.id).order_by(MonitorRule.id)
    )  # type: ignore[arg-type]
    return [rule_out(session, r) for r in rows]


def update_rule(session: Session, caller: Caller, rule_id: int, body: RuleUpdate) -> RuleOut:
    rule = visible_rule(session, caller, rule_id, write=True)
    if body.params is not None:
        rule.params = _params(rule.kind, body.params)
    if body.name is not None:
        rule.name = body.name
    if body.active is not None:
        rule.active = body.active
        if not body.active:
            _close_all(session, rule, caller.name, "rule switched off")
    session.add(rule)
    session.commit()
    return rule_out(session, rule)


def _close_all(session: Session, rule: MonitorRule, actor: str, why: str) -> None:
    open_alerts = session.scalars(
        select(Alert).where(Alert.rule_id == rule.id, Alert.resolved_at.is_(None))  # type: ignore[union-attr]
    )
    for alert in list(open_alerts):
        lifecycle.resolve(session, alert, actor, why)


def delete_rule(session: Session, caller: Caller, rule_id: int) -> None:
    """Rules are switched off, never deleted: their alerts keep naming them."""
    update_rule(session, caller, rule_id, RuleUpdate(active=False))

"""Alerts: list and filter, read one with its history, acknowledge, resolve by hand."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from ledger_api.access.deps import Manager, Reader
from ledger_api.core.deps import SessionDep
from ledger_api.core.schemas import RowId
from ledger_api.monitoring import service
from ledger_api.monitoring.rule_kinds import RuleKind
from ledger_api.monitoring.schemas import AlertOut, AlertPage, NoteIn, ResolveIn

router = APIRouter(prefix="/v1/alerts", tags=["monitoring"])

State = Literal["open", "raised", "acknowledged", "resolved"]


@router.get("", response_model=AlertPage)
def list_alerts(
    session: SessionDep,
    caller: Reader,
    enterprise: str | None = Query(None, max_length=128),
    state: State | None = None,
    kind: RuleKind | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=2**31),
) -> AlertPage:
    """Alerts of the enterprises the caller may see, newest first."""
    return service.list_alerts(session, caller, enterprise, state, kind, limit, offset)


@router.get("/{alert_id}", response_model=AlertOut)
def get_alert(alert_id: RowId, session: SessionDep, caller: Reader) -> AlertOut:
    return service.alert_out(session, service.visible_alert(session, caller, alert_id), True)


@router.post("/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge(
    alert_id: RowId, session: SessionDep, caller: Manager, body: NoteIn | None = None
) -> AlertOut:
    return service.change_alert(
        session, caller, alert_id, "acknowledge", body.note if body else None
    )


@router.post("/{alert_id}/resolve", response_model=AlertOut)
def resolve(alert_id: RowId, body: ResolveIn, session: SessionDep, caller: Manager) -> AlertOut:
    """Resolve by hand, with a note saying why."""
    return service.change_alert(session, caller, alert_id, "resolve", body.note)

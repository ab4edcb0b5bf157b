"""Request and response bodies of alerts, rules, watchlists and webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from ledger_api.core.schemas import IDENTIFIER, Strict
from ledger_api.monitoring.rule_kinds import RuleKind


class AlertEventOut(BaseModel):
    action: str
    actor: str
    note: str | None
    level: str
    at: datetime


class AlertOut(BaseModel):
    id: int
    rule: int
    kind: str
    enterprise: str
    subject: str
    level: str
    state: str
    message: str
    figures: dict[str, Any]
    raisedAt: datetime
    acknowledgedAt: datetime | None
    resolvedAt: datetime | None
    events: list[AlertEventOut] = []


class AlertPage(BaseModel):
    alerts: list[AlertOut]
    total: int


class NoteIn(Strict):
    note: str | None = Field(None, max_length=1000)


class ResolveIn(Strict):
    note: str = Field(min_length=1, max_length=1000)


class RuleIn(Strict):
    enterprise: str = Field(pattern=IDENTIFIER)
    source: str | None = Field(None, pattern=IDENTIFIER)
    kind: RuleKind
    name: str | None = Field(None, min_length=1, max_length=100)
    params: dict[str, Any]


class RuleUpdate(Strict):
    name: str | None = Field(None, min_length=1, max_length=100)
    params: dict[str, Any] | None = None
    active: bool | None = None


class RuleOut(BaseModel):
    id: int
    enterprise: str
    source: str | None
    kind: str
    name: str
    params: dict[str, Any]
    active: bool
    createdBy: str
    createdAt: datetime


class TemplateIn(Strict):
    enterprise: str = Field(pattern=IDENTIFIER)
    industry: str | None = Field(None, max_length=64)


class WatchIn(Strict):
    enterprise: str = Field(pattern=IDENTIFIER)


class WatchOut(BaseModel):
    enterprise: str
    since: datetime


class SubscriptionIn(Strict):
    url: str = Field(min_length=8, max_length=2000)
    enterprise: str | None = Field(None, pattern=IDENTIFIER)


class SubscriptionOut(BaseModel):
    id: int
    url: str
    enterprise: str | None
    createdAt: datetime
    endedAt: datetime | None


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="The signing secret: shown this once, never again.")


class DeliveryOut(BaseModel):
    id: int
    subscription: int
    messageId: str
    eventType: str
    state: str
    attempts: int
    nextAttempt: int
    lastStatus: int | None
    lastError: str | None
    createdAt: datetime
    deliveredAt: datetime | None
    payload: dict[str, Any]

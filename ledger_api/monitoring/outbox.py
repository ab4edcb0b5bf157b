"""The webhook outbox: who is told of what, written in the caller's transaction.

A subscription hears of an enterprise's events when its principal may see the enterprise and
either belongs to it (or administers the ledger) or watches it (financiers, regulators and
verifiers, by their watchlist). Visibility is decided when the message is written: a grant
withdrawn later stops new messages, not the ones already owed.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import rfc8785
from sqlalchemy import select
from sqlmodel import Session

from ledger_api.core.models import (
    AccessGrant,
    Principal,
    Watch,
    WebhookDelivery,
    WebhookSubscription,
)


def message_id() -> str:
    """The webhook-id of a new message: every attempt and replay of it carries the same."""
    return "msg_" + secrets.token_hex(16)


def _granted(session: Session, enterprise_id: int, grantee_id: int) -> bool:
    """The access rule's grant check, asked here so the worker process need not load the
    request layer (and the chain client it imports)."""
    found = session.scalar(
        select(AccessGrant.id).where(
            AccessGrant.enterprise_id == enterprise_id,
            AccessGrant.grantee_id == grantee_id,
            AccessGrant.revoked_at.is_(None),  # type: ignore[union-attr]
        )
    )
    return found is not None


def _hears(session: Session, principal: Principal, enterprise_id: int) -> bool:
    if principal.role == "admin":
        return True
    if principal.role == "enterprise":
        return principal.enterprise_id == enterprise_id
    if principal.role not in ("regulator", "financier", "verifier"):
        return False
    watched = session.scalar(
        select(Watch.id).where(
            Watch.principal_id == principal.id, Watch.enterprise_id == enterprise_id
        )
    )
    if watched is None:
        return False
    return principal.role == "regulator" or _granted(session, enterprise_id, principal.id or 0)


def recipients(session: Session, enterprise_id: int) -> list[WebhookSubscription]:
    rows = session.execute(
        select(WebhookSubscription, Principal)
        .join(Principal, Principal.id == WebhookSubscription.principal_id)
        .where(WebhookSubscription.ended_at.is_(None))  # type: ignore[union-attr]
    ).all()
    return [
        sub
        for sub, principal in rows
        if sub.enterprise_id in (None, enterprise_id) and _hears(session, principal, enterprise_id)
    ]


def enqueue(session: Session, enterprise_id: int, event_type: str, data: dict[str, Any]) -> int:
    """Owe every recipient one message; returns how many were written."""
    now = datetime.now(UTC)
    payload = {"type": event_type, "timestamp": now.isoformat(timespec="seconds"), "data": data}
    body = rfc8785.dumps(payload).decode()
    subs = recipients(session, enterprise_id)
    for sub in subs:
        assert sub.id is not None
        session.add(
            WebhookDelivery(
                subscription_id=sub.id,
                message_id=message_id(),
                event_type=event_type,
                enterprise_id=enterprise_id,
                payload=body,
                next_attempt=int(now.timestamp()),
            )
        )
    return len(subs)

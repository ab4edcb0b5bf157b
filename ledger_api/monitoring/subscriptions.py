"""Watchlists, webhook subscriptions and their deliveries: each principal sees and changes
its own; an enterprise it names must be one it may see (the same 404 otherwise)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session

from ledger_api.access.deps import Caller, Role, enterprise_for
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import Enterprise, Watch, WebhookDelivery, WebhookSubscription
from ledger_api.monitoring.delivery import check_url, new_secret
from ledger_api.monitoring.schemas import (
    DeliveryOut,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    WatchOut,
)


def watchlist(session: Session, caller: Caller) -> list[WatchOut]:
    rows = session.execute(
        select(Watch, Enterprise.identifier)
        .join(Enterprise, Enterprise.id == Watch.enterprise_id)
        .where(Watch.principal_id == caller.principal_id)
        .order_by(Enterprise.identifier)
    )
    return [WatchOut(enterprise=identifier, since=w.created_at) for w, identifier in rows]


def watch(session: Session, caller: Caller, identifier: str) -> WatchOut:
    enterprise = enterprise_for(session, caller, identifier)
    found = session.scalar(
        select(Watch).where(
            Watch.principal_id == caller.principal_id, Watch.enterprise_id == enterprise.id
        )
    )
    if found is None:
        assert enterprise.id is not None
        found = Watch(principal_id=caller.principal_id, enterprise_id=enterprise.id)
        session.add(found)
        session.commit()
    return WatchOut(enterprise=enterprise.identifier, since=found.created_at)


def unwatch(session: Session, caller: Caller, identifier: str) -> None:
    enterprise = enterprise_for(session, caller, identifier)
    found = session.scalar(
        select(Watch).where(
            Watch.principal_id == caller.principal_id, Watch.enterprise_id == enterprise.id
        )
    )
    if found is None:
        raise not_found("watch", identifier)
    session.delete(found)
    session.commit()


def _out(session: Session, sub: WebhookSubscription) -> SubscriptionOut:
    assert sub.id is not None
    enterprise = session.get(Enterprise, sub.enterprise_id) if sub.enterprise_id else None
    return SubscriptionOut(
        id=sub.id,
        url=sub.url,
        enterprise=enterprise.identifier if enterprise else None,
        createdAt=sub.created_at,
        endedAt=sub.ended_at,
    )


def subscribe(
    session: Session, caller: Caller, body: SubscriptionIn, allow_private: bool
) -> SubscriptionCreated:
    """A new subscription and its secret, which is answered here and never again."""
    enterprise_id = None
    if body.enterprise is not None:
        enterprise_id = enterprise_for(session, caller, body.enterprise).id
    check_url(body.url, allow_private)
    sub = WebhookSubscription(
        principal_id=caller.principal_id,
        url=body.url,
        secret=new_secret(),
        enterprise_id=enterprise_id,
    )
    session.add(sub)
    session.commit()
    return SubscriptionCreated(**_out(session, sub).model_dump(), secret=sub.secret)


def own_subscription(session: Session, caller: Caller, sub_id: int) -> WebhookSubscription:
    found = session.get(WebhookSubscription, sub_id)
    if found is None or (found.principal_id != caller.principal_id and caller.role != Role.ADMIN):
        raise not_found("subscription", str(sub_id))
    return found


def subscriptions(session: Session, caller: Caller) -> list[SubscriptionOut]:
    rows = session.scalars(
        select(WebhookSubscription)
        .where(WebhookSubscription.principal_id == caller.principal_id)
        .order_by(WebhookSubscription.id)  # type: ignore[arg-type]
    )
    return [_out(session, s) for s in rows]


def end_subscription(session: Session, caller: Caller, sub_id: int) -> SubscriptionOut:
    sub = own_subscription(session, caller, sub_id)
    if sub.ended_at is None:
        sub.ended_at = datetime.now(UTC)
        session.add(sub)
        session.commit()
    return _out(session, sub)


def delivery_out(row: WebhookDelivery) -> DeliveryOut:
    assert row.id is not None
    return DeliveryOut(
        id=row.id,
        subscription=row.subscription_id,
        messageId=row.message_id,
        eventType=row.event_type,
        state=row.state,
        attempts=row.attempts,
        nextAttempt=row.next_attempt,
        lastStatus=row.last_status,
        lastError=row.last_error,
        createdAt=row.created_at,
        deliveredAt=row.delivered_at,
        payload=json.loads(row.payload),
    )


def deliveries(
    session: Session,
    caller: Caller,
    subscription: int | None,
    state: str | None,
    limit: int,
    offset: int,
) -> list[DeliveryOut]:
    mine = select(WebhookSubscription.id).where(
        WebhookSubscription.principal_id == caller.principal_id
    )
    query = select(WebhookDelivery).where(WebhookDelivery.subscription_id.in_(mine))  # type: ignore[attr-defined]
    if subscription is not None:
        query = query.where(WebhookDelivery.subscription_id == subscription)
    if state is not None:
        query = query.where(WebhookDelivery.state == state)
    rows = session.scalars(query.order_by(WebhookDelivery.id).limit(limit).offset(offset))  # type: ignore[arg-type]
    return [delivery_out(r) for r in rows]


def replay(session: Session, caller: Caller, delivery_id: int) -> DeliveryOut:
    """Send a message again under its own webhook-id (receivers that have it drop it)."""
    row = session.get(WebhookDelivery, delivery_id)
    sub = session.get(WebhookSubscription, row.subscription_id) if row else None
    if row is None or sub is None or sub.principal_id != caller.principal_id:
        raise not_found("delivery", str(delivery_id))
    if sub.ended_at is not None:
        raise ApiError(409, "subscription_ended", f"subscription {sub.id} has ended", "id")
    row.state, row.attempts, row.last_error = "pending", 0, None
    row.next_attempt = int(datetime.now(UTC).timestamp())
    session.add(row)
    session.commit()
    return delivery_out(row)

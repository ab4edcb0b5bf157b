"""Watchlists, webhook subscriptions and their deliveries (with replay)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from ledger_api.access.deps import Caller, Reader, Role, allow
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.schemas import RowId, RowIdQuery
from ledger_api.monitoring import subscriptions as subs
from ledger_api.monitoring.schemas import (
    DeliveryOut,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionOut,
    WatchIn,
    WatchOut,
)

router = APIRouter(prefix="/v1", tags=["monitoring"])

#: Watch enterprises: the roles that read others' enterprises.
Watcher = Annotated[Caller, Depends(allow(Role.FINANCIER, Role.REGULATOR, Role.VERIFIER))]


@router.get("/watchlist", response_model=list[WatchOut])
def watchlist(session: SessionDep, caller: Watcher) -> list[WatchOut]:
    return subs.watchlist(session, caller)


@router.post("/watchlist", response_model=WatchOut, status_code=201)
def watch(body: WatchIn, session: SessionDep, caller: Watcher) -> WatchOut:
    return subs.watch(session, caller, body.enterprise)


@router.delete("/watchlist", status_code=204)
def unwatch(
    session: SessionDep, caller: Watcher, enterprise: str = Query(max_length=128)
) -> Response:
    subs.unwatch(session, caller, enterprise)
    return Response(status_code=204)


@router.post("/webhook-subscriptions", response_model=SubscriptionCreated, status_code=201)
def subscribe(
    body: SubscriptionIn, session: SessionDep, caller: Reader, context: Context
) -> SubscriptionCreated:
    """Subscribe a URL; the answer carries the signing secret, shown this once."""
    return subs.subscribe(session, caller, body, context.settings.webhook_allow_private)


@router.get("/webhook-subscriptions", response_model=list[SubscriptionOut])
def list_subscriptions(session: SessionDep, caller: Reader) -> list[SubscriptionOut]:
    return subs.subscriptions(session, caller)


@router.delete("/webhook-subscriptions/{sub_id}", response_model=SubscriptionOut)
def end_subscription(sub_id: RowId, session: SessionDep, caller: Reader) -> SubscriptionOut:
    return subs.end_subscription(session, caller, sub_id)


@router.get("/webhook-deliveries", response_model=list[DeliveryOut])
def list_deliveries(
    session: SessionDep,
    caller: Reader,
    subscription: RowIdQuery = None,
    state: Literal["pending", "delivered", "dead"] | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=2**31),
) -> list[DeliveryOut]:
    return subs.deliveries(session, caller, subscription, state, limit, offset)


@router.post("/webhook-deliveries/{delivery_id}/replay", response_model=DeliveryOut)
def replay(delivery_id: RowId, session: SessionDep, caller: Reader) -> DeliveryOut:
    """Owe the message again, under its own webhook-id."""
    return subs.replay(session, caller, delivery_id)

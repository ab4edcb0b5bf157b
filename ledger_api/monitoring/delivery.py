"""Webhook delivery from the outbox: Standard Webhooks signatures (HMAC-SHA256 over
``id.timestamp.body``), at least once under one webhook-id per message, retried with
exponential backoff and dead-lettered after a bound (docs/monitoring.md, "Delivery")."""

from __future__ import annotations

import base64
import ipaddress
import logging
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from standardwebhooks import Webhook

from ledger_api.core.errors import ApiError
from ledger_api.core.models import WebhookDelivery, WebhookSubscription

log = logging.getLogger("carbon_ledger.monitor")

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks spelling (24 random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return not ip.is_global or ip.is_multicast


def check_url(url: str, allow_private: bool) -> None:
    """http(s) only; unless allowed, no host that is or resolves to a loopback, private,
    link-local or otherwise non-public address (the ledger must not be made to call inside)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ApiError(422, "webhook_url_invalid", "the URL does not parse", "url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(422, "webhook_url_scheme", "the URL must be http or https", "url")
    if parts.username or parts.password:
        raise ApiError(422, "webhook_url_credentials", "no credentials in the URL", "url")
    if allow_private:
        return
    try:
        found = {info[4][0] for info in socket.getaddrinfo(parts.hostname, port or 443)}
    except (OSError, UnicodeError, ValueError):
        raise ApiError(
            422, "webhook_url_unresolvable", "the host does not resolve", "url"
        ) from None
    if any(_blocked(str(address).split("%")[0]) for address in found):
        raise ApiError(422, "webhook_url_private", "the host is not a public address", "url")


@dataclass(frozen=True)
class Policy:
    max_attempts: int
    backoff_s: float
    backoff_max_s: float
    timeout_s: float
    allow_private: bool

    def delay(self, attempts: int) -> int:
        """Seconds before attempt ``attempts + 1``: the first delay, doubled each time."""
        return int(min(self.backoff_s * 2 ** (attempts - 1), self.backoff_max_s))


def _attempt(
    http: httpx.Client, sub: WebhookSubscription, row: WebhookDelivery, policy: Policy
) -> tuple[int | None, str | None]:
    try:
        check_url(sub.url, policy.allow_private)  # again: a name may now resolve elsewhere
    except ApiError as exc:
        return None, exc.code
    sent_at = datetime.now(UTC)
    signature = Webhook(sub.secret).sign(row.message_id, sent_at, row.payload)
    headers = {
        "content-type": "application/json",
        "webhook-id": row.message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }
    try:
        answer = http.post(sub.url, content=row.payload.encode(), headers=headers)
    except httpx.HTTPError as exc:
        return None, exc.__class__.__name__
    return answer.status_code, None if answer.is_success else f"HTTP {answer.status_code}"


def _due(engine: Engine, now: int, limit: int) -> list[int]:
    with Session(engine) as session:
        query = (
            select(WebhookDelivery.id)
            .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt <= now)
            .order_by(WebhookDelivery.id)  # type: ignore[arg-type]
            .limit(limit)
        )
        return [i for i in session.scalars(query) if i is not None]


def send_due(engine: Engine, policy: Policy, now: int | None = None, limit: int = 200) -> int:
    """Attempt every delivery that is due, oldest first; returns how many arrived. A receiver
    that fails waits its backoff while the others are served."""
    now = now if now is not None else int(datetime.now(UTC).timestamp())
    delivered = 0
    failed: set[int] = set()
    with httpx.Client(timeout=policy.timeout_s, follow_redirects=False) as http:
        for delivery_id in _due(engine, now, limit):
            with Session(engine) as session:
                row = session.get(WebhookDelivery, delivery_id)
                sub = session.get(WebhookSubscription, row.subscription_id) if row else None
                if row is None or sub is None or row.state != "pending":
                    continue
                if sub.ended_at is not None:
                    row.state, row.last_error = "dead", "subscription ended"
                elif sub.id in failed:
                    continue  # one failure a round per receiver: its backlog keeps its order
                else:
                    status, error = _attempt(http, sub, row, policy)
                    _settle(row, status, error, policy, now)
                    if row.state == "delivered":
                        delivered += 1
                    elif sub.id is not None:
                        failed.add(sub.id)
                session.add(row)
                session.commit()
    return delivered


def _settle(
    row: WebhookDelivery, status: int | None, error: str | None, policy: Policy, now: int
) -> None:
    row.attempts += 1
    row.last_status = status
    if error is None:
        row.state, row.last_error, row.delivered_at = "delivered", None, datetime.now(UTC)
        return
    row.last_error = error[:300]
    if row.attempts >= policy.max_attempts:
        row.state = "dead"
        log.warning("webhook delivery %s dead after %d attempts", row.message_id, row.attempts)
    else:
        row.next_attempt = now + policy.delay(row.attempts)

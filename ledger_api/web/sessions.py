"""Portal sessions: an API key is exchanged once for a session kept in the database, so every
API process sees it and signing out ends it everywhere.

The browser holds only a random session token (in an HttpOnly cookie); the row keeps its
SHA-256, a CSRF token for the session's forms, an expiry, and the id of the key it was
opened with — a session ends when its key is revoked, as the key's own requests would.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlmodel import Session

from ledger_api.access.deps import Caller, Role
from ledger_api.access.keys import authenticate, key_id_of
from ledger_api.core.models import ApiKey, Enterprise, Principal, WebSession

#: A working day: long enough for a session's work, short enough that a forgotten browser
#: does not stay signed in for long.
LIFETIME_S = 8 * 3600
#: Roles that may use the portal (terminals only submit records).
PORTAL_ROLES = frozenset(
    {Role.ADMIN, Role.REGULATOR, Role.ENTERPRISE, Role.FINANCIER, Role.VERIFIER}
)


@dataclass(frozen=True)
class WebUser:
    """The caller of a portal request and its session's CSRF token."""

    caller: Caller
    csrf: str


class TerminalKeyError(Exception):
    """A live key whose role may not use the portal."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def caller_of(session: Session, principal: Principal) -> Caller:
    assert principal.id is not None
    enterprise = (
        session.get(Enterprise, principal.enterprise_id) if principal.enterprise_id else None
    )
    return Caller(
        principal.id,
        principal.name,
        Role(principal.role),
        principal.enterprise_id,
        enterprise.identifier if enterprise else None,
        principal.device,
    )


def open_session(session: Session, api_key: str) -> str | None:
    """A new session token for a live portal key; ``None`` for anything else."""
    principal = authenticate(session, api_key)
    key_id = key_id_of(api_key)
    if principal is None or principal.id is None or key_id is None:
        return None
    if Role(principal.role) not in PORTAL_ROLES:
        raise TerminalKeyError(principal.name)
    now = int(time.time())
    # Sessions over for a day are of use to no one: cleared as new ones open.
    session.execute(delete(WebSession).where(WebSession.expires_at < now - 86_400))
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=_hash(token),
            csrf_token=secrets.token_urlsafe(32),
            principal_id=principal.id,
            key_id=key_id,
            expires_at=now + LIFETIME_S,
        )
    )
    session.commit()
    return token


def _live(session: Session, token: str) -> WebSession | None:
    row = session.scalar(select(WebSession).where(WebSession.token_hash == _hash(token)))
    if row is None or row.ended_at is not None or row.expires_at <= time.time():
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.key_id == row.key_id))
    if key is None or key.revoked_at is not None:
        return None
    return row


def session_user(session: Session, token: str | None) -> WebUser | None:
    """The signed-in user of a session token, while the session and its key are live."""
    row = _live(session, token) if token else None
    principal = session.get(Principal, row.principal_id) if row else None
    if row is None or principal is None:
        return None
    return WebUser(caller_of(session, principal), row.csrf_token)


def end_session(session: Session, token: str) -> None:
    """Sign out: the token opens nothing from now on, in any API process."""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == _hash(token)))
    if row is not None and row.ended_at is None:
        row.ended_at = datetime.now(UTC)
        session.add(row)
        session.commit()


def same_token(given: str | None, expected: str | None) -> bool:
    """A constant-time comparison of a form's CSRF token with the expected one."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())

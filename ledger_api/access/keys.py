"""API keys: minted once, shown once, kept only as a hash, revocable.

A key reads ``cl_<key id>_<secret>``. The key id is public (it names the key in lists, logs
and revocations); the secret is 256 random bits, so a plain SHA-256 is enough to store it —
slow password hashes exist for secrets people choose, and they would cost every request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session

from ledger_api.core.models import ApiKey, Principal

PREFIX = "cl"
_KEY = re.compile(r"^cl_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class IssuedKey:
    """A new key. ``token`` exists only here: the ledger keeps its hash."""

    key_id: str
    token: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(session: Session, principal: Principal, label: str | None = None) -> IssuedKey:
    """Add a key for ``principal`` to the session (the caller commits)."""
    assert principal.id is not None
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    session.add(
        ApiKey(key_id=key_id, secret_hash=_hash(secret), principal_id=principal.id, label=label)
    )
    return IssuedKey(key_id, f"{PREFIX}_{key_id}_{secret}")


def key_id_of(token: str) -> str | None:
    """The key id a token claims, or ``None`` when it is not shaped like one of our keys."""
    match = _KEY.match(token)
    return match.group(1) if match else None


def authenticate(session: Session, token: str) -> Principal | None:
    """The principal whose live key ``token`` is; ``None`` for anything else."""
    match = _KEY.match(token)
    if match is None:
        return None
    key = session.scalar(select(ApiKey).where(ApiKey.key_id == match.group(1)))
    # compare_digest keeps the comparison's time independent of where the hashes differ
    if key is None or not hmac.compare_digest(key.secret_hash, _hash(match.group(2))):
        return None
    if key.revoked_at is not None:
        return None
    return session.get(Principal, key.principal_id)


def revoke_key(session: Session, key: ApiKey) -> None:
    """Revoke ``key`` from now on (the caller commits); revoking twice keeps the first time."""
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        session.add(key)

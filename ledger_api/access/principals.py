"""Principals outside HTTP: the first admin key of a fresh ledger, and keys issued from the
command line (which talks to the database, so it needs no key to make the first one)."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from ledger_api.access.keys import IssuedKey, issue_key, revoke_key
from ledger_api.core.db import engine_for
from ledger_api.core.migrate import upgrade
from ledger_api.core.models import ApiKey, Enterprise, Principal


class PrincipalError(ValueError):
    """A principal cannot be created or keyed as asked."""


def _enterprise_id(session: Session, identifier: str | None) -> int | None:
    if identifier is None:
        return None
    found = session.scalar(select(Enterprise.id).where(Enterprise.identifier == identifier))
    if found is None:
        raise PrincipalError(f"no enterprise {identifier}")
    return found


def key_for(
    database_url: str,
    name: str,
    role: str,
    enterprise: str | None = None,
    label: str | None = None,
) -> IssuedKey:
    """A new key for principal ``name``, created with ``role`` when it does not exist yet."""
    upgrade(database_url)
    with Session(engine_for(database_url)) as session:
        principal = session.scalar(select(Principal).where(Principal.name == name))
        enterprise_id = _enterprise_id(session, enterprise)
        if principal is None:
            principal = Principal(name=name, role=role, enterprise_id=enterprise_id)
            session.add(principal)
            session.flush()
        elif principal.role != role or principal.enterprise_id != enterprise_id:
            raise PrincipalError(f"{name} exists as a {principal.role} of another scope")
        issued = issue_key(session, principal, label)
        session.commit()
    return issued


def revoke(database_url: str, key_id: str) -> bool:
    """Revoke a key by its id; ``False`` when there is no such key."""
    with Session(engine_for(database_url)) as session:
        key = session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
        if key is None:
            return False
        revoke_key(session, key)
        session.commit()
    return True


def keys(database_url: str) -> list[tuple[str, str, str, str | None, bool]]:
    """Every key: (key id, principal, role, label, revoked)."""
    with Session(engine_for(database_url)) as session:
        rows = session.execute(
            select(ApiKey.key_id, Principal.name, Principal.role, ApiKey.label, ApiKey.revoked_at)
            .join(Principal, Principal.id == ApiKey.principal_id)
            .order_by(ApiKey.id)
        )
        return [(k, n, r, label, revoked is not None) for k, n, r, label, revoked in rows]

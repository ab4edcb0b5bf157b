"""Consent: an enterprise grants a verifier or financier read access, and may withdraw it.

Each grant and each withdrawal is a registry event, anchored like any record, so an
enterprise can later prove to whom it opened its data and when — and a bank can prove it was
allowed to read what it read.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session

from ledger_api.access.deps import GRANTEE_ROLES, Caller, Role, manages
from ledger_api.access.schemas import GrantOut
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import AccessGrant, Enterprise, Principal
from ledger_api.registry.events import record_event

GRANTED = "access.granted"
REVOKED = "access.revoked"


def grant_access(
    session: Session, enterprise: Enterprise, grantee: Principal, purpose: str | None
) -> tuple[AccessGrant, bool]:
    """The live grant of ``grantee`` on ``enterprise``, created (and recorded) when there is
    none; the flag says whether it is new. The caller commits."""
    assert enterprise.id is not None and grantee.id is not None
    live = session.scalar(
        select(AccessGrant).where(
            AccessGrant.enterprise_id == enterprise.id,
            AccessGrant.grantee_id == grantee.id,
            AccessGrant.revoked_at.is_(None),  # type: ignore[union-attr]
        )
    )
    if live is not None:
        return live, False
    event = record_event(
        session,
        GRANTED,
        enterprise.identifier,
        grantee=grantee.name,
        role=grantee.role,
        purpose=purpose,
    )
    grant = AccessGrant(
        enterprise_id=enterprise.id,
        grantee_id=grantee.id,
        purpose=purpose,
        granted_event=event.digest,
    )
    session.add(grant)
    return grant, True


def revoke_access(session: Session, enterprise: Enterprise, grant: AccessGrant) -> None:
    """Withdraw ``grant`` from now on and record it (the caller commits); once is enough."""
    if grant.revoked_at is not None:
        return
    grantee = session.get(Principal, grant.grantee_id)
    assert grantee is not None
    event = record_event(
        session, REVOKED, enterprise.identifier, grantee=grantee.name, grant=grant.granted_event
    )
    grant.revoked_at = datetime.now(UTC)
    grant.revoked_event = event.digest
    session.add(grant)


def grant_out(session: Session, grant: AccessGrant) -> GrantOut:
    enterprise = session.get(Enterprise, grant.enterprise_id)
    grantee = session.get(Principal, grant.grantee_id)
    assert enterprise is not None and grantee is not None and grant.id is not None
    return GrantOut(
        id=grant.id,
        enterprise=enterprise.identifier,
        grantee=grantee.name,
        role=grantee.role,  # type: ignore[arg-type]
        purpose=grant.purpose,
        created_at=grant.created_at,
        revoked_at=grant.revoked_at,
        granted_event=grant.granted_event,
        revoked_event=grant.revoked_event,
    )


def granting_enterprise(
    session: Session, caller: Caller, identifier: str, *, write: bool
) -> Enterprise:
    """The enterprise, if ``caller`` manages it (or, to read, is a regulator); else 404."""
    found = session.scalar(select(Enterprise).where(Enterprise.identifier == identifier))
    allowed = found is not None and (
        manages(caller, found.id or 0) or (not write and caller.role == Role.REGULATOR)
    )
    if found is None or not allowed:
        raise not_found("enterprise", identifier)
    return found


def create_grant(
    session: Session, enterprise: Enterprise, grantee_name: str, purpose: str | None
) -> tuple[GrantOut, bool]:
    """Grant a verifier or financier access (an anchored event); commits. False when the
    grantee already held a live grant, which is answered instead."""
    grantee = session.scalar(select(Principal).where(Principal.name == grantee_name))
    if grantee is None or grantee.role not in GRANTEE_ROLES:
        raise ApiError(
            422, "invalid_grantee", f"{grantee_name} is no verifier or financier", "grantee"
        )
    grant, created = grant_access(session, enterprise, grantee, purpose)
    session.commit()
    return grant_out(session, grant), created


def list_grants(session: Session, enterprise: Enterprise) -> list[GrantOut]:
    rows = session.scalars(
        select(AccessGrant)
        .where(AccessGrant.enterprise_id == enterprise.id)
        .order_by(AccessGrant.id)
    )
    return [grant_out(session, row) for row in rows]


def grants_held(session: Session, grantee_id: int) -> list[GrantOut]:
    rows = session.scalars(
        select(AccessGrant).where(AccessGrant.grantee_id == grantee_id).order_by(AccessGrant.id)
    )
    return [grant_out(session, row) for row in rows]


def withdraw_grant(session: Session, enterprise: Enterprise, grant_id: int) -> GrantOut:
    """Revoke one of the enterprise's grants from now on (an anchored event); commits."""
    grant = session.get(AccessGrant, grant_id) if 0 < grant_id < 2**63 else None
    if grant is None or grant.enterprise_id != enterprise.id:
        raise not_found("grant", str(grant_id))
    revoke_access(session, enterprise, grant)
    session.commit()
    return grant_out(session, grant)

"""Principals and their API keys over HTTP: who may create, read and revoke which, and the
writes that do it. (Grants: ``grants``; the command line's own path: ``principals``.)"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ledger_api.access.deps import GRANTEE_ROLES, TENANT_ROLES, Caller, Role
from ledger_api.access.grants import grants_held
from ledger_api.access.keys import issue_key, revoke_key
from ledger_api.access.schemas import (
    KeyOut,
    MeOut,
    NewKeyOut,
    NewPrincipalOut,
    PrincipalIn,
    PrincipalOut,
)
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import ApiKey, Device, Enterprise, Principal


def principal_out(session: Session, principal: Principal) -> PrincipalOut:
    enterprise = (
        session.get(Enterprise, principal.enterprise_id) if principal.enterprise_id else None
    )
    return PrincipalOut(
        name=principal.name,
        role=principal.role,  # type: ignore[arg-type]
        enterprise=enterprise.identifier if enterprise else None,
        device=principal.device,
        created_at=principal.created_at,
    )


def managed_principal(session: Session, caller: Caller, name: str) -> Principal:
    """A principal ``caller`` may manage; 404 for any other, as for one that does not exist."""
    principal = session.scalar(select(Principal).where(Principal.name == name))
    if principal is None or not _manages_principal(caller, principal):
        raise not_found("principal", name)
    return principal


def _manages_principal(caller: Caller, principal: Principal) -> bool:
    return caller.role == Role.ADMIN or (
        principal.role in TENANT_ROLES and principal.enterprise_id == caller.enterprise_id
    )


def _enterprise_of(session: Session, caller: Caller, body: PrincipalIn) -> int | None:
    """The enterprise row id a new principal belongs to, checked against role and caller."""
    if caller.role == Role.ENTERPRISE and body.role != Role.TERMINAL:
        raise ApiError(403, "forbidden", "an enterprise creates terminal principals only")
    if body.role not in TENANT_ROLES:
        if body.enterprise is not None or body.device is not None:
            raise ApiError(
                422, "tenant_not_allowed", f"a {body.role} belongs to no enterprise", "enterprise"
            )
        return None
    if caller.role == Role.ENTERPRISE:
        if body.enterprise not in (None, caller.enterprise):
            raise not_found("enterprise", body.enterprise or "")
        return caller.enterprise_id
    if body.enterprise is None:
        raise ApiError(422, "tenant_required", f"a {body.role} names its enterprise", "enterprise")
    found = session.scalar(select(Enterprise.id).where(Enterprise.identifier == body.enterprise))
    if found is None:
        raise not_found("enterprise", body.enterprise)
    return found


def _check_device(session: Session, body: PrincipalIn, enterprise_id: int | None) -> str | None:
    if body.device is None:
        return None
    if body.role != Role.TERMINAL:
        raise ApiError(422, "device_not_allowed", "only a terminal is held to a device", "device")
    device = session.scalar(select(Device).where(Device.address == body.device))
    if device is None or device.enterprise_id != enterprise_id:
        raise ApiError(
            422, "unknown_device", f"{body.device} is no terminal of the enterprise", "device"
        )
    return device.address


def create_principal(session: Session, caller: Caller, body: PrincipalIn) -> NewPrincipalOut:
    """Create a principal and its first key; commits. The token is in this answer only."""
    enterprise_id = _enterprise_of(session, caller, body)
    device = _check_device(session, body, enterprise_id)
    principal = Principal(
        name=body.name, role=body.role, enterprise_id=enterprise_id, device=device
    )
    session.add(principal)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise ApiError(409, "principal_exists", f"{body.name} exists", "name") from None
    issued = issue_key(session, principal, body.label)
    session.commit()
    out = principal_out(session, principal)
    return NewPrincipalOut(
        **out.model_dump(), key=NewKeyOut(key_id=issued.key_id, token=issued.token)
    )


def add_key(session: Session, principal: Principal, label: str | None) -> NewKeyOut:
    """Another key for the principal; commits."""
    issued = issue_key(session, principal, label)
    session.commit()
    return NewKeyOut(key_id=issued.key_id, token=issued.token)


def keys_of(session: Session, principal: Principal) -> list[KeyOut]:
    rows = session.scalars(select(ApiKey).where(ApiKey.principal_id == principal.id))
    return [_key_out(key) for key in rows]


def _key_out(key: ApiKey) -> KeyOut:
    return KeyOut(
        key_id=key.key_id, label=key.label, created_at=key.created_at, revoked_at=key.revoked_at
    )


def _key_not_found() -> ApiError:
    # One answer, word for word, for a key id that does not exist and for one of a principal
    # the caller may not manage: it names neither the key's owner nor the id asked about.
    return ApiError(404, "key_not_found", "no such key")


def withdraw_key(session: Session, caller: Caller, key_id: str) -> KeyOut:
    """Revoke a key of a principal ``caller`` manages; commits. Any other key id, and one that
    does not exist, is answered alike (404 ``key_not_found``)."""
    key = session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
    principal = session.get(Principal, key.principal_id) if key else None
    if key is None or principal is None or not _manages_principal(caller, principal):
        raise _key_not_found()
    revoke_key(session, key)
    session.commit()
    session.refresh(key)
    return _key_out(key)


def whoami(session: Session, caller: Caller) -> MeOut:
    """The caller's principal and, for verifiers and financiers, the grants they hold."""
    principal = session.get(Principal, caller.principal_id)
    assert principal is not None
    held = grants_held(session, caller.principal_id) if caller.role in GRANTEE_ROLES else []
    return MeOut(**principal_out(session, principal).model_dump(), grants=held)

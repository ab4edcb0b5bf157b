"""Principals and their API keys: who may call the ledger, and with which key.

Admins create any principal. An enterprise creates terminal principals for itself and new keys
for itself and its terminals, and revokes them. A key's token is answered once, at creation.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ledger_api.access.deps import GRANTEE_ROLES, TENANT_ROLES, Caller, CallerDep, Manager, Role
from ledger_api.access.grants import grant_out
from ledger_api.access.keys import issue_key, revoke_key
from ledger_api.core.deps import SessionDep
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import AccessGrant, ApiKey, Device, Enterprise, Principal
from ledger_api.schemas import (
    KeyIn,
    KeyOut,
    MeOut,
    NewKeyOut,
    NewPrincipalOut,
    PrincipalIn,
    PrincipalOut,
)

router = APIRouter(tags=["principals"])


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


def _managed_principal(session: Session, caller: Caller, name: str) -> Principal:
    """A principal ``caller`` may manage; 404 for any other, as for one that does not exist."""
    principal = session.scalar(select(Principal).where(Principal.name == name))
    if principal is None or not (
        caller.role == Role.ADMIN
        or (principal.role in TENANT_ROLES and principal.enterprise_id == caller.enterprise_id)
    ):
        raise not_found("principal", name)
    return principal


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


@router.post("/principals", status_code=status.HTTP_201_CREATED, response_model=NewPrincipalOut)
def create_principal(body: PrincipalIn, session: SessionDep, caller: Manager) -> NewPrincipalOut:
    """Create a principal and its first key; the token is in this answer only."""
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


@router.get("/principals/{name}", response_model=PrincipalOut, response_model_by_alias=True)
def get_principal(name: str, session: SessionDep, caller: Manager) -> PrincipalOut:
    return principal_out(session, _managed_principal(session, caller, name))


@router.post("/principals/{name}/keys", status_code=status.HTTP_201_CREATED)
def create_key(
    name: str, session: SessionDep, caller: Manager, body: KeyIn | None = None
) -> NewKeyOut:
    """Another key for the principal (for rotation: create, switch, revoke the old one)."""
    principal = _managed_principal(session, caller, name)
    issued = issue_key(session, principal, body.label if body else None)
    session.commit()
    return NewKeyOut(key_id=issued.key_id, token=issued.token)


@router.get("/principals/{name}/keys", response_model=list[KeyOut], response_model_by_alias=True)
def list_keys(name: str, session: SessionDep, caller: Manager) -> list[ApiKey]:
    principal = _managed_principal(session, caller, name)
    return list(session.scalars(select(ApiKey).where(ApiKey.principal_id == principal.id)))


@router.post("/keys/{key_id}/revoke", response_model=KeyOut, response_model_by_alias=True)
def revoke(key_id: str, session: SessionDep, caller: Manager) -> ApiKey:
    """Revoke a key; requests with it are refused (401) from the next one on."""
    key = session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))
    principal = session.get(Principal, key.principal_id) if key else None
    if key is None or principal is None:
        raise not_found("key", key_id)
    _managed_principal(session, caller, principal.name)
    revoke_key(session, key)
    session.commit()
    session.refresh(key)
    return key


@router.get("/me", response_model=MeOut, response_model_by_alias=True)
def me(session: SessionDep, caller: CallerDep) -> MeOut:
    """Who the key belongs to and, for verifiers and financiers, the grants they hold."""
    principal = session.get(Principal, caller.principal_id)
    assert principal is not None
    grants: list = []
    if caller.role in GRANTEE_ROLES:
        rows = session.scalars(
            select(AccessGrant)
            .where(AccessGrant.grantee_id == caller.principal_id)
            .order_by(AccessGrant.id)
        )
        grants = [grant_out(session, row) for row in rows]
    return MeOut(**principal_out(session, principal).model_dump(), grants=grants)

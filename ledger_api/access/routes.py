"""Principals and their API keys: who may call the ledger, and with which key.

Admins create any principal. An enterprise creates terminal principals for itself and new keys
for itself and its terminals, and revokes them. A key's token is answered once, at creation.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from ledger_api.access import service
from ledger_api.access.deps import CallerDep, Manager
from ledger_api.access.schemas import (
    KeyIn,
    KeyOut,
    MeOut,
    NewKeyOut,
    NewPrincipalOut,
    PrincipalIn,
    PrincipalOut,
)
from ledger_api.core.deps import SessionDep

router = APIRouter(prefix="/v1", tags=["principals"])


@router.post("/principals", status_code=status.HTTP_201_CREATED, response_model=NewPrincipalOut)
def create_principal(body: PrincipalIn, session: SessionDep, caller: Manager) -> NewPrincipalOut:
    """Create a principal and its first key; the token is in this answer only."""
    return service.create_principal(session, caller, body)


@router.get("/principals/{name}", response_model=PrincipalOut)
def get_principal(name: str, session: SessionDep, caller: Manager) -> PrincipalOut:
    principal = service.managed_principal(session, caller, name)
    return service.principal_out(session, principal)


@router.post(
    "/principals/{name}/keys", status_code=status.HTTP_201_CREATED, response_model=NewKeyOut
)
def create_key(
    name: str, session: SessionDep, caller: Manager, body: KeyIn | None = None
) -> NewKeyOut:
    """Another key for the principal (for rotation: create, switch, revoke the old one)."""
    principal = service.managed_principal(session, caller, name)
    return service.add_key(session, principal, body.label if body else None)


@router.get("/principals/{name}/keys", response_model=list[KeyOut])
def list_keys(name: str, session: SessionDep, caller: Manager) -> list[KeyOut]:
    return service.keys_of(session, service.managed_principal(session, caller, name))


@router.post("/keys/{key_id}/revoke", response_model=KeyOut)
def revoke(key_id: str, session: SessionDep, caller: Manager) -> KeyOut:
    """Revoke a key; requests with it are refused (401) from the next one on."""
    return service.withdraw_key(session, caller, key_id)


@router.get("/me", response_model=MeOut)
def me(session: SessionDep, caller: CallerDep) -> MeOut:
    """Who the key belongs to and, for verifiers and financiers, the grants they hold."""
    return service.whoami(session, caller)

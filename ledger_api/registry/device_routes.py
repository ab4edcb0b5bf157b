"""Collection terminals: register, read, revoke and rotate a terminal's signing key."""

from __future__ import annotations

from fastapi import APIRouter, status

from ledger_api.access.deps import CallerDep, Manager
from ledger_api.core.deps import SessionDep
from ledger_api.registry import service
from ledger_api.registry.schemas import DeviceIn, DeviceOut, RevokeIn, RotateIn

router = APIRouter(prefix="/v1/devices", tags=["registry"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DeviceOut)
def register_device(body: DeviceIn, session: SessionDep, caller: Manager) -> DeviceOut:
    """Register a terminal's signing address, bound to sources of one enterprise."""
    return service.register_device(session, caller, body)


@router.get("/{address}", response_model=DeviceOut)
def get_device(address: str, session: SessionDep, caller: CallerDep) -> DeviceOut:
    return service.device_out(session, service.visible_device(session, address, caller))


@router.post("/{address}/revoke", response_model=DeviceOut)
def revoke_device(
    address: str, session: SessionDep, caller: Manager, body: RevokeIn | None = None
) -> DeviceOut:
    """Revoke a terminal: records it signs are refused from now on; stored ones stay valid."""
    device = service.visible_device(session, address, caller, write=True)
    return service.revoke_device(session, device, body.reason if body else None)


@router.post("/{address}/rotate", status_code=status.HTTP_201_CREATED, response_model=DeviceOut)
def rotate_device(address: str, body: RotateIn, session: SessionDep, caller: Manager) -> DeviceOut:
    """Replace a terminal's key: the old one is revoked, the new one takes over its bindings
    and its sequence (the first record under the new key continues from the old last seq)."""
    old = service.visible_device(session, address, caller, write=True)
    return service.rotate_device(session, old, body.new_address)

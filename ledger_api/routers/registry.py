"""Minimal registry: enterprises, their emission sources, and collection terminals."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from accounting.errors import AccountingError
from accounting.validation import check_industry
from ledger_api.deps import SessionDep
from ledger_api.errors import ApiError, not_found
from ledger_api.models import Device, DeviceBinding, EmissionSource, Enterprise
from ledger_api.schemas import (
    DeviceIn,
    DeviceOut,
    EnterpriseIn,
    EnterpriseOut,
    SourceIn,
    SourceOut,
)
from verifier.keccak import parse_address, to_checksum_address

router = APIRouter(tags=["registry"])


def _enterprise(session: Session, identifier: str) -> Enterprise:
    found = session.scalar(select(Enterprise).where(Enterprise.identifier == identifier))
    if found is None:
        raise not_found("enterprise", identifier)
    return found


def _conflict(what: str, key: str) -> ApiError:
    return ApiError(409, f"{what}_exists", f"{what} {key} is already registered", "identifier")


@router.post("/enterprises", status_code=status.HTTP_201_CREATED, response_model=EnterpriseOut)
def register_enterprise(body: EnterpriseIn, session: SessionDep) -> Enterprise:
    """Register an enterprise under its identifier."""
    try:
        check_industry(body.industry)
    except AccountingError as exc:
        raise ApiError(422, exc.code, exc.message, "industry") from None
    enterprise = Enterprise(**body.model_dump())
    session.add(enterprise)
    try:
        session.commit()
    except IntegrityError:
        raise _conflict("enterprise", body.identifier) from None
    session.refresh(enterprise)
    return enterprise


@router.get("/enterprises/{identifier:path}/sources", response_model=list[SourceOut])
def list_sources(identifier: str, session: SessionDep) -> list[SourceOut]:
    """The enterprise's registered emission sources."""
    enterprise = _enterprise(session, identifier)
    rows = session.scalars(
        select(EmissionSource)
        .where(EmissionSource.enterprise_id == enterprise.id)
        .order_by(EmissionSource.id)
    )
    return [SourceOut(identifier=s.identifier, enterprise=identifier, name=s.name) for s in rows]


@router.post(
    "/enterprises/{identifier:path}/sources",
    status_code=status.HTTP_201_CREATED,
    response_model=SourceOut,
)
def register_source(identifier: str, body: SourceIn, session: SessionDep) -> SourceOut:
    """Register an emission source inside an enterprise's boundary."""
    enterprise = _enterprise(session, identifier)
    assert enterprise.id is not None
    session.add(
        EmissionSource(identifier=body.identifier, enterprise_id=enterprise.id, name=body.name)
    )
    try:
        session.commit()
    except IntegrityError:
        raise _conflict("source", body.identifier) from None
    return SourceOut(identifier=body.identifier, enterprise=identifier, name=body.name)


@router.get("/enterprises/{identifier:path}", response_model=EnterpriseOut)
def get_enterprise(identifier: str, session: SessionDep) -> Enterprise:
    return _enterprise(session, identifier)


@router.post("/devices", status_code=status.HTTP_201_CREATED, response_model=DeviceOut)
def register_device(body: DeviceIn, session: SessionDep) -> DeviceOut:
    """Register a terminal's signing address, bound to sources of one enterprise."""
    enterprise = _enterprise(session, body.enterprise)
    sources = {
        s.identifier: s
        for s in session.scalars(
            select(EmissionSource).where(EmissionSource.identifier.in_(body.sources))
        )
    }
    for i, identifier in enumerate(body.sources):
        source = sources.get(identifier)
        if source is None or source.enterprise_id != enterprise.id:
            raise ApiError(
                422,
                "source_not_in_enterprise",
                f"{identifier} is not a source of {body.enterprise}",
                f"sources.{i}",
            )
    try:
        address = to_checksum_address(parse_address(body.address))
    except ValueError as exc:
        raise ApiError(422, "invalid_address", str(exc), "address") from None
    device = Device(address=address, enterprise_id=enterprise.id)
    session.add(device)
    try:
        session.flush()
        session.add_all(
            DeviceBinding(device_id=device.id, source_id=s.id) for s in sources.values()
        )
        session.commit()
    except IntegrityError:
        raise ApiError(
            409, "device_exists", f"device {address} is already registered", "address"
        ) from None
    return _device_out(session, device)


@router.get("/devices/{address}", response_model=DeviceOut)
def get_device(address: str, session: SessionDep) -> DeviceOut:
    return _device_out(session, _device(session, address))


@router.post("/devices/{address}/revoke", response_model=DeviceOut)
def revoke_device(address: str, session: SessionDep) -> DeviceOut:
    """Revoke a terminal: records it signs are refused from now on; stored ones stay."""
    device = _device(session, address)
    if device.status != "revoked":
        device.status = "revoked"
        device.revoked_at = datetime.now(UTC)
        session.commit()
    return _device_out(session, device)


def _device(session: Session, address: str) -> Device:
    try:
        checksum = to_checksum_address(parse_address(address))
    except ValueError:
        raise ApiError(422, "invalid_address", f"{address} is not an address", "address") from None
    found = session.scalar(select(Device).where(Device.address == checksum))
    if found is None:
        raise not_found("device", checksum)
    return found


def _device_out(session: Session, device: Device) -> DeviceOut:
    enterprise = session.get(Enterprise, device.enterprise_id)
    sources = session.scalars(
        select(EmissionSource.identifier)
        .join(DeviceBinding)
        .where(DeviceBinding.device_id == device.id)
        .order_by(EmissionSource.identifier)
    )
    assert enterprise is not None
    return DeviceOut(
        address=device.address,
        enterprise=enterprise.identifier,
        sources=list(sources),
        status=device.status,  # type: ignore[arg-type]
        last_seq=device.last_seq,
        revoked_at=device.revoked_at,
    )

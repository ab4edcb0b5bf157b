"""The registry: enterprises, their emission sources, and collection terminals.

Identifiers are parsed under the ledger's prefix and stored in their one canonical spelling;
metadata is checked against the industry's templates; every change is a registry event, a
ledger leaf anchored like any record.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import rfc8785
from fastapi import APIRouter, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from accounting.errors import AccountingError
from accounting.validation import check_industry
from ledger_api.access.deps import (
    Admin,
    Caller,
    CallerDep,
    Manager,
    Reader,
    enterprise_for,
    manages,
    sees,
)
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import Device, DeviceBinding, EmissionSource, Enterprise
from ledger_api.registry.events import record_event
from ledger_api.registry.identifiers import mint
from ledger_api.registry.service import (
    canonical_identifier,
    check_metadata,
    checksum_address,
    templates,
)
from ledger_api.schemas import (
    DeviceIn,
    DeviceOut,
    EnterpriseIn,
    EnterpriseOut,
    RevokeIn,
    RotateIn,
    SourceIn,
    SourceOut,
)

router = APIRouter(tags=["registry"])


def _canonical_json(document: dict | None) -> str | None:
    try:
        return rfc8785.dumps(document).decode() if document is not None else None
    except (rfc8785.CanonicalizationError, UnicodeEncodeError) as exc:  # NaN, 2**53+, surrogates
        raise ApiError(422, "invalid_metadata", f"not canonical JSON: {exc}", "metadata") from None


@contextmanager
def _writing(session: Session, conflict: ApiError) -> Iterator[None]:
    """Commit what the block adds; a uniqueness violation anywhere in it is ``conflict``."""
    try:
        yield
        session.commit()
    except IntegrityError:
        session.rollback()
        raise conflict from None


def _identifier(given: str | None, prefix: str, kind: str) -> str:
    if given is None:
        return mint(prefix, kind, secrets.token_hex(5).upper())
    return canonical_identifier(given, prefix)


def add_enterprise(
    session: Session,
    identifier: str,
    name: str,
    industry: str,
    region: str | None,
    metadata: dict | None,
) -> Enterprise:
    """Add an enterprise and its registry event to the session (the caller commits)."""
    enterprise = Enterprise(
        identifier=identifier,
        name=name,
        industry=industry,
        region=region,
        metadata_json=_canonical_json(metadata),
    )
    session.add(enterprise)
    record_event(
        session,
        "enterprise.registered",
        identifier,
        name=name,
        industry=industry,
        region=region,
        metadata=metadata,
    )
    return enterprise


def add_source(
    session: Session, enterprise: Enterprise, identifier: str, name: str, metadata: dict | None
) -> EmissionSource:
    """Add a source and its registry event to the session (the caller commits)."""
    source = EmissionSource(
        identifier=identifier,
        enterprise_id=enterprise.id,
        name=name,
        metadata_json=_canonical_json(metadata),
    )
    session.add(source)
    record_event(
        session,
        "source.registered",
        identifier,
        enterprise=enterprise.identifier,
        name=name,
        metadata=metadata,
    )
    return source


def _check_template(template_id: str, industry: str) -> None:
    registry = templates()
    if not registry.has(template_id) or registry.get(template_id).industry != industry:
        raise ApiError(
            422,
            "unknown_template",
            f"{template_id} is not a registered template of the {industry} industry",
            "template",
        )


@router.post("/enterprises", status_code=status.HTTP_201_CREATED, response_model=EnterpriseOut)
def register_enterprise(
    body: EnterpriseIn, session: SessionDep, context: Context, _: Admin
) -> Enterprise:
    """Register an enterprise under its identifier (minted when omitted)."""
    try:
        check_industry(body.industry)
    except AccountingError as exc:
        raise ApiError(422, exc.code, exc.message, "industry") from None
    identifier = _identifier(body.identifier, context.settings.identifier_prefix, "ENT")
    if body.template is not None:
        _check_template(body.template, body.industry)
    check_metadata(body.industry, "enterprise", body.metadata, template_id=body.template)
    conflict = ApiError(
        409, "enterprise_exists", f"enterprise {identifier} is already registered", "identifier"
    )
    with _writing(session, conflict):
        enterprise = add_enterprise(
            session, identifier, body.name, body.industry, body.region, body.metadata
        )
        enterprise.template_id = body.template
    session.refresh(enterprise)
    return enterprise


@router.get("/enterprises/{identifier:path}/sources", response_model=list[SourceOut])
def list_sources(identifier: str, session: SessionDep, caller: Reader) -> list[SourceOut]:
    """The enterprise's registered emission sources."""
    enterprise = enterprise_for(session, caller, identifier)
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
def register_source(
    identifier: str, body: SourceIn, session: SessionDep, context: Context, caller: Manager
) -> SourceOut:
    """Register an emission source inside an enterprise's boundary."""
    enterprise = enterprise_for(session, caller, identifier, write=True)
    assert enterprise.id is not None
    source_id = _identifier(body.identifier, context.settings.identifier_prefix, "SRC")
    check_metadata(enterprise.industry, "source", body.metadata, template_id=enterprise.template_id)
    conflict = ApiError(
        409, "source_exists", f"source {source_id} is already registered", "identifier"
    )
    with _writing(session, conflict):
        add_source(session, enterprise, source_id, body.name, body.metadata)
    return SourceOut(identifier=source_id, enterprise=identifier, name=body.name)


@router.get("/enterprises/{identifier:path}", response_model=EnterpriseOut)
def get_enterprise(identifier: str, session: SessionDep, caller: Reader) -> Enterprise:
    return enterprise_for(session, caller, identifier)


def _bound_sources(
    session: Session, enterprise: Enterprise, identifiers: list[str]
) -> list[EmissionSource]:
    sources = {
        s.identifier: s
        for s in session.scalars(
            select(EmissionSource).where(EmissionSource.identifier.in_(identifiers))
        )
    }
    for i, identifier in enumerate(identifiers):
        source = sources.get(identifier)
        if source is None or source.enterprise_id != enterprise.id:
            raise ApiError(
                422,
                "source_not_in_enterprise",
                f"{identifier} is not a source of {enterprise.identifier}",
                f"sources.{i}",
            )
    return list(sources.values())


def add_device(
    session: Session,
    address: str,
    enterprise: Enterprise,
    sources: list[EmissionSource],
    metadata: dict | None,
) -> Device:
    existing = session.scalar(select(Device).where(Device.address == address))
    if existing is not None:
        if existing.status == "revoked":
            raise ApiError(
                409,
                "revoked_key_reuse",
                f"key {address} was revoked and can never be registered again",
                "address",
            )
        raise ApiError(409, "device_exists", f"device {address} is already registered", "address")
    device = Device(
        address=address, enterprise_id=enterprise.id, metadata_json=_canonical_json(metadata)
    )
    session.add(device)
    session.flush()
    session.add_all(DeviceBinding(device_id=device.id, source_id=s.id) for s in sources)
    record_event(
        session,
        "device.registered",
        address,
        enterprise=enterprise.identifier,
        sources=sorted(s.identifier for s in sources),
        metadata=metadata,
    )
    return device


@router.post("/devices", status_code=status.HTTP_201_CREATED, response_model=DeviceOut)
def register_device(body: DeviceIn, session: SessionDep, caller: Manager) -> DeviceOut:
    """Register a terminal's signing address, bound to sources of one enterprise."""
    enterprise = enterprise_for(session, caller, body.enterprise, write=True)
    sources = _bound_sources(session, enterprise, body.sources)
    check_metadata(
        enterprise.industry, "terminal", body.metadata, template_id=enterprise.template_id
    )
    address = checksum_address(body.address, "address")
    conflict = ApiError(409, "device_exists", "device registered concurrently", "address")
    with _writing(session, conflict):
        device = add_device(session, address, enterprise, sources, body.metadata)
    return _device_out(session, device)


@router.get("/devices/{address}", response_model=DeviceOut)
def get_device(address: str, session: SessionDep, caller: CallerDep) -> DeviceOut:
    return _device_out(session, _device(session, address, caller))


def _revoke(session: Session, device: Device, event: str, **fields: object) -> None:
    device.status = "revoked"
    device.revoked_at = datetime.now(UTC)
    record_event(session, event, device.address, **fields)


@router.post("/devices/{address}/revoke", response_model=DeviceOut)
def revoke_device(
    address: str, session: SessionDep, caller: Manager, body: RevokeIn | None = None
) -> DeviceOut:
    """Revoke a terminal: records it signs are refused from now on; stored ones stay valid."""
    device = _device(session, address, caller, write=True)
    if device.status != "revoked":
        _revoke(session, device, "device.revoked", reason=body.reason if body else None)
        session.commit()
    return _device_out(session, device)


@router.post(
    "/devices/{address}/rotate", status_code=status.HTTP_201_CREATED, response_model=DeviceOut
)
def rotate_device(address: str, body: RotateIn, session: SessionDep, caller: Manager) -> DeviceOut:
    """Replace a terminal's key: the old one is revoked, the new one takes over its bindings
    and its sequence (the first record under the new key continues from the old last seq)."""
    old = _device(session, address, caller, write=True)
    if old.status == "revoked":
        raise ApiError(409, "device_revoked", f"device {old.address} is revoked", "address")
    new_address = checksum_address(body.new_address, "newAddress")
    enterprise = session.get(Enterprise, old.enterprise_id)
    sources = list(
        session.scalars(
            select(EmissionSource).join(DeviceBinding).where(DeviceBinding.device_id == old.id)
        )
    )
    assert enterprise is not None
    metadata = json.loads(old.metadata_json) if old.metadata_json else None
    conflict = ApiError(409, "device_exists", "device registered concurrently", "newAddress")
    with _writing(session, conflict):
        new = add_device(session, new_address, enterprise, sources, metadata)
        new.last_seq = old.last_seq
        old.successor = new_address
        _revoke(session, old, "device.rotated", successor=new_address)
    return _device_out(session, new)


def _device(session: Session, address: str, caller: Caller, *, write: bool = False) -> Device:
    """The device if ``caller`` may see (or manage) its enterprise; else 404."""
    found = session.scalar(
        select(Device).where(Device.address == checksum_address(address, "address"))
    )
    if found is None:
        raise not_found("device", address)
    visible = (
        manages(caller, found.enterprise_id)
        if write
        else sees(session, caller, found.enterprise_id)
    )
    if not visible:
        raise not_found("device", address)
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
        successor=device.successor,
    )

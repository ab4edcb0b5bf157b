"""Registration: enterprises, their emission sources and collection terminals, written with
their registry events (single requests and bulk files alike), and the queries that read them.

Identifiers are stored in their one canonical spelling; metadata is checked against the
industry's templates; every change is a registry event, a ledger leaf anchored like any record.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import rfc8785
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from accounting.errors import AccountingError
from accounting.validation import check_industry
from ledger_api.access.deps import Caller, enterprise_for, manages, sees
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import Device, DeviceBinding, EmissionSource, Enterprise
from ledger_api.registry.bulk import BulkPlan, Known
from ledger_api.registry.checks import canonical_identifier, check_metadata, checksum_address
from ledger_api.registry.events import ZERO, ChainLink, record_event
from ledger_api.registry.identifiers import mint
from ledger_api.registry.schemas import DeviceIn, DeviceOut, EnterpriseIn, SourceIn, SourceOut
from ledger_api.registry.template_store import template_catalog
from verifier.protocol.events import ENTERPRISE_REGISTERED


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
    signer: str | None = None,
) -> Enterprise:
    """Add an enterprise and its registry event to the session (the caller commits). With a
    ``signer`` the event is the enrolment that starts the enterprise's registry chain: the
    registrar vouches for the key, and every later registry change must be signed by it."""
    enterprise = Enterprise(
        identifier=identifier,
        name=name,
        industry=industry,
        region=region,
        metadata_json=_canonical_json(metadata),
        asset_signer=signer,
    )
    session.add(enterprise)
    link = None
    if signer is not None:
        session.flush()
        assert enterprise.id is not None
        fields = {"enterprise": identifier, "index": 0, "prev": ZERO, "signer": signer}
        link = ChainLink(enterprise.id, 0, fields)
    record_event(
        session,
        ENTERPRISE_REGISTERED,
        identifier,
        link=link,
        name=name,
        industry=industry,
        region=region,
        metadata=metadata,
    )
    return enterprise


def add_source(
    session: Session,
    enterprise: Enterprise,
    identifier: str,
    name: str,
    metadata: dict | None,
    link: ChainLink | None = None,
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
        link=link,
        enterprise=enterprise.identifier,
        name=name,
        metadata=metadata,
    )
    return source


def add_device(
    session: Session,
    address: str,
    enterprise: Enterprise,
    sources: list[EmissionSource],
    metadata: dict | None,
    first_seq: int = 1,
    link: ChainLink | None = None,
) -> Device:
    """Add a terminal, its bindings and its registry event (the caller commits). The event
    states the sequence number the terminal starts at, so a figure proof can show that no
    earlier reading of it exists."""
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
        link=link,
        enterprise=enterprise.identifier,
        sources=sorted(s.identifier for s in sources),
        metadata=metadata,
        firstSeq=first_seq,
    )
    return device


def _check_template(template_id: str, industry: str) -> None:
    catalog = template_catalog()
    if not catalog.has(template_id) or catalog.get(template_id).industry != industry:
        raise ApiError(
            422,
            "unknown_template",
            f"{template_id} is not a registered template of the {industry} industry",
            "template",
        )


def register_enterprise(session: Session, body: EnterpriseIn, prefix: str) -> Enterprise:
    """Register an enterprise under its identifier (minted when omitted); commits."""
    try:
        check_industry(body.industry)
    except AccountingError as exc:
        raise ApiError(422, exc.code, exc.message, "industry") from None
    identifier = _identifier(body.identifier, prefix, "ENT")
    if body.template is not None:
        _check_template(body.template, body.industry)
    check_metadata(body.industry, "enterprise", body.metadata, template_id=body.template)
    conflict = ApiError(
        409, "enterprise_exists", f"enterprise {identifier} is already registered", "identifier"
    )
    with _writing(session, conflict):
        signer = checksum_address(body.signer, "signer") if body.signer else None
        enterprise = add_enterprise(
            session, identifier, body.name, body.industry, body.region, body.metadata, signer
        )
        enterprise.template_id = body.template
    session.refresh(enterprise)
    return enterprise


def list_sources(session: Session, enterprise: Enterprise) -> list[SourceOut]:
    rows = session.scalars(
        select(EmissionSource)
        .where(EmissionSource.enterprise_id == enterprise.id)
        .order_by(EmissionSource.id)
    )
    return [
        SourceOut(identifier=s.identifier, enterprise=enterprise.identifier, name=s.name)
        for s in rows
    ]


def register_source(
    session: Session, enterprise: Enterprise, body: SourceIn, prefix: str
) -> SourceOut:
    """Register an emission source inside an enterprise's boundary; commits."""
    assert enterprise.id is not None
    source_id = _identifier(body.identifier, prefix, "SRC")
    check_metadata(enterprise.industry, "source", body.metadata, template_id=enterprise.template_id)
    conflict = ApiError(
        409, "source_exists", f"source {source_id} is already registered", "identifier"
    )
    with _writing(session, conflict):
        add_source(session, enterprise, source_id, body.name, body.metadata)
    return SourceOut(identifier=source_id, enterprise=enterprise.identifier, name=body.name)


def bound_sources(
    session: Session, enterprise: Enterprise, identifiers: list[str], field: str = "sources"
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
                f"{field}.{i}",
            )
    return list(sources.values())


def register_device(session: Session, caller: Caller, body: DeviceIn) -> DeviceOut:
    """Register a terminal's signing address, bound to sources of one enterprise; commits."""
    enterprise = enterprise_for(session, caller, body.enterprise, write=True)
    sources = bound_sources(session, enterprise, body.sources)
    check_metadata(
        enterprise.industry, "terminal", body.metadata, template_id=enterprise.template_id
    )
    address = checksum_address(body.address, "address")
    conflict = ApiError(409, "device_exists", "device registered concurrently", "address")
    with _writing(session, conflict):
        device = add_device(session, address, enterprise, sources, body.metadata)
    return device_out(session, device)


def visible_device(
    session: Session, address: str, caller: Caller, *, write: bool = False
) -> Device:
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


def end_device(
    session: Session, device: Device, event: str, link: ChainLink | None = None, **fields: object
) -> None:
    device.status = "revoked"
    device.revoked_at = datetime.now(UTC)
    # The last sequence number accepted: a figure proof shows with it that the key signed
    # nothing after a period, without a later reading.
    record_event(session, event, device.address, link=link, lastSeq=device.last_seq, **fields)


def revoke_device(session: Session, device: Device, reason: str | None) -> DeviceOut:
    """Revoke a terminal (once; revoking again changes nothing); commits."""
    if device.status != "revoked":
        end_device(session, device, "device.revoked", reason=reason)
        session.commit()
    return device_out(session, device)


def rotate_device(session: Session, old: Device, new_address: str) -> DeviceOut:
    """Replace a terminal's key: the new one takes over the old one's bindings and sequence,
    the old one is revoked; commits."""
    if old.status == "revoked":
        raise ApiError(409, "device_revoked", f"device {old.address} is revoked", "address")
    new_address = checksum_address(new_address, "newAddress")
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
        new = add_device(
            session, new_address, enterprise, sources, metadata, (old.last_seq or 0) + 1
        )
        new.last_seq = old.last_seq
        old.successor = new_address
        end_device(session, old, "device.rotated", successor=new_address)
    return device_out(session, new)


def device_out(session: Session, device: Device) -> DeviceOut:
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


def known_registry(session: Session) -> Known:
    """Everything already registered that a bulk file may refer to or must not repeat."""
    catalog = template_catalog()
    enterprises = {
        e.identifier: catalog.for_industry(e.industry).id
        for e in session.scalars(select(Enterprise))
    }
    sources = dict(
        session.execute(
            select(EmissionSource.identifier, Enterprise.identifier).join(
                Enterprise, Enterprise.id == EmissionSource.enterprise_id
            )
        ).all()
    )
    addresses = frozenset(session.scalars(select(Device.address)))
    return Known(enterprises=enterprises, sources=sources, addresses=addresses)


def _enterprise_named(
    session: Session, added: dict[str, Enterprise], identifier: str
) -> Enterprise | None:
    return added.get(identifier) or session.scalar(
        select(Enterprise).where(Enterprise.identifier == identifier)
    )


def _apply(session: Session, plan: BulkPlan) -> None:
    enterprises: dict[str, Enterprise] = {}
    sources: dict[str, EmissionSource] = {}
    for row in plan.enterprises:
        doc = dict(row.document)
        enterprises[row.identifier] = add_enterprise(
            session, row.identifier, doc["name"], doc["industry"], doc.get("region"), doc
        )
    session.flush()
    for row in plan.sources:
        enterprise = _enterprise_named(session, enterprises, row.enterprise)
        assert enterprise is not None
        doc = dict(row.document)
        sources[row.identifier] = add_source(
            session, enterprise, row.identifier, doc.get("name", row.identifier), doc
        )
    session.flush()
    for row in plan.terminals:
        enterprise = _enterprise_named(session, enterprises, row.enterprise)
        bound = [
            sources.get(s)
            or session.scalar(select(EmissionSource).where(EmissionSource.identifier == s))
            for s in row.sources
        ]
        assert enterprise is not None and row.address is not None and all(bound)
        add_device(
            session,
            row.address,
            enterprise,
            bound,  # type: ignore[arg-type]
            {**row.document, "identifier": row.identifier},
        )


def apply_plan(session: Session, plan: BulkPlan) -> None:
    """Register a checked bulk file, all or nothing; commits."""
    try:
        _apply(session, plan)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ApiError(
            409,
            "registered_concurrently",
            "part of the file was registered meanwhile; run the dry run again",
            "body",
        ) from None

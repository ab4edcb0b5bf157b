"""Registry operations an enterprise signs (``verifier.protocol.registry_ops``): the ledger
checks each against the enterprise's chain head and signer key, applies it, and stores it as a
registry event that carries the signature, so a verifier can check every change itself.

The ledger holds no key of the enterprise: it can store what the enterprise signed, or refuse
it, but not make a change in its name.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from accounting.errors import AccountingError
from accounting.validation import check_industry
from ledger_api.access.deps import Caller, enterprise_for
from ledger_api.core.errors import ApiError
from ledger_api.core.models import Device, EmissionSource, Enterprise, RegistryEvent
from ledger_api.registry import service
from ledger_api.registry.checks import canonical_identifier, check_metadata, checksum_address
from ledger_api.registry.events import ChainLink, record_event
from ledger_api.registry.schemas import ChainEventOut, RegistryHeadOut, SignedOperationIn
from verifier.errors import SignatureError
from verifier.protocol.events import (
    DEVICE_REGISTERED,
    DEVICE_REVOKED,
    DEVICE_ROTATED,
    ENTERPRISE_REGISTERED,
    ENTERPRISE_UPDATED,
    REGISTRY_CHECKPOINT,
    SIGNER_SET,
    SOURCE_REGISTERED,
)
from verifier.protocol.registry_ops import (
    InvalidRegistryOperation,
    RegistryOperation,
    registry_operation_digest,
    signed_event,
)
from verifier.protocol.typed_data import Domain, recover_signer

# A signed ``effective`` time may lie this far ahead of the ledger's clock (clock skew), and
# no further: a change dated in the future could be held back to reorder the chain.
MAX_FUTURE_S = 300


@dataclass
class Head:
    """The enterprise's latest chain event: what the next operation must name and who signs."""

    enterprise: Enterprise
    index: int
    digest: str
    effective: int
    signer: str


def chain_events(session: Session, enterprise: Enterprise) -> list[RegistryEvent]:
    """The enterprise's registry chain, enrolment first."""
    return list(
        session.scalars(
            select(RegistryEvent)
            .where(
                RegistryEvent.enterprise_id == enterprise.id,
                RegistryEvent.chain_index.is_not(None),  # type: ignore[union-attr]
            )
            .order_by(RegistryEvent.chain_index)
        )
    )


def chain_head(session: Session, enterprise: Enterprise) -> Head:
    """409 ``no_registry_signer`` when the enterprise was enrolled without a signer key."""
    events = chain_events(session, enterprise)
    if not events:
        raise ApiError(
            409,
            "no_registry_signer",
            f"{enterprise.identifier} was enrolled without a signer key: the registrar must "
            "name one at enrolment before the enterprise can sign its registry changes",
            "enterprise",
        )
    signer, effective = "", 0
    for event in events:
        body = json.loads(event.body)
        if event.type in (ENTERPRISE_REGISTERED, SIGNER_SET):
            signer = body.get("signer", signer)
        effective = body.get("effective", effective)
    last = events[-1]
    assert last.chain_index is not None
    return Head(enterprise, last.chain_index, last.digest, effective, signer)


def refuse_unsigned_change(session: Session, enterprise: Enterprise, field: str) -> None:
    """409 ``signed_operation_required`` when the enterprise has a signed registry chain: a
    change the ledger makes in its name (no signature) would bypass that chain."""
    if chain_events(session, enterprise):
        raise ApiError(
            409,
            "signed_operation_required",
            f"{enterprise.identifier} signs its registry changes: submit an "
            "enterprise.signer_set operation signed by its current key "
            "(POST /v1/registry-operations)",
            field,
        )


def head_out(head: Head) -> RegistryHeadOut:
    return RegistryHeadOut(
        enterprise=head.enterprise.identifier,
        index=head.index,
        digest=head.digest,
        effective=head.effective,
        signer=head.signer,
    )


def _parse(i: int, item: SignedOperationIn) -> tuple[RegistryOperation, dict[str, Any], bytes]:
    where = f"operations.{i}.operation"
    try:
        op = RegistryOperation.from_message(item.operation)
        return op, op.detail_fields(), bytes.fromhex(item.signature[2:])
    except InvalidRegistryOperation as exc:
        raise ApiError(422, "invalid_operation", str(exc), where) from None


def _check_place(i: int, op: RegistryOperation, head: Head, now: int) -> None:
    where = f"operations.{i}.operation"
    if op.enterprise != head.enterprise.identifier:
        raise ApiError(
            422, "mixed_enterprises", "one request, one enterprise", where + ".enterprise"
        )
    if op.index != head.index + 1 or "0x" + op.prev.hex() != head.digest:
        raise ApiError(
            409,
            "registry_head_moved",
            f"the chain's head is index {head.index}, digest {head.digest}: sign the next "
            "operation after it",
            where + ".prev",
        )
    if op.effective < head.effective:
        raise ApiError(
            422,
            "effective_out_of_order",
            f"effective {op.effective} is before the previous event's {head.effective}",
            where + ".effective",
        )
    if op.effective > now + MAX_FUTURE_S:
        raise ApiError(
            422, "effective_in_future", "effective lies in the future", where + ".effective"
        )


def _check_signature(
    i: int, domain: Domain, op: RegistryOperation, signature: bytes, head: Head
) -> None:
    try:
        signer = recover_signer(registry_operation_digest(domain, op), signature)
    except SignatureError as exc:
        raise ApiError(422, "invalid_signature", str(exc), f"operations.{i}.signature") from None
    if signer != head.signer:
        raise ApiError(
            422,
            "signer_not_enterprise",
            f"signed by {signer}, not by {head.enterprise.identifier}'s registry key",
            f"operations.{i}.signature",
        )


def submit_operations(
    session: Session,
    domain: Domain,
    caller: Caller,
    items: list[SignedOperationIn],
    prefix: str,
) -> list[ChainEventOut]:
    """Check and store the operations in order, all or nothing; commits."""
    parsed = [_parse(i, item) for i, item in enumerate(items)]
    enterprise = enterprise_for(session, caller, parsed[0][0].enterprise, write=True)
    try:
        stored = _apply_all(session, domain, enterprise, parsed, prefix)
        session.commit()
    except IntegrityError:  # a concurrent operation took an index, a source or an address
        session.rollback()
        raise ApiError(
            409,
            "registry_head_moved",
            "another operation took this place; sign again",
            "operations",
        ) from None
    return stored


Parsed = list[tuple[RegistryOperation, dict[str, Any], bytes]]


def _apply_all(
    session: Session, domain: Domain, enterprise: Enterprise, parsed: Parsed, prefix: str
) -> list[ChainEventOut]:
    head, now, stored = chain_head(session, enterprise), int(time.time()), []
    for i, (op, fields, signature) in enumerate(parsed):
        _check_place(i, op, head, now)
        _check_signature(i, domain, op, signature, head)
        link = ChainLink(
            enterprise.id,  # type: ignore[arg-type]
            op.index,
            {
                "enterprise": enterprise.identifier,
                "index": op.index,
                "prev": "0x" + op.prev.hex(),
                "effective": op.effective,
                "signature": "0x" + signature.hex(),
            },
        )
        event = _APPLY[op.action](session, head, op, fields, link, prefix, i)
        if json.loads(event.body) != signed_event(op, signature):
            raise ApiError(
                422,
                "operation_mismatch",
                f"the {op.action} signed does not describe the change it makes",
                f"operations.{i}.operation.details",
            )
        session.flush()
        head.index, head.digest, head.effective = op.index, event.digest, op.effective
        stored.append(
            ChainEventOut(action=op.action, subject=op.subject, index=op.index, digest=event.digest)
        )
    _check_successors(parsed)
    return stored


# --- applying each action -------------------------------------------------------------------


def _field(i: int, name: str) -> str:
    return f"operations.{i}.operation.{name}"


def _eip55(value: object, field: str, message: str) -> str:
    """``value`` if it is an address written in EIP-55 case, else 422 ``invalid_address``."""
    if not isinstance(value, str) or checksum_address(value, field) != value:
        raise ApiError(422, "invalid_address", message, field)
    return value


def _apply_source(
    session: Session,
    head: Head,
    op: RegistryOperation,
    fields: dict[str, Any],
    link: ChainLink,
    prefix: str,
    i: int,
) -> RegistryEvent:
    enterprise = head.enterprise
    canonical_identifier(op.subject, prefix, _field(i, "subject"))
    name = fields["name"]
    if not isinstance(name, str) or not 0 < len(name) <= 200:
        raise ApiError(422, "invalid_operation", "name must be 1..200 chars", _field(i, "details"))
    check_metadata(
        enterprise.industry,
        "source",
        fields["metadata"],
        _field(i, "details"),
        enterprise.template_id,
    )
    if session.scalar(select(EmissionSource.id).where(EmissionSource.identifier == op.subject)):
        raise ApiError(
            409, "source_exists", f"source {op.subject} is already registered", _field(i, "subject")
        )
    service.add_source(session, enterprise, op.subject, name, fields["metadata"], link)
    return _last_event(session)


def _apply_device(
    session: Session,
    head: Head,
    op: RegistryOperation,
    fields: dict[str, Any],
    link: ChainLink,
    prefix: str,
    i: int,
) -> RegistryEvent:
    enterprise = head.enterprise
    _eip55(op.subject, _field(i, "subject"), "write the address in EIP-55 case")
    sources, first_seq = fields["sources"], fields["firstSeq"]
    if (
        not isinstance(sources, list)
        or not sources
        or not all(isinstance(s, str) for s in sources)
        or sources != sorted(set(sources))
    ):
        raise ApiError(
            422,
            "invalid_operation",
            "sources must be sorted, distinct identifiers",
            _field(i, "details"),
        )
    if isinstance(first_seq, bool) or not isinstance(first_seq, int) or first_seq < 1:
        raise ApiError(
            422, "invalid_operation", "firstSeq must be a positive integer", _field(i, "details")
        )
    check_metadata(
        enterprise.industry,
        "terminal",
        fields["metadata"],
        _field(i, "details"),
        enterprise.template_id,
    )
    bound = service.bound_sources(session, enterprise, sources, _field(i, "details.sources"))
    device = service.add_device(
        session, op.subject, enterprise, bound, fields["metadata"], first_seq, link
    )
    if first_seq > 1:  # a rotation's new key continues the old one's sequence
        device.last_seq = first_seq - 1
    return _last_event(session)


def _own_device(session: Session, head: Head, op: RegistryOperation, i: int) -> Device:
    device = session.scalar(select(Device).where(Device.address == op.subject))
    if device is None or device.enterprise_id != head.enterprise.id:
        raise ApiError(
            404,
            "device_not_found",
            f"no terminal {op.subject} of this enterprise",
            _field(i, "subject"),
        )
    if device.status == "revoked":
        raise ApiError(
            409, "device_revoked", f"device {op.subject} is revoked", _field(i, "subject")
        )
    return device


def _check_last_seq(device: Device, fields: dict[str, Any], i: int) -> None:
    if fields["lastSeq"] != device.last_seq:
        raise ApiError(
            409,
            "last_seq_moved",
            f"terminal {device.address}'s last accepted reading is seq {device.last_seq}; sign "
            "that as lastSeq",
            _field(i, "details"),
        )


def _apply_revoke(
    session: Session,
    head: Head,
    op: RegistryOperation,
    fields: dict[str, Any],
    link: ChainLink,
    prefix: str,
    i: int,
) -> RegistryEvent:
    device = _own_device(session, head, op, i)
    _check_last_seq(device, fields, i)
    reason = fields["reason"]
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        raise ApiError(
            422,
            "invalid_operation",
            "reason must be text of at most 500 chars",
            _field(i, "details"),
        )
    service.end_device(session, device, DEVICE_REVOKED, link, reason=reason)
    return _last_event(session)


def _apply_rotate(
    session: Session,
    head: Head,
    op: RegistryOperation,
    fields: dict[str, Any],
    link: ChainLink,
    prefix: str,
    i: int,
) -> RegistryEvent:
    device = _own_device(session, head, op, i)
    _check_last_seq(device, fields, i)
    successor = _eip55(
        fields["successor"], _field(i, "details"), "successor must be an EIP-55 address"
    )
    device.successor = successor
    service.end_device(session, device, DEVICE_ROTATED, link, successor=successor)
    return _last_event(session)


def _apply_signer(
    session: Session,
    head: Head,
    op: RegistryOperation,
    fields: dict[str, Any],
    link: ChainLink,
    prefix: str,
    i: int,
) -> RegistryEvent:
    enterprise = head.enterprise
    _own_subject(op, enterprise, i)
    signer = _eip55(fields["signer"], _field(i, "details"), "signer must be an EIP-55 address")
    enterprise.asset_signer = signer
    session.add(enterprise)
    event = record_event(session, SIGNER_SET, op.subject, link=link, signer=signer)
    head.signer = signer  # the operations after this one are signed by the new key
    return event


def _apply_update(
    session: Session,
    head: Head,
    op: RegistryOperation,
    fields: dict[str, Any],
    link: ChainLink,
    prefix: str,
    i: int,
) -> RegistryEvent:
    enterprise = head.enterprise
    _own_subject(op, enterprise, i)
    industry, region = fields["industry"], fields["region"]
    try:
        if not isinstance(industry, str):
            raise TypeError("industry must be text")
        check_industry(industry)
    except (AccountingError, TypeError) as exc:
        raise ApiError(422, "unknown_industry", str(exc), _field(i, "details")) from None
    if region is not None and (not isinstance(region, str) or not 0 < len(region) <= 64):
        raise ApiError(422, "invalid_operation", "region must be 1..64 chars", _field(i, "details"))
    enterprise.industry, enterprise.region = industry, region
    session.add(enterprise)
    return record_event(
        session, ENTERPRISE_UPDATED, op.subject, link=link, industry=industry, region=region
    )


def _apply_checkpoint(
    session: Session,
    head: Head,
    op: RegistryOperation,
    fields: dict[str, Any],
    link: ChainLink,
    prefix: str,
    i: int,
) -> RegistryEvent:
    _own_subject(op, head.enterprise, i)
    return record_event(session, REGISTRY_CHECKPOINT, op.subject, link=link)


def _own_subject(op: RegistryOperation, enterprise: Enterprise, i: int) -> None:
    if op.subject != enterprise.identifier:
        raise ApiError(
            422,
            "invalid_operation",
            "the subject must be the enterprise itself",
            _field(i, "subject"),
        )


def _last_event(session: Session) -> RegistryEvent:
    added = [o for o in session.new if isinstance(o, RegistryEvent)]
    assert added
    return added[-1]


def _check_successors(parsed: Parsed) -> None:
    """A rotation names a successor the same request registers, continuing the old sequence."""
    registered = {
        op.subject: fields["firstSeq"] for op, fields, _ in parsed if op.action == DEVICE_REGISTERED
    }
    for i, (op, fields, _) in enumerate(parsed):
        if op.action != DEVICE_ROTATED:
            continue
        expected = (fields["lastSeq"] or 0) + 1
        if registered.get(fields["successor"]) != expected:
            raise ApiError(
                422,
                "successor_not_registered",
                f"register the successor {fields['successor']} in the same request, starting "
                f"at seq {expected}",
                _field(i, "details"),
            )


_APPLY: dict[str, Callable[..., RegistryEvent]] = {
    SOURCE_REGISTERED: _apply_source,
    DEVICE_REGISTERED: _apply_device,
    DEVICE_REVOKED: _apply_revoke,
    DEVICE_ROTATED: _apply_rotate,
    SIGNER_SET: _apply_signer,
    ENTERPRISE_UPDATED: _apply_update,
    REGISTRY_CHECKPOINT: _apply_checkpoint,
}

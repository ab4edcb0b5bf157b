"""Added-value declarations: the enterprise's signature over the one grading input no record
proves (``verifier.protocol.declarations``), stored as an anchored registry event.

The ledger takes a declaration only when it is signed by the key the enterprise registered
(its enrolment's or a later ``enterprise.signer_set``), and an evaluation of a declared period
grades with the declared figure and names the declaration in its entry, so a ledger that
changes the figure afterwards breaks either the anchored entry or the signature.
"""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import Enterprise, LeafRow, RegistryEvent
from ledger_api.evaluations.request import EvaluationRequest
from ledger_api.ledger.proofs import inclusion, registry_proofs
from ledger_api.registry.checks import checksum_address
from ledger_api.registry.events import record_event
from verifier.errors import InvalidRecord, SignatureError
from verifier.formats.figure import CountersignatureJson, InputsEvidenceJson
from verifier.formats.record import RegistryProofJson
from verifier.protocol.declarations import (
    ADDED_VALUE_COUNTERSIGNED,
    ADDED_VALUE_DECLARED,
    COUNTERSIGNER_SET,
    AddedValueDeclaration,
    countersignature_digest,
    declaration_digest,
)
from verifier.protocol.events import ENTERPRISE_REGISTERED, SIGNER_SET
from verifier.protocol.typed_data import Domain, normalize_signature, recover_signer


@dataclasses.dataclass(frozen=True)
class StoredDeclaration:
    event_digest: str
    declaration: AddedValueDeclaration
    created: bool


def parse(message: dict[str, Any]) -> AddedValueDeclaration:
    try:
        return AddedValueDeclaration.from_message(message)
    except (InvalidRecord, TypeError, ValueError) as exc:
        raise ApiError(422, "invalid_declaration", str(exc), "declaration") from None


def _signer_of(
    domain: Domain, declaration: AddedValueDeclaration, signature: str
) -> tuple[bytes, str]:
    try:
        raw = normalize_signature(bytes.fromhex(signature.removeprefix("0x")))
        return raw, recover_signer(declaration_digest(domain, declaration), raw)
    except (SignatureError, ValueError) as exc:
        raise ApiError(422, "invalid_signature", f"signature: {exc}", "signature") from None


def declare(
    session: Session,
    domain: Domain,
    enterprise: Enterprise,
    declaration: AddedValueDeclaration,
    signature: str,
) -> StoredDeclaration:
    """Store a declaration signed by the enterprise's registered key (commits); the same
    signed declaration twice is stored once."""
    if enterprise.asset_signer is None:
        raise ApiError(
            409,
            "no_enterprise_signer",
            f"{enterprise.identifier} has no registered signer key to sign declarations with",
            "enterprise",
        )
    raw, signer = _signer_of(domain, declaration, signature)
    if signer != enterprise.asset_signer:
        raise ApiError(
            422,
            "declaration_signer_mismatch",
            f"the declaration is signed by {signer}, not by {enterprise.identifier}'s "
            f"registered key {enterprise.asset_signer}",
            "signature",
        )
    fields = {"declaration": declaration.to_message(), "signature": "0x" + raw.hex()}
    # The event body carries its storing time, so a re-post a second later is another leaf:
    # look the signature up before storing rather than rely on the leaf's uniqueness alone.
    if (stored := _stored(session, enterprise, fields["signature"])) is not None:
        return StoredDeclaration(stored.digest, declaration, False)
    try:
        event = record_event(session, ADDED_VALUE_DECLARED, enterprise.identifier, **fields)
        session.commit()
    except IntegrityError:  # the same signed declaration: its event and leaf already exist
        session.rollback()
        return _existing(session, enterprise, fields, declaration)
    return StoredDeclaration(event.digest, declaration, True)


def _existing(
    session: Session,
    enterprise: Enterprise,
    fields: dict[str, Any],
    declaration: AddedValueDeclaration,
) -> StoredDeclaration:
    stored = _stored(session, enterprise, fields["signature"])
    if stored is not None:
        return StoredDeclaration(stored.digest, declaration, False)
    raise ApiError(409, "declaration_conflict", "retry the declaration", "declaration")


def _stored(session: Session, enterprise: Enterprise, signature: str) -> RegistryEvent | None:
    return next(
        (
            e
            for e in _events(session, enterprise)
            if json.loads(e.body).get("signature") == signature
        ),
        None,
    )


def _events(session: Session, enterprise: Enterprise) -> list[RegistryEvent]:
    return list(
        session.scalars(
            select(RegistryEvent)
            .where(
                RegistryEvent.type == ADDED_VALUE_DECLARED,
                RegistryEvent.subject == enterprise.identifier,
            )
            .order_by(RegistryEvent.id)
        )
    )


def latest_declaration(
    session: Session, enterprise: Enterprise, request: EvaluationRequest
) -> tuple[str, AddedValueDeclaration] | None:
    """The period's declaration with the latest ``declaredAt`` (a correction supersedes)."""
    found: tuple[str, AddedValueDeclaration] | None = None
    for event in _events(session, enterprise):
        declaration = AddedValueDeclaration.from_message(json.loads(event.body)["declaration"])
        same = (declaration.period_start, declaration.period_end) == (
            request.period_start,
            request.period_end,
        )
        if same and (found is None or declaration.declared_at >= found[1].declared_at):
            found = (event.digest, declaration)
    return found


def with_declared_value(
    session: Session, enterprise: Enterprise, request: EvaluationRequest
) -> tuple[EvaluationRequest, dict[str, Any]]:
    """The request graded with the declared added value, and the entry's ``inputs`` block;
    422 ``added_value_not_declared`` when the request names another figure."""
    found = latest_declaration(session, enterprise, request)
    if found is None:
        return request, {"addedValue": None}
    digest, declaration = found
    declared: Decimal = declaration.value
    if request.added_value is not None and request.added_value != declared:
        raise ApiError(
            422,
            "added_value_not_declared",
            f"{enterprise.identifier} declared an added value of {declared} 万元 for this "
            f"period, not {request.added_value}",
            "addedValue",
        )
    graded = dataclasses.replace(request, added_value=declared)
    return graded, {"addedValue": {"declaration": digest}}


def inputs_evidence(
    session: Session, engine: Engine, entry: dict[str, Any]
) -> InputsEvidenceJson | None:
    """The declaration an entry names, and the events naming the enterprise's keys, each with
    its inclusion proof (409 until anchored); None for an entry with no declaration."""
    named = ((entry.get("inputs") or {}).get("addedValue") or {}).get("declaration")
    if named is None:
        return None
    stored = registry_proofs(session, engine, entry["enterprise"], (ADDED_VALUE_DECLARED,))
    found = [p for p in stored if p.leaf.digest == named]
    if not found:
        raise ApiError(
            409,
            "declaration_missing",
            f"the entry names declaration {named}, which the ledger no longer holds",
            "evaluation",
        )
    keys = registry_proofs(
        session, engine, entry["enterprise"], (ENTERPRISE_REGISTERED, SIGNER_SET)
    )
    signers = tuple(p for p in keys if "signer" in p.event)
    return InputsEvidenceJson(
        declaration=found[0],
        signers=signers,
        countersignatures=_countersignatures(session, engine, entry["enterprise"], named),
    )


def attestation_of(entry: dict[str, Any], session: Session | None = None) -> dict[str, Any] | None:
    """Who stands behind the added value an entry's L divides by, as the API and the report
    show it (with a ``session``, also the verifiers who countersigned the declaration); None
    for an entry made without one."""
    used = (entry.get("rating") or entry.get("grading") or {}).get("added_value_wan_yuan")
    if used is None:
        return None
    named = ((entry.get("inputs") or {}).get("addedValue") or {}).get("declaration")
    if named is None:
        return {"status": "not_attested", "label": "added value not attested", "declaration": None}
    found = {"status": "declared", "label": "declared by the enterprise", "declaration": named}
    verified = _verifiers(session, entry["enterprise"], named) if session is not None else []
    if verified:
        names = ", ".join(f"{v['name']} ({v['address']})" for v in verified)
        found |= {"label": f"declared by the enterprise and verified by {names}"}
    return found | {"verifiedBy": verified}


# --- countersignatures by third-party verifiers ---------------------------------------------


def _countersigner_event(session: Session, name: str) -> RegistryEvent | None:
    """The latest event naming ``name``'s key."""
    return session.scalars(
        select(RegistryEvent)
        .where(RegistryEvent.type == COUNTERSIGNER_SET, RegistryEvent.subject == name)
        .order_by(RegistryEvent.id.desc())  # type: ignore[union-attr]
    ).first()


def name_countersigner(session: Session, name: str, address: str) -> tuple[str, str, bool]:
    """Name the key a countersigner signs with (an anchored event; commits): its address,
    the event's digest, and False when that key was already named."""
    signer = checksum_address(address, "address")
    latest = _countersigner_event(session, name)
    if latest is not None and json.loads(latest.body).get("signer") == signer:
        return signer, latest.digest, False
    event = record_event(session, COUNTERSIGNER_SET, name, signer=signer)
    session.commit()
    return signer, event.digest, True


def declaration_event(session: Session, digest: str) -> RegistryEvent:
    """A stored declaration's event by its digest; 404 when there is none."""
    event = session.scalar(
        select(RegistryEvent).where(
            RegistryEvent.digest == digest, RegistryEvent.type == ADDED_VALUE_DECLARED
        )
    )
    if event is None:
        raise not_found("declaration", digest)
    return event


def countersign(
    session: Session, domain: Domain, declared: RegistryEvent, name: str, signature: str
) -> tuple[str, str, bool]:
    """Store a countersignature of ``declared`` by ``name``'s named key (commits): the key's
    address, the event's digest, and False when the same one is already stored."""
    key_event = _countersigner_event(session, name)
    if key_event is None:
        raise ApiError(
            422,
            "countersigner_unregistered",
            f"no key is named for countersigner {name!r}",
            "countersigner",
        )
    declaration = AddedValueDeclaration.from_message(json.loads(declared.body)["declaration"])
    signed = declaration_digest(domain, declaration)
    try:
        raw = normalize_signature(bytes.fromhex(signature.removeprefix("0x")))
        signer = recover_signer(countersignature_digest(domain, signed, name), raw)
    except (InvalidRecord, SignatureError, ValueError) as exc:
        raise ApiError(422, "invalid_signature", f"signature: {exc}", "signature") from None
    key = json.loads(key_event.body)["signer"]
    if signer != key:
        raise ApiError(
            422,
            "countersignature_signer_mismatch",
            f"the countersignature is signed by {signer}, not by {name}'s named key {key}",
            "signature",
        )
    fields = {
        "declaration": declared.digest,
        "declarationDigest": "0x" + signed.hex(),
        "countersigner": name,
        "signer": signer,
        "signature": "0x" + raw.hex(),
    }
    try:
        event = record_event(session, ADDED_VALUE_COUNTERSIGNED, declared.subject, **fields)
        session.commit()
    except IntegrityError:  # the same countersignature: its event already exists
        session.rollback()
        return signer, _stored_countersignature(session, declared, fields["signature"]), False
    return signer, event.digest, True


def _countersignature_events(
    session: Session, enterprise: str, declaration: str
) -> list[tuple[RegistryEvent, dict[str, Any]]]:
    rows = session.scalars(
        select(RegistryEvent)
        .where(RegistryEvent.type == ADDED_VALUE_COUNTERSIGNED, RegistryEvent.subject == enterprise)
        .order_by(RegistryEvent.id)
    )
    bodies = ((row, json.loads(row.body)) for row in rows)
    return [(row, body) for row, body in bodies if body.get("declaration") == declaration]


def _stored_countersignature(session: Session, declared: RegistryEvent, signature: str) -> str:
    for row, body in _countersignature_events(session, declared.subject, declared.digest):
        if body.get("signature") == signature:
            return row.digest
    raise ApiError(409, "countersignature_conflict", "retry the countersignature", "signature")


def _verifiers(session: Session, enterprise: str, declaration: str) -> list[dict[str, str]]:
    return [
        {"name": body["countersigner"], "address": body["signer"], "event": row.digest}
        for row, body in _countersignature_events(session, enterprise, declaration)
    ]


def _countersignatures(
    session: Session, engine: Engine, enterprise: str, declaration: str
) -> tuple[CountersignatureJson, ...]:
    """The anchored countersignatures of the declaration, each with the events naming its
    countersigner's keys; one not anchored yet is left out until it is."""
    found = []
    for row, body in _countersignature_events(session, enterprise, declaration):
        try:
            proven = _proven(session, engine, row)
            keys = registry_proofs(session, engine, body["countersigner"], (COUNTERSIGNER_SET,))
        except ApiError:  # 409 until anchored
            continue
        found.append(CountersignatureJson(countersignature=proven, keys=keys))
    return tuple(found)


def _proven(session: Session, engine: Engine, row: RegistryEvent) -> RegistryProofJson:
    leaf = session.scalar(select(LeafRow).where(LeafRow.hash == row.leaf_hash))
    assert leaf is not None
    included = inclusion(session, engine, leaf, f"countersignature {row.digest}")
    return RegistryProofJson(event=json.loads(row.body), **included)

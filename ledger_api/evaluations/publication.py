"""Publishing an evaluation: the enterprise lets anyone fetch its figure proof, so whoever scans
its 碳效码 can check the grade in a browser. Withdrawing ends that; nothing else changes (the
entry stays anchored, and a bundle fetched earlier still verifies).

Both are the enterprise's statements (``verifier.protocol.publication``): signed by the key its
signed registry chain names, checked here against the evaluation's statement head, and stored
and anchored as registry events, so the ledger can refuse a statement but not make one. An
enterprise enrolled without a registry key (a legacy enrolment) has nothing to sign with: it
publishes with its API key alone, and its public page says the publication is not signed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from ledger_api.access.deps import Caller, Role, manages
from ledger_api.core.errors import ApiError, LedgerError, not_found
from ledger_api.core.models import Enterprise, Evaluation, LeafRow, RegistryEvent, utcnow
from ledger_api.evaluations.supersession import current_of, supersession_of
from ledger_api.ledger.proofs import inclusion
from ledger_api.registry.events import record_event
from ledger_api.registry.signed import chain_events, chain_head
from verifier.errors import InvalidRecord, SignatureError
from verifier.formats.figure import EntryProofJson, PublicationEvidenceJson
from verifier.protocol.publication import (
    ACTIONS,
    ZERO_PREV,
    Publication,
    publication_digest,
    publication_event,
)
from verifier.protocol.typed_data import Domain, recover_signer

# A statement's ``at`` may lie this far ahead of the ledger's clock (clock skew), no further.
MAX_FUTURE_S = 300


@dataclass(frozen=True)
class SignedStatement:
    """A statement as posted: the EIP-712 message and the enterprise's signature."""

    message: dict[str, Any]
    signature: str


def _owned(session: Session, caller: Caller, identifier: str) -> Evaluation:
    """The evaluation if ``caller`` is its enterprise; else 404, as for none. Only the
    enterprise decides what of its own is public, not an administrator."""
    row = session.scalar(select(Evaluation).where(Evaluation.identifier == identifier))
    if row is None or caller.role != Role.ENTERPRISE or not manages(caller, row.enterprise_id):
        raise not_found("evaluation", identifier)
    return row


def _enterprise(session: Session, row: Evaluation) -> Enterprise:
    enterprise = session.get(Enterprise, row.enterprise_id)
    assert enterprise is not None
    return enterprise


def publication_state(session: Session, caller: Caller, identifier: str) -> dict[str, Any]:
    """What the enterprise signs its next statement after: the entry, the head, its key."""
    row = _owned(session, caller, identifier)
    enterprise = _enterprise(session, row)
    signer = chain_head(session, enterprise).signer if chain_events(session, enterprise) else None
    return {
        "identifier": row.identifier,
        "enterprise": enterprise.identifier,
        "entry": row.digest,
        "index": row.publication_index,
        "head": row.publication_head or ZERO_PREV,
        "signer": signer,
        "published": row.published_at is not None,
        "publishedAt": published_at_text(row),
    }


def set_published(
    session: Session,
    domain: Domain,
    caller: Caller,
    identifier: str,
    public: bool,
    statement: SignedStatement | None,
) -> Evaluation:
    """Publish or withdraw; a statement is required exactly when the enterprise has a
    registry key. Commits the statement's event and the new state together."""
    row = _owned(session, caller, identifier)
    enterprise = _enterprise(session, row)
    if not chain_events(session, enterprise):
        if statement is not None:
            raise ApiError(
                409,
                "no_registry_signer",
                f"{enterprise.identifier} has no registry key to sign with: publish with the "
                "API key alone",
                "publication",
            )
    elif statement is None:
        raise ApiError(
            422,
            "publication_unsigned",
            f"{enterprise.identifier} has a registry key: sign the statement with it "
            f"(GET /v1/evaluations/{identifier}/publication)",
            "publication",
        )
    else:
        _store_statement(session, domain, row, enterprise, public, statement)
    row.published_at = (row.published_at or utcnow()) if public else None
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def _parse(statement: SignedStatement) -> tuple[Publication, bytes]:
    try:
        publication = Publication.from_message(statement.message)
    except (InvalidRecord, TypeError) as exc:
        raise ApiError(422, "invalid_publication", str(exc), "publication") from None
    try:
        return publication, bytes.fromhex(statement.signature.removeprefix("0x"))
    except ValueError:
        raise ApiError(422, "invalid_signature", "not hexadecimal", "signature") from None


def _check_about(
    publication: Publication, row: Evaluation, enterprise: Enterprise, public: bool
) -> None:
    action = "publish" if public else "withdraw"
    if publication.action != action:
        raise ApiError(
            422,
            "publication_mismatch",
            f"the statement is a {publication.action}, this request a {action}",
            "publication.action",
        )
    for field, stated, own in (
        ("enterprise", publication.enterprise, enterprise.identifier),
        ("evaluation", publication.evaluation, row.identifier),
        ("entry", publication.entry, row.digest),
    ):
        if stated != own:
            raise ApiError(
                422,
                "publication_mismatch",
                f"the statement names {field} {stated}, this evaluation's is {own}",
                f"publication.{field}",
            )
    if publication.at > int(time.time()) + MAX_FUTURE_S:
        raise ApiError(422, "at_in_future", "at lies in the future", "publication.at")


def _check_signer(
    session: Session, domain: Domain, publication: Publication, signature: bytes, e: Enterprise
) -> None:
    try:
        signer = recover_signer(publication_digest(domain, publication), signature)
    except SignatureError as exc:
        raise ApiError(422, "invalid_signature", str(exc), "signature") from None
    key = chain_head(session, e).signer
    if signer != key:
        raise ApiError(
            422,
            "signer_not_enterprise",
            f"signed by {signer}, not by {e.identifier}'s registry key",
            "signature",
        )


def _store_statement(
    session: Session,
    domain: Domain,
    row: Evaluation,
    enterprise: Enterprise,
    public: bool,
    statement: SignedStatement,
) -> None:
    publication, signature = _parse(statement)
    _check_about(publication, row, enterprise, public)
    _check_signer(session, domain, publication, signature, enterprise)
    index, head = row.publication_index, row.publication_head or ZERO_PREV
    if publication.prev != head or publication.index != index + 1:
        raise _head_moved(index, head)
    event_body = publication_event(publication, signature)
    try:
        event = record_event(
            session, ACTIONS[publication.action], row.identifier, **_fields(event_body)
        )
        # Compare and set: of two statements signed after the same head only one is stored.
        moved = session.execute(
            update(Evaluation)
            .where(
                Evaluation.id == row.id,  # type: ignore[arg-type]
                Evaluation.publication_index == index,  # type: ignore[arg-type]
            )
            .values(publication_index=publication.index, publication_head=event.digest)
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise _head_moved(index, head)
    except (IntegrityError, ApiError):
        session.rollback()
        raise _head_moved(index, head) from None
    row.publication_index, row.publication_head = publication.index, event.digest


def _head_moved(index: int, head: str) -> ApiError:
    return ApiError(
        409,
        "publication_head_moved",
        f"the evaluation's last statement is index {index}, digest {head}: sign the next one "
        "after it",
        "publication.prev",
    )


def _fields(event: dict[str, Any]) -> dict[str, Any]:
    """The event's own fields, for ``record_event`` (which adds the envelope)."""
    return {k: v for k, v in event.items() if k not in ("format", "version", "type", "subject")}


def publication_evidence(
    session: Session, engine: Engine, row: Evaluation
) -> PublicationEvidenceJson | None:
    """The statement that published ``row`` and, once anchored, its inclusion; None when no
    signed statement publishes it (a legacy enterprise's publication, or one not made by it)."""
    if row.published_at is None or row.publication_head is None:
        return None
    event = session.scalar(
        select(RegistryEvent).where(RegistryEvent.digest == row.publication_head)
    )
    if event is None:
        return None
    leaf = session.scalar(select(LeafRow).where(LeafRow.hash == event.leaf_hash))
    assert leaf is not None
    try:
        included = inclusion(session, engine, leaf, f"publication {event.digest}")
    except LedgerError:  # not anchored yet: the statement alone, the page says so
        included = None
    body = json.loads(event.body)
    return PublicationEvidenceJson(
        event=body, inclusion=EntryProofJson(**included) if included else None
    )


def published_evaluation(session: Session, identifier: str) -> Evaluation:
    """A published evaluation, for callers without a key; 404 for any other, published or
    not existing alike."""
    row = session.scalar(select(Evaluation).where(Evaluation.identifier == identifier))
    if row is None or row.published_at is None:
        raise not_found("evaluation", identifier)
    return row


def public_supersession(session: Session, row: Evaluation) -> dict[str, Any] | None:
    """For a superseded evaluation's public page: what supersedes it and why, and the current
    evaluation of its period, linked only when its enterprise published that one too (the page
    shows nothing the enterprise did not make public). None while it is current."""
    if row.superseded_by is None:
        return None
    told = supersession_of(session, row)["supersededBy"]
    current = current_of(session, row)
    return {
        "by": row.superseded_by,
        "reason": told["reason"],
        "note": told["note"],
        "current": current.identifier if current.published_at is not None else None,
    }


def public_figure(entry_rating: object) -> str:
    """The figure a public page proves: the grade when rated (its bundle re-checks every
    figure of the entry as well), else the total."""
    return "rating.grade" if entry_rating else "total"


def published_at_text(row: Evaluation) -> str | None:
    value: datetime | None = row.published_at
    return None if value is None else value.isoformat(timespec="seconds")

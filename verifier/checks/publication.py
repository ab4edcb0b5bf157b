"""Check ``publication``: did the enterprise itself publish this evaluation?

A bundle served by a public page carries the enterprise's signed publication statement
(``publication``: the ``evaluation.published`` registry event and, once anchored, its
inclusion proof). The check proves the statement is about this exact entry, signed by the
enterprise's registry key in force at the statement's time (as the bundle's signed registry
chain names it), and anchored when the bundle says so; it then reports "published by
<enterprise>, signed". A bundle without one is not a publication: the check is skipped, unless
the caller requires one (a public page does), when it fails ``PublicationMissing``. A
publication the operator made itself (no statement, or one signed by any other key) fails.

What no bundle can show: that the enterprise did not withdraw the publication later (the
ledger anchors the withdrawal, but a bundle cannot prove that nothing follows its statement).
"""

from __future__ import annotations

from typing import Any

from verifier.checks.kernel import (
    AnchorClaim,
    CheckStatus,
    Progress,
    check_registry_event,
    decode_nodes,
)
from verifier.errors import InvalidRecord, SignatureError, VerificationFailure
from verifier.formats.entry import EvaluationEntry
from verifier.formats.figure import FigureProofBundle, PublicationEvidenceJson
from verifier.formats.record import RegistryProofJson
from verifier.protocol.events import ENTERPRISE_REGISTERED, SIGNER_SET
from verifier.protocol.keccak import parse_address
from verifier.protocol.publication import ACTIONS, Publication, publication_digest
from verifier.protocol.typed_data import Domain, recover_signer

NOT_PUBLISHED = "the bundle carries no publication statement"


def _fail(code: str, reason: str) -> VerificationFailure:
    return VerificationFailure("publication", code, reason)


def _statement(event: dict[str, Any], entry: EvaluationEntry, digest: str) -> Publication:
    """The statement the event carries: a publication of this entry by its enterprise."""
    try:
        publication = Publication.from_message(event.get("publication"))  # type: ignore[arg-type]
    except InvalidRecord as exc:
        raise _fail("PublicationInvalid", f"publication.event: {exc}") from None
    shown = (event.get("type"), event.get("subject"), event.get("enterprise"))
    if shown != (ACTIONS[publication.action], publication.evaluation, publication.enterprise):
        raise _fail("PublicationInvalid", "the event does not carry its statement as signed")
    if publication.action != "publish":
        raise _fail(
            "PublicationMismatch", f"the statement is a {publication.action}, not a publish"
        )
    stated = (publication.enterprise, publication.evaluation, publication.entry)
    if stated != (entry.enterprise, entry.identifier, digest):
        raise _fail(
            "PublicationMismatch",
            f"the statement publishes {stated[1]} of {stated[0]} (entry {stated[2]}), not this "
            f"entry ({entry.identifier}, {digest})",
        )
    return publication


def _signer(event: dict[str, Any], domain: Domain, publication: Publication) -> str:
    try:
        raw = bytes.fromhex(str(event.get("signature", "")).removeprefix("0x"))
        return recover_signer(publication_digest(domain, publication), raw)
    except (SignatureError, ValueError) as exc:
        raise _fail(
            "PublicationUnsigned", f"the statement carries no valid signature: {exc}"
        ) from None


def key_in_force(registry: tuple[RegistryProofJson, ...], at: int) -> str | None:
    """The enterprise's registry key at ``at``: the enrolment's, or the latest signed
    ``enterprise.signer_set`` effective at or before it (the chain's own checks ran first)."""
    key = None
    for k, proof in enumerate(registry):
        event = proof.event
        effective = event.get("effective", 0)
        if event.get("type") not in (ENTERPRISE_REGISTERED, SIGNER_SET):
            continue
        if k and (type(effective) is not int or effective > at):
            continue
        signer = event.get("signer")
        key = signer if isinstance(signer, str) else key
    return key


def _anchored(evidence: PublicationEvidenceJson, domain: Domain) -> list[AnchorClaim]:
    inclusion = evidence.inclusion
    if inclusion is None:
        return []
    proof = RegistryProofJson(event=evidence.event, **inclusion.model_dump(by_alias=True))

    def invalid(reason: str) -> VerificationFailure:
        return _fail("PublicationUnanchored", f"publication: {reason}")

    try:
        nodes = decode_nodes(proof.proof, "publication.inclusion.proof")
        claim = AnchorClaim.of(proof.batch, proof.anchor)
    except (VerificationFailure, ValueError) as exc:
        raise invalid(str(getattr(exc, "reason", exc))) from None
    check_registry_event(proof, nodes, claim, invalid)
    if proof.anchor.chain_id != domain.chain_id or claim.contract != parse_address(
        domain.verifying_contract
    ):
        raise invalid("anchored on another chain or contract")
    return [claim]


def check_publication(
    bundle: FigureProofBundle, entry: EvaluationEntry, domain: Domain, required: bool
) -> tuple[str, CheckStatus, list[AnchorClaim]]:
    """Check ``publication``; returns its detail, its status and the anchor to check."""
    evidence = bundle.publication
    if evidence is None:
        if required:
            raise _fail(
                "PublicationMissing",
                f"the page serves {entry.identifier} as published, but no statement signed by "
                f"{entry.enterprise} says so",
            )
        return NOT_PUBLISHED, CheckStatus.SKIPPED, []
    publication = _statement(evidence.event, entry, bundle.entry_proof.leaf.digest)
    signer = _signer(evidence.event, domain, publication)
    key = key_in_force(bundle.registry, publication.at)
    if key != signer:
        raise _fail(
            "PublicationSignerMismatch",
            f"the statement is signed by {signer}; {entry.enterprise}'s registry key at its "
            f"time is {key or 'not shown'}",
        )
    claims = _anchored(evidence, domain)
    detail = f"published by {entry.enterprise}, signed by its registry key {signer}"
    if not claims:
        return f"{detail}; not anchored yet", CheckStatus.WARNING, []
    return f"{detail}, anchored", CheckStatus.PASSED, claims


def run_publication_check(
    bundle: FigureProofBundle, entry: EvaluationEntry, domain: Domain, required: bool, p: Progress
) -> list[AnchorClaim]:
    detail, status, claims = check_publication(bundle, entry, domain, required)
    p.add("publication", detail, status)
    return claims

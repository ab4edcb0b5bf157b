"""Grading inputs the records do not prove: the added value and the peer average.

Check ``inputs``: the added value the entry graded with is the one the enterprise declared and
signed with the key its anchored registry events name (``verifier.protocol.declarations``); an
entry without a declaration passes with a warning, "added value not attested", never in
silence. How it proves an anchored registry event and finds the enterprise's key in force at a
block (``proven_event``, ``enterprise_keys``, ``signer_mismatch``) serves check ``scope2`` too.

A ``peers-weighted/v2`` average is published to the graded firm rounded, with no member count,
totals or list (``docs/security.md``): the bundle a firm gets cannot recompute it, and this
module says so instead of passing it in silence. It checks what the entry does show — the
published rounding and the minimum number of peers — and rebuilds the average as stated so
the grade can be recomputed from it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from accounting.grading import PEERS_DEFINITION, IndustryAverage, PublishedPopulation
from verifier.checks.kernel import (
    AnchorClaim,
    CheckStatus,
    Progress,
    check_registry_event,
    decode_nodes,
)
from verifier.errors import InvalidRecord, SignatureError, VerificationFailure
from verifier.formats.entry import EvaluationEntry
from verifier.formats.figure import CountersignatureJson, FigureProofBundle
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
from verifier.protocol.keccak import parse_address
from verifier.protocol.typed_data import Domain, recover_signer

# Fewer peers than this and the average, with the firm's own figures, pins the others down.
MIN_PEERS_FLOOR = 3
_BASIS_KEYS = {"definition", "places", "min_members", "members_digest"}
_DIGEST = re.compile(r"0x[0-9a-f]{64}")
PEER_AVERAGE_NOTE = (
    "the peer average is as the ledger states it, not recomputed: its members are not in "
    "this bundle"
)


def _grade_mismatch(reason: str) -> VerificationFailure:
    return VerificationFailure("rating", "GradeMismatch", reason)


def _published(basis: Any) -> PublishedPopulation:
    if not isinstance(basis, dict) or set(basis) != _BASIS_KEYS:
        raise _grade_mismatch(f"a peer average's basis has exactly the keys {sorted(_BASIS_KEYS)}")
    places, floor = basis["places"], basis["min_members"]
    if type(places) is not int or not 0 <= places <= 12:
        raise _grade_mismatch(f"peer average places {places!r} is not an integer 0..12")
    if type(floor) is not int or floor < MIN_PEERS_FLOOR:
        raise _grade_mismatch(
            f"the peer average was formed from at least {floor!r} peers; fewer than "
            f"{MIN_PEERS_FLOOR} would disclose their figures"
        )
    digest = basis["members_digest"]
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise _grade_mismatch("members_digest is not 0x + 64 lowercase hex digits")
    return PublishedPopulation(PEERS_DEFINITION, places, floor, digest)


def stated_peer_average(entry: EvaluationEntry, stated: dict[str, Any]) -> IndustryAverage:
    """The peer average as the entry states it, once its published form is checked."""
    published = _published(stated.get("population"))
    value = Decimal(stated["value"])
    if not value.is_finite() or value <= 0:
        raise _grade_mismatch(f"peer average {stated['value']!r} is not positive")
    if value != value.quantize(Decimal(1).scaleb(-published.places)):
        raise _grade_mismatch(
            f"peer average {stated['value']} is not rounded to {published.places} places"
        )
    year = entry.period.start.year
    return IndustryAverage(entry.industry, year, "population", value, population=published)


# --- check "inputs": the added value's declaration -------------------------------------------

NOT_ATTESTED = (
    "added value NOT attested: the enterprise signed no declaration of it, so L, K and the "
    "grade rest on a figure only the ledger states"
)


def _fail(code: str, reason: str) -> VerificationFailure:
    return VerificationFailure("inputs", code, reason)


@dataclass(frozen=True)
class ProvenEvent:
    """A registry event shown under its anchored root, on the bundle's chain and contract."""

    event: dict[str, Any]
    digest: str
    claim: AnchorClaim


def proven_event(proof: RegistryProofJson, where: str, domain: Domain, code: str) -> ProvenEvent:
    """A registry event under its anchored root, on the bundle's chain and contract."""
    try:
        nodes = decode_nodes(proof.proof, f"{where}.proof")
        claim = AnchorClaim.of(proof.batch, proof.anchor)
    except (VerificationFailure, ValueError) as exc:
        raise _fail(code, f"{where}: {getattr(exc, 'reason', exc)}") from None
    check_registry_event(proof, nodes, claim, lambda reason: _fail(code, f"{where}: {reason}"))
    contract = parse_address(domain.verifying_contract)
    if proof.anchor.chain_id != domain.chain_id or claim.contract != contract:
        raise _fail(code, f"{where}: anchored on another chain or contract")
    return ProvenEvent(proof.event, proof.leaf.digest, claim)


def event_signer(body: dict[str, Any], digest: bytes) -> str:
    """The key that signed ``digest``, by the event's ``signature`` (0x-hex)."""
    return recover_signer(digest, bytes.fromhex(str(body.get("signature", "")).removeprefix("0x")))


def _declaration(
    entry: EvaluationEntry, event: ProvenEvent, domain: Domain
) -> tuple[AddedValueDeclaration, str]:
    """The declaration the event carries, about this entry's enterprise and period, and the
    key that signed it."""
    body = event.event
    if body.get("type") != ADDED_VALUE_DECLARED or body.get("subject") != entry.enterprise:
        raise _fail(
            "DeclarationMismatch", f"not an {ADDED_VALUE_DECLARED} event of {entry.enterprise}"
        )
    try:
        declaration = AddedValueDeclaration.from_message(body.get("declaration"))
        signer = event_signer(body, declaration_digest(domain, declaration))
    except (InvalidRecord, SignatureError, TypeError, ValueError) as exc:
        raise _fail("DeclarationSignatureInvalid", f"the declaration: {exc}") from None
    stated = (declaration.enterprise, declaration.period_start, declaration.period_end)
    if stated != (entry.enterprise, entry.period.start, entry.period.end):
        raise _fail(
            "DeclarationMismatch",
            f"the declaration is of {stated[0]} {stated[1]}..{stated[2]}, not of this entry",
        )
    return declaration, signer


def enterprise_keys(
    bundle: FigureProofBundle,
    signers: Sequence[RegistryProofJson],
    where: str,
    domain: Domain,
    code: str,
) -> list[ProvenEvent]:
    """The anchored events naming the enterprise's keys: ``signers`` (the evidence at
    ``where``) and the registry chain's (v3), which, complete by its own checks, shows a
    rotation the ledger might leave out of ``signers``."""
    return [proven_event(p, f"{where}[{i}]", domain, code) for i, p in enumerate(signers)] + [
        proven_event(p, f"registry[{i}]", domain, code)
        for i, p in enumerate(bundle.registry)
        if "signer" in p.event
    ]


def _signer_named(
    keys: Sequence[ProvenEvent], types: tuple[str, ...], subject: str, block: int
) -> str | None:
    """The signer named by the latest event of ``keys`` of one of ``types`` about ``subject``
    anchored at or before ``block`` (same-block events have no order: all of them, joined)."""
    named = [
        k
        for k in keys
        if k.event.get("type") in types
        and k.event.get("subject") == subject
        and isinstance(k.event.get("signer"), str)
        and k.claim.block_number <= block
    ]
    if not named:
        return None
    last = max(k.claim.block_number for k in named)
    return "|".join(sorted({k.event["signer"] for k in named if k.claim.block_number == last}))


def signer_mismatch(
    entry: EvaluationEntry, keys: Sequence[ProvenEvent], block: int, signer: str, what: str
) -> str | None:
    """Why ``what``, signed by ``signer``, is not signed by the enterprise's key as of
    ``block`` (named by its latest anchored enrolment or signer_set event at or before it);
    ``None`` when it is."""
    in_force = _signer_named(keys, (ENTERPRISE_REGISTERED, SIGNER_SET), entry.enterprise, block)
    if in_force == signer:
        return None
    return (
        f"{what} is signed by {signer}; {entry.enterprise}'s key anchored by block {block} is "
        f"{in_force or 'not shown'}"
    )


def check_inputs(
    bundle: FigureProofBundle, entry: EvaluationEntry, domain: Domain
) -> tuple[str, CheckStatus, list[AnchorClaim]]:
    """Check ``inputs``; returns its detail, its status and the anchors to check on chain."""
    if entry.rating is None:
        return "the entry carries no rating", CheckStatus.SKIPPED, []
    named = entry.inputs.added_value if entry.inputs is not None else None
    if named is None:
        return NOT_ATTESTED, CheckStatus.WARNING, []
    if bundle.inputs is None:
        raise _fail("DeclarationMissing", "the entry names a declaration the bundle does not carry")
    event = proven_event(
        bundle.inputs.declaration, "inputs.declaration", domain, "DeclarationInvalid"
    )
    if event.digest != named.declaration:
        raise _fail(
            "DeclarationMismatch",
            f"the bundle's declaration is {event.digest}, the entry names {named.declaration}",
        )
    declaration, signer = _declaration(entry, event, domain)
    try:
        graded = Decimal(entry.rating["added_value_wan_yuan"])
    except (KeyError, TypeError, InvalidOperation):
        raise _fail("AddedValueMismatch", "the rating states no added value") from None
    if graded != declaration.value:
        raise _fail(
            "AddedValueMismatch",
            f"the entry grades with an added value of {graded} 万元, the enterprise declared "
            f"{declaration.value}",
        )
    keys = enterprise_keys(
        bundle, bundle.inputs.signers, "inputs.signers", domain, "DeclarationSignerUnproven"
    )
    block = event.claim.block_number
    if reason := signer_mismatch(entry, keys, block, signer, "the declaration"):
        raise _fail("DeclarationSignerMismatch", reason)
    signed = declaration_digest(domain, declaration)
    verified, counter_claims = [], []
    for i, evidence in enumerate(bundle.inputs.countersignatures):
        name, claims = _check_countersignature(i, evidence, event, signed, domain)
        verified.append(name)
        counter_claims += claims
    detail = (
        f"added value {declaration.value} 万元 declared by {entry.enterprise}, signed by its "
        f"key {signer}, anchored in block {block}"
    )
    if verified:
        detail += f"; verified by {', '.join(verified)}"
    claims = [event.claim, *(k.claim for k in keys), *counter_claims]
    return detail, CheckStatus.PASSED, claims


# --- optional countersignatures of the declaration -------------------------------------------


def _check_countersignature(
    i: int, evidence: CountersignatureJson, declared: ProvenEvent, signed: bytes, domain: Domain
) -> tuple[str, list[AnchorClaim]]:
    """One countersignature: of this declaration, by the key anchored for its countersigner
    no later than the countersignature itself. Returns "name (address)" and its anchors."""
    where = f"inputs.countersignatures[{i}]"
    counter = proven_event(evidence.countersignature, where, domain, "CountersignatureInvalid")
    body, name = counter.event, counter.event.get("countersigner")
    if (
        body.get("type") != ADDED_VALUE_COUNTERSIGNED
        or body.get("declaration") != declared.digest
        or body.get("declarationDigest") != "0x" + signed.hex()
    ):
        raise _fail(
            "CountersignatureMismatch",
            f"{where} countersigns {body.get('declaration')} (digest "
            f"{body.get('declarationDigest')}), not the declaration {declared.digest}",
        )
    keys = [
        proven_event(p, f"{where}.keys[{j}]", domain, "CountersignerUnregistered")
        for j, p in enumerate(evidence.keys)
    ]
    try:
        digest = countersignature_digest(domain, signed, name)  # type: ignore[arg-type]
        signer = event_signer(body, digest)
    except (InvalidRecord, SignatureError, TypeError, ValueError) as exc:
        raise _fail("CountersignatureInvalid", f"{where}: {exc}") from None
    key = _signer_named(keys, (COUNTERSIGNER_SET,), str(name), counter.claim.block_number)
    if key != signer:
        raise _fail(
            "CountersignerUnregistered",
            f"{where} is signed by {signer}; the key anchored for countersigner {name!r} by "
            f"block {counter.claim.block_number} is {key or 'not shown'}",
        )
    return f"{name} ({signer})", [counter.claim, *(k.claim for k in keys)]


def run_input_checks(
    bundle: FigureProofBundle, entry: EvaluationEntry, domain: Domain, p: Progress
) -> list[AnchorClaim]:
    detail, status, claims = check_inputs(bundle, entry, domain)
    p.add("inputs", detail, status)
    return claims

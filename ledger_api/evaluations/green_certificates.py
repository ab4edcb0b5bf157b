"""Green-certificate claims (``verifier.protocol.green_certificates``): an enterprise's signed
statement that one serial range of green electricity certificates (绿证) covers electricity it
bought in one reporting period, stored as an anchored registry event, and the market-based
Scope 2 figure an evaluation computes from the period's claims (``accounting.scope2``).

A serial is claimed once across all enterprises: the claim takes the one row of
``green_certificate_lock`` first, then looks for an overlapping range of the same programme
and prefix, then writes its event and range in the same transaction. An overlap is refused
with ``certificate_serials_claimed`` and names neither the other claim nor its enterprise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from accounting.errors import AccountingError
from accounting.result import Result
from accounting.scope2 import RESIDUAL_FALLBACK, scope2
from ledger_api.core.errors import ApiError
from ledger_api.core.models import (
    Enterprise,
    GreenCertificateClaimRow,
    GreenCertificateLock,
    RegistryEvent,
)
from ledger_api.evaluations.period_rating import choose_ruleset
from ledger_api.evaluations.report.model import Scope2View
from ledger_api.evaluations.request import EvaluationRequest
from ledger_api.ledger.proofs import registry_proofs
from ledger_api.registry.events import record_event
from verifier.errors import InvalidRecord, SignatureError
from verifier.formats.figure import GreenCertificatesEvidenceJson
from verifier.protocol.events import ENTERPRISE_REGISTERED, SIGNER_SET
from verifier.protocol.green_certificates import (
    GREEN_CERTIFICATES_CLAIMED,
    GreenCertificateClaim,
    claim_digest,
)
from verifier.protocol.typed_data import Domain, normalize_signature, recover_signer

# PostgreSQL's BIGINT is signed: the ledger stores serials below 2**63.
_MAX_SERIAL = (1 << 63) - 1


@dataclass(frozen=True)
class StoredClaim:
    event_digest: str
    claim: GreenCertificateClaim
    created: bool


def parse_claim(message: dict[str, Any]) -> GreenCertificateClaim:
    try:
        claim = GreenCertificateClaim.from_message(message)
    except (InvalidRecord, TypeError, ValueError) as exc:
        raise ApiError(422, "invalid_claim", str(exc), "claim") from None
    if claim.last_serial > _MAX_SERIAL:
        raise ApiError(422, "invalid_claim", "lastSerial must be below 2**63", "claim.lastSerial")
    if not claim.vintage_fits():
        raise ApiError(
            422,
            "certificate_vintage_outside_period",
            f"certificates generated {claim.vintage_start}..{claim.vintage_end} do not fall "
            f"within the reporting period's years {claim.period_start.year}.."
            f"{claim.period_end.year}",
            "claim.vintageStart",
        )
    return claim


def _signer(domain: Domain, claim: GreenCertificateClaim, signature: str) -> tuple[bytes, str]:
    try:
        raw = normalize_signature(bytes.fromhex(signature.removeprefix("0x")))
        return raw, recover_signer(claim_digest(domain, claim), raw)
    except (SignatureError, ValueError) as exc:
        raise ApiError(422, "invalid_signature", f"signature: {exc}", "signature") from None


def _check_signer(enterprise: Enterprise, signer: str) -> None:
    if enterprise.asset_signer is None:
        raise ApiError(
            409,
            "no_enterprise_signer",
            f"{enterprise.identifier} has no registered signer key to sign claims with",
            "enterprise",
        )
    if signer != enterprise.asset_signer:
        raise ApiError(
            422,
            "claim_signer_mismatch",
            f"the claim is signed by {signer}, not by {enterprise.identifier}'s registered key "
            f"{enterprise.asset_signer}",
            "signature",
        )


def _overlapping(session: Session, claim: GreenCertificateClaim) -> GreenCertificateClaimRow | None:
    return session.scalar(
        select(GreenCertificateClaimRow).where(
            GreenCertificateClaimRow.programme == claim.programme,
            GreenCertificateClaimRow.serial_prefix == claim.serial_prefix,
            GreenCertificateClaimRow.first <= claim.last_serial,
            GreenCertificateClaimRow.last >= claim.first_serial,
        )
    )


def _claimed_elsewhere() -> ApiError:
    # Whose claim, and which of its serials, is not the caller's to learn.
    return ApiError(
        409,
        "certificate_serials_claimed",
        "a certificate of this serial range is already claimed",
        "claim.firstSerial",
    )


def claim_certificates(
    session: Session,
    domain: Domain,
    enterprise: Enterprise,
    claim: GreenCertificateClaim,
    signature: str,
) -> StoredClaim:
    """Store a claim signed by the enterprise's registered key (commits, all or nothing); the
    same signed claim twice is stored once."""
    raw, signer = _signer(domain, claim, signature)
    _check_signer(enterprise, signer)
    body = {"claim": claim.to_message(), "signature": "0x" + raw.hex()}
    # The lock first, then fresh reads: no other claim can land between check and write.
    session.execute(update(GreenCertificateLock).values(claims=GreenCertificateLock.claims + 1))
    clash = _overlapping(session, claim)
    if clash is not None:
        session.rollback()
        if clash.enterprise_id == enterprise.id and _same(session, clash, body):
            return StoredClaim(clash.event, claim, False)
        raise _claimed_elsewhere()
    try:
        event = record_event(session, GREEN_CERTIFICATES_CLAIMED, enterprise.identifier, **body)
        session.add(_row(event.digest, enterprise, claim))
        session.commit()
    except IntegrityError:  # a concurrent claim of a range sharing an end
        session.rollback()
        raise _claimed_elsewhere() from None
    return StoredClaim(event.digest, claim, True)


def _same(session: Session, row: GreenCertificateClaimRow, body: dict[str, Any]) -> bool:
    event = session.scalar(select(RegistryEvent).where(RegistryEvent.digest == row.event))
    stored = json.loads(event.body) if event is not None else {}
    return stored.get("claim") == body["claim"]


def _row(
    digest: str, enterprise: Enterprise, claim: GreenCertificateClaim
) -> GreenCertificateClaimRow:
    assert enterprise.id is not None
    return GreenCertificateClaimRow(
        event=digest,
        enterprise_id=enterprise.id,
        period_start=claim.period_start.isoformat(),
        period_end=claim.period_end.isoformat(),
        programme=claim.programme,
        serial_prefix=claim.serial_prefix,
        first=claim.first_serial,
        last=claim.last_serial,
        mwh=claim.mwh,
    )


# --- the evaluation's market-based figure ---------------------------------------------------


def period_claims(
    session: Session, enterprise: Enterprise, request: EvaluationRequest
) -> list[tuple[str, GreenCertificateClaim]]:
    """The enterprise's claims of exactly this period, read back from their signed events."""
    events = session.scalars(
        select(RegistryEvent)
        .join(GreenCertificateClaimRow, GreenCertificateClaimRow.event == RegistryEvent.digest)
        .where(
            GreenCertificateClaimRow.enterprise_id == enterprise.id,
            GreenCertificateClaimRow.period_start == request.period_start.isoformat(),
            GreenCertificateClaimRow.period_end == request.period_end.isoformat(),
        )
    )
    return sorted(
        (e.digest, GreenCertificateClaim.from_message(json.loads(e.body)["claim"]))
        for e in events.all()
    )


def scope2_basis(enterprise: Enterprise, request: EvaluationRequest) -> str:
    """The Scope 2 basis of the ruleset that will grade the period; location when none does."""
    try:
        return choose_ruleset(request, enterprise.region).scope2_basis
    except AccountingError:  # not gradable: the grade, if any, is not this call's to refuse
        return "location"


def scope2_block(
    session: Session, enterprise: Enterprise, request: EvaluationRequest, result: Result
) -> tuple[dict[str, Any] | None, Decimal]:
    """The entry's ``scope2`` block and the total the grade uses; no block for a period with
    no claims under a location-based ruleset (both figures would be the location-based one)."""
    claims = period_claims(session, enterprise, request)
    basis = scope2_basis(enterprise, request)
    if not claims and basis == "location":
        return None, result.total
    claimed = Decimal(sum(c.mwh for _, c in claims))
    try:
        figures = scope2(result.lines, claimed, basis)
    except AccountingError as exc:
        raise ApiError(422, exc.code, exc.message, exc.field) from None
    return figures.to_dict(d for d, _ in claims), figures.graded_total(result.total)


def green_certificates_evidence(
    session: Session, engine: Engine, entry: dict[str, Any]
) -> GreenCertificatesEvidenceJson | None:
    """The claims an entry's ``scope2`` names and the events naming the enterprise's keys,
    each with its inclusion proof (409 until anchored); None for an entry without claims."""
    named = set(((entry.get("scope2") or {}).get("certificates") or {}).get("claims") or ())
    if not named:
        return None
    stored = registry_proofs(session, engine, entry["enterprise"], (GREEN_CERTIFICATES_CLAIMED,))
    found = tuple(p for p in stored if p.leaf.digest in named)
    if len(found) != len(named):
        raise ApiError(
            409,
            "claim_missing",
            "the entry names a green-certificate claim the ledger no longer holds",
            "evaluation",
        )
    keys = registry_proofs(
        session, engine, entry["enterprise"], (ENTERPRISE_REGISTERED, SIGNER_SET)
    )
    return GreenCertificatesEvidenceJson(
        claims=found, signers=tuple(p for p in keys if "signer" in p.event)
    )


def scope2_view(entry: dict[str, Any]) -> Scope2View | None:
    """What the report shows of the entry's ``scope2`` block; None without one."""
    block = entry.get("scope2")
    if not block:
        return None
    certificates = block["certificates"]
    return Scope2View(
        location_based=Decimal(block["locationBased"]["reported"]),
        market_based=Decimal(block["marketBased"]["reported"]),
        basis=block["basis"],
        certificates_used_mwh=certificates["usedMWh"],
        certificates_claimed_mwh=certificates["claimedMWh"],
        claims=len(certificates["claims"]),
        residual=RESIDUAL_FALLBACK,
    )

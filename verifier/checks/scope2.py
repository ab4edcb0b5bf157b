"""Check ``scope2``: the entry's location- and market-based Scope 2 figures, recomputed from the
period's records and the enterprise's signed green-certificate claims
(``verifier.protocol.green_certificates``, ``accounting.scope2``).

Every claim the entry names must be in the bundle as an anchored registry event on the
bundle's chain and contract, signed by the enterprise's key in force when it was anchored (as
for the added-value declaration, ``verifier.checks.inputs``), of this enterprise and exactly
this period, with a vintage inside the period's years and no serial shared with another claim
of the bundle. Then both figures are recomputed digit for digit.

What a bundle cannot show: a claim by ANOTHER enterprise of the same serials. The ledger
refuses one (each serial once across all enterprises) and the operator cannot forge the
enterprise's signature, but the other firm's claims are not in this bundle; the detail says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from accounting import account
from accounting.errors import AccountingError
from accounting.factors import FactorSet
from accounting.from_records import RecordQuantity, inventory_from_records
from accounting.result import Line
from accounting.scope2 import PURCHASED, scope2
from verifier.checks.inputs import (
    ProvenEvent,
    enterprise_keys,
    event_signer,
    proven_event,
    signer_mismatch,
)
from verifier.checks.kernel import AnchorClaim, CheckStatus, Progress, prefixed
from verifier.errors import InvalidRecord, SignatureError, VerificationFailure
from verifier.formats.entry import EvaluationEntry
from verifier.formats.figure import FigureProofBundle, SignedRecordJson
from verifier.protocol.green_certificates import (
    GREEN_CERTIFICATES_CLAIMED,
    GreenCertificateClaim,
    claim_digest,
)
from verifier.protocol.typed_data import ActivityRecord, Domain

NOT_CROSS_CHECKED = (
    "serials claimed by other enterprises are not in this bundle: their uniqueness rests on "
    "the ledger's refusal of a second claim and on the certificate platform's records"
)


def _fail(code: str, reason: str) -> VerificationFailure:
    return VerificationFailure("scope2", code, reason)


def graded_emissions(entry: EvaluationEntry) -> Decimal:
    """The exact total the grade divides: as accounted, or with the market-based Scope 2 in
    place of the location-based one when the entry's basis is market (the ``scope2`` check
    recomputes both figures; the ``rating`` check the grade from this)."""
    total = Decimal(entry.accounting.figures["exact"]["total"])
    block = entry.scope2
    if not block or block.get("basis") != "market":
        return total
    location = Decimal(block["locationBased"]["exact"])
    return total - location + Decimal(block["marketBased"]["exact"])


def _claim(entry: EvaluationEntry, event: ProvenEvent, domain: Domain) -> tuple[Any, str]:
    body = event.event
    if body.get("type") != GREEN_CERTIFICATES_CLAIMED or body.get("subject") != entry.enterprise:
        raise _fail(
            "CertificateClaimMismatch",
            f"not an {GREEN_CERTIFICATES_CLAIMED} event of {entry.enterprise}",
        )
    try:
        claim = GreenCertificateClaim.from_message(body.get("claim"))
        signer = event_signer(body, claim_digest(domain, claim))
    except (InvalidRecord, SignatureError, TypeError, ValueError) as exc:
        raise _fail("CertificateClaimSignatureInvalid", f"claim {event.digest}: {exc}") from None
    stated = (claim.enterprise, claim.period_start, claim.period_end)
    if stated != (entry.enterprise, entry.period.start, entry.period.end):
        raise _fail(
            "CertificateClaimMismatch",
            f"claim {event.digest} is of {stated[0]} {stated[1]}..{stated[2]}, not of this entry",
        )
    if not claim.vintage_fits():
        raise _fail(
            "CertificateVintageInvalid",
            f"claim {event.digest}: certificates generated {claim.vintage_start}.."
            f"{claim.vintage_end} fall outside the reporting period's years",
        )
    return claim, signer


def _checked_claims(
    bundle: FigureProofBundle, entry: EvaluationEntry, named: Sequence[str], domain: Domain
) -> tuple[list[GreenCertificateClaim], list[AnchorClaim]]:
    evidence = bundle.green_certificates
    if evidence is None:
        raise _fail("CertificateClaimMissing", "the entry names claims the bundle does not carry")
    # The shared helpers fail under check "inputs"; these failures are scope2's.
    with prefixed("", check="scope2"):
        events = [
            proven_event(p, f"greenCertificates.claims[{i}]", domain, "CertificateClaimInvalid")
            for i, p in enumerate(evidence.claims)
        ]
    if sorted(e.digest for e in events) != sorted(named) or len(set(named)) != len(named):
        raise _fail(
            "CertificateClaimMissing",
            f"the bundle carries claims {sorted(e.digest for e in events)}, the entry names "
            f"{sorted(named)}",
        )
    with prefixed("", check="scope2"):
        keys = enterprise_keys(
            bundle,
            evidence.signers,
            "greenCertificates.signers",
            domain,
            "CertificateSignerUnproven",
        )
    claims = []
    for event in events:
        claim, signer = _claim(entry, event, domain)
        what = f"claim {event.digest}"
        if reason := signer_mismatch(entry, keys, event.claim.block_number, signer, what):
            raise _fail("CertificateClaimSignerMismatch", reason)
        if any(claim.overlaps(other) for other in claims):
            raise _fail(
                "CertificateSerialsOverlap",
                f"claim {event.digest} names a certificate another claim of the entry names",
            )
        claims.append(claim)
    return claims, [*(e.claim for e in events), *(k.claim for k in keys)]


def _purchased_lines(
    entry: EvaluationEntry,
    records: Sequence[ActivityRecord],
    signed: Sequence[SignedRecordJson],
    metered: Sequence[RecordQuantity],
    factor_set: FactorSet,
) -> tuple[Line, ...]:
    """The period's purchased-electricity lines, accounted as the figures check accounts
    every record (and every register-proven quantity, ``metered``)."""
    quantities = [
        RecordQuantity(r.activity, r.source, r.quantity, r.decimals, r.unit, s.attributes)
        for r, s in zip(records, signed, strict=True)
        if r.activity == PURCHASED
    ] + [q for q in metered if q.activity == PURCHASED]
    if not quantities:
        return ()
    period, accounting = entry.period, entry.accounting
    try:
        inventory = inventory_from_records(
            entry.enterprise,
            entry.industry,
            period.start,
            period.end,
            quantities,
            factor_choices=accounting.factor_choices,
        )
        return account(inventory, factor_set, accounting.gwp).lines
    except (AccountingError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise _fail(
            "Scope2Mismatch", f"the purchased electricity cannot be accounted: {exc}"
        ) from None


def check_scope2(
    bundle: FigureProofBundle,
    entry: EvaluationEntry,
    domain: Domain,
    records: Sequence[ActivityRecord],
    metered: Sequence[RecordQuantity],
    factor_set: FactorSet,
) -> tuple[str, CheckStatus, list[AnchorClaim]]:
    """Check ``scope2``; returns its detail, its status and the anchors to check on chain."""
    block = entry.scope2
    if block is None:
        if bundle.green_certificates is not None:
            raise _fail("CertificateClaimMismatch", "claims in a bundle whose entry names none")
        # A pass, not a skip: the entry applies no certificate, so its Scope 2 is the
        # location-based purchased electricity the figures check recomputed.
        detail = "no green certificates claimed: Scope 2 is location-based only"
        return detail, CheckStatus.PASSED, []
    try:
        named = list(block["certificates"]["claims"])
        basis = block["basis"]
    except (KeyError, TypeError):
        raise _fail("Scope2Mismatch", "the entry's scope2 block is malformed") from None
    ruleset_basis = (bundle.ruleset or {}).get("scope2Basis", "location")
    if entry.rating is not None and basis != ruleset_basis:
        raise _fail(
            "Scope2BasisMismatch",
            f"the entry grades on a {basis}-based Scope 2, its ruleset states {ruleset_basis}",
        )
    claims, anchors = _checked_claims(bundle, entry, named, domain) if named else ([], [])
    lines = _purchased_lines(entry, records, bundle.records, metered, factor_set)
    try:
        recomputed = scope2(lines, Decimal(sum(c.mwh for c in claims)), basis)
    except (AccountingError, InvalidOperation) as exc:
        raise _fail("Scope2Mismatch", f"Scope 2 cannot be recomputed: {exc}") from None
    computed = recomputed.to_dict(named)
    if computed != block:
        differ = sorted(k for k in set(computed) | set(block) if computed.get(k) != block.get(k))
        raise _fail(
            "Scope2Mismatch", f"scope2 differs at {', '.join(differ)}: recomputed {computed}"
        )
    detail = (
        f"location-based {computed['locationBased']['reported']} t, market-based "
        f"{computed['marketBased']['reported']} t with {computed['certificates']['usedMWh']} of "
        f"{computed['certificates']['claimedMWh']} MWh of certificates in {len(claims)} signed "
        f"claims; the grade uses {basis}-based"
    )
    if claims:
        detail += f"; {NOT_CROSS_CHECKED}"
    return detail, CheckStatus.PASSED, anchors


def run_scope2_check(
    bundle: FigureProofBundle,
    entry: EvaluationEntry,
    domain: Domain,
    records: Sequence[ActivityRecord],
    metered: Sequence[RecordQuantity],
    factor_set: FactorSet,
    p: Progress,
) -> list[AnchorClaim]:
    detail, status, claims = check_scope2(bundle, entry, domain, records, metered, factor_set)
    p.add("scope2", detail, status)
    return claims

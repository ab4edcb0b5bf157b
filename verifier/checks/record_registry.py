"""Was the signing terminal registered by the enterprise itself? (record checks
``registry-signatures`` and ``registry-chain``, ``docs/proof-format.md`` section 6b)

``authorization`` shows that an anchored event binds the terminal to the record's source; the
ledger's operator could have written that event itself. A v2 record bundle therefore carries
the enterprise's registry chain too, and these checks reuse the figure proof's
(:mod:`verifier.checks.registry`): the chain starts with the registrar's enrolment naming the
enterprise's key, every later event is an operation signed by the key in force, and every
registration, rotation or revocation of the terminal that ``authorization`` shows is one of
them; conversely every chain event about the terminal is shown in ``authorization``, so a
revocation cannot be kept out of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from verifier.checks.kernel import AnchorClaim, CheckStatus
from verifier.checks.registry import check_chain_links, check_signed_chain
from verifier.errors import VerificationFailure
from verifier.protocol.registry_ops import CHAIN_TYPES

if TYPE_CHECKING:
    from verifier.checks.kernel import Progress
    from verifier.formats.record import RecordProofBundle
    from verifier.protocol.typed_data import ActivityRecord, Domain

__all__ = ["check_record_registry"]

# A v1 bundle predates the field: it passes with this warning, never as a plain VALID.
LEGACY_WARNING = (
    "a v1 bundle carries no registry chain: that the enterprise, not the ledger's operator, "
    "registered this terminal is not shown"
)


def _unsigned(reason: str) -> VerificationFailure:
    return VerificationFailure("registry-signatures", "RegistryUnsigned", reason)


def _check_signatures(bundle: RecordProofBundle, record: ActivityRecord, domain: Domain) -> str:
    if not bundle.registry:
        raise _unsigned(
            f"the bundle carries no registry chain of {record.enterprise}: nothing shows that "
            f"terminal {record.device} was registered by the enterprise itself"
        )
    detail = check_signed_chain(bundle.registry, record.enterprise, domain)
    chain = {p.leaf.digest for p in bundle.registry}
    for i, proof in enumerate(bundle.authorization):
        kind = proof.event.get("type")
        if kind in CHAIN_TYPES and proof.leaf.digest not in chain:
            raise _unsigned(
                f"authorization[{i}] ({kind} of {record.device}) is not an operation the "
                "enterprise signed"
            )
    return detail


def _check_chain(
    bundle: RecordProofBundle, record: ActivityRecord, domain: Domain, record_block: int
) -> tuple[str, list[AnchorClaim]]:
    assert bundle.registry  # _check_signatures ran first
    claims = check_chain_links(bundle.registry, record.enterprise, domain)
    shown = {p.leaf.digest for p in bundle.authorization}
    for k, proof in enumerate(bundle.registry):
        if proof.event.get("subject") == record.device and proof.leaf.digest not in shown:
            raise VerificationFailure(
                "registry-chain",
                "DeviceEventWithheld",
                f"registry[{k}] ({proof.event.get('type')}) is about terminal {record.device}, "
                "but authorization leaves it out",
            )
    if claims[-1].block_number >= record_block:
        return (
            f"{len(claims)} events linked, the last anchored in block {claims[-1].block_number}, "
            "not before the record: every change anchored before it is shown"
        ), claims
    return (
        f"{len(claims)} events linked up to the ledger's head (block "
        f"{claims[-1].block_number}); that no change anchored before the record was withheld "
        "rests on the ledger"
    ), claims


def check_record_registry(
    bundle: RecordProofBundle,
    record: ActivityRecord,
    domain: Domain,
    record_block: int,
    p: Progress,
) -> list[AnchorClaim]:
    """The two checks, in order; returns the chain events' anchors for the on-chain checks."""
    if bundle.version == 1 and bundle.registry is None:
        p.add("registry-signatures", LEGACY_WARNING, CheckStatus.WARNING)
        p.add("registry-chain", "no registry chain in a v1 bundle", CheckStatus.SKIPPED)
        return []
    p.add("registry-signatures", _check_signatures(bundle, record, domain))
    detail, claims = _check_chain(bundle, record, domain, record_block)
    p.add("registry-chain", detail)
    return claims

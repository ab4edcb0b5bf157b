"""Verifying a record proof bundle (``docs/proof-format.md``): fourteen checks in a fixed order.

Each check passes or raises a :class:`~verifier.errors.VerificationFailure` naming it; the first
failure ends the run and is named in the result. Checks 1–10 read only the bundle. Checks 11–14
read the chain through the :class:`~verifier.rpc.ChainReader` the caller passes, and are
reported as skipped without one. The runner and the checks shared with the other bundle kinds
live in :mod:`verifier.checks.kernel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from verifier.checks.authorization import check_authorization
from verifier.checks.kernel import (
    ONCHAIN_CHECKS,
    AnchorClaim,
    OnchainDetails,
    Progress,
    VerificationResult,
    check_attributes,
    check_format,
    check_manifest_counts,
    check_merkle_path,
    check_signature,
    decode_nodes,
    from_hex,
    read_bundle,
    run_checks,
    run_onchain,
    skip_onchain,
    to_hex,
)
from verifier.checks.record_registry import check_record_registry
from verifier.errors import InvalidRecord, VerificationFailure
from verifier.formats.record import RECORD_PROOF_FORMAT, BatchJson, LeafJson, RecordProofBundle
from verifier.protocol.keccak import parse_address
from verifier.protocol.leaves import Leaf, activity_record_leaf
from verifier.protocol.typed_data import ActivityRecord, Domain, parse_typed_data, record_digest

if TYPE_CHECKING:
    from verifier.rpc import ChainReader
    from verifier.trust import TrustRoot

__all__ = ["CHECKS", "RecordSummary", "parse_bundle", "verify_record"]

CHECKS: tuple[str, ...] = (
    "bundle",
    "typed-data",
    "signature",
    "attributes",
    "leaf",
    "merkle-path",
    "manifest",
    "authorization",
    "registry-signatures",
    "registry-chain",
    *ONCHAIN_CHECKS,
)


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordSummary:
    """What the bundle says was measured. Believe it only when the result is valid."""

    digest: bytes
    device: str
    enterprise: str
    source: str
    seq: int
    activity: str
    quantity: int
    decimals: int
    unit: str
    period_start: int
    period_end: int

    @property
    def value(self) -> Decimal:
        """The quantity with its decimals applied, exactly (125 with 1 decimal is 12.5)."""
        return Decimal(self.quantity).scaleb(-self.decimals)

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": "0x" + self.digest.hex(),
            "device": self.device,
            "enterprise": self.enterprise,
            "source": self.source,
            "seq": self.seq,
            "activity": self.activity,
            "quantity": str(self.quantity),
            "decimals": self.decimals,
            "value": str(self.value),
            "unit": self.unit,
            "periodStart": self.period_start,
            "periodEnd": self.period_end,
        }


# --- the bundle as bytes --------------------------------------------------------------------


@dataclass(frozen=True)
class _Wire:
    """The bundle's hex fields decoded once, so every check compares bytes with bytes."""

    signature: bytes
    proof: tuple[bytes, ...]
    claim: AnchorClaim


_VERSIONS = (1, 2)


def parse_bundle(data: Any) -> RecordProofBundle:
    """Check 1 on decoded JSON: a ``carbon-ledger/record-proof`` v1 or v2 document of the
    right shape. Raises a ``bundle`` failure (BundleInvalid) with the first problem found."""
    return read_bundle(data, RECORD_PROOF_FORMAT, RecordProofBundle, _VERSIONS)


def _check_bundle(bundle: RecordProofBundle) -> _Wire:
    check_format(bundle, RECORD_PROOF_FORMAT, _VERSIONS)
    proof = decode_nodes(bundle.proof, "proof")
    try:
        return _Wire(
            signature=from_hex(bundle.signature),
            proof=proof,
            claim=AnchorClaim.of(bundle.batch, bundle.anchor),
        )
    except ValueError as exc:
        raise VerificationFailure("bundle", "BundleInvalid", str(exc)) from None


# --- checks 2–7: the bundle alone -----------------------------------------------------------


def _check_typed_data(bundle: RecordProofBundle, wire: _Wire) -> tuple[Domain, ActivityRecord]:
    try:
        domain, record = parse_typed_data(bundle.typed_data)
    except (InvalidRecord, KeyError, TypeError, ValueError) as exc:
        raise VerificationFailure(
            "typed-data", "TypedDataInvalid", f"not an ActivityRecord document: {exc}"
        ) from None
    anchor = bundle.anchor
    if domain.chain_id != anchor.chain_id:
        raise VerificationFailure(
            "typed-data",
            "DomainMismatch",
            f"record signed for chain {domain.chain_id}, anchored on chain {anchor.chain_id}",
        )
    if parse_address(domain.verifying_contract) != wire.claim.contract:
        raise VerificationFailure(
            "typed-data",
            "DomainMismatch",
            f"record signed for contract {domain.verifying_contract}, "
            f"anchored in {anchor.contract}",
        )
    return domain, record


def _check_leaf(stated: LeafJson, domain: Domain, record: ActivityRecord, sig: bytes) -> Leaf:
    leaf = activity_record_leaf(domain, record, sig)
    expected = {
        "kind": int(leaf.kind),
        "digest": to_hex(leaf.digest),
        "aux": to_hex(leaf.aux),
        "hash": to_hex(leaf.hash()),
    }
    for name, value in expected.items():
        if getattr(stated, name) != value:
            raise VerificationFailure(
                "leaf",
                "LeafMismatch",
                f"leaf {name} is {getattr(stated, name)}, recomputed {value}",
            )
    return leaf


def _manifest_mismatch(reason: str) -> VerificationFailure:
    return VerificationFailure("manifest", "ManifestMismatch", reason)


def _check_manifest(batch: BatchJson, wire: _Wire, leaf: Leaf, record: ActivityRecord) -> str:
    manifest = check_manifest_counts(batch, wire.claim.manifest_hash)
    if not manifest.covers(record.enterprise):
        raise _manifest_mismatch(
            f"the manifest section is {manifest.enterprise!r}'s, the record {record.enterprise!r}'s"
        )
    if manifest.kinds.get(str(int(leaf.kind)), 0) < 1:
        raise _manifest_mismatch(f"manifest counts no leaf of kind {int(leaf.kind)}")
    device = parse_address(record.device)
    entry = next((d for d in manifest.devices if parse_address(d.device) == device), None)
    if entry is None:
        raise _manifest_mismatch(f"device {record.device} is not in the manifest")
    if not entry.first_seq <= record.seq <= entry.last_seq:
        raise _manifest_mismatch(
            f"seq {record.seq} is outside the manifest's {entry.first_seq}..{entry.last_seq}"
        )
    return f"device seq {record.seq} within {entry.first_seq}..{entry.last_seq}"


# --- the run --------------------------------------------------------------------------------


def _summary(record: ActivityRecord, digest: bytes) -> RecordSummary:
    return RecordSummary(
        digest=digest,
        device=record.device,
        enterprise=record.enterprise,
        source=record.source,
        seq=record.seq,
        activity=record.activity,
        quantity=record.quantity,
        decimals=record.decimals,
        unit=record.unit,
        period_start=record.period_start,
        period_end=record.period_end,
    )


def _run(
    bundle: RecordProofBundle, rpc: ChainReader | None, trust: TrustRoot | None, p: Progress
) -> None:
    wire = _check_bundle(bundle)
    p.add("bundle", f"{bundle.format} v{bundle.version}")
    domain, record = _check_typed_data(bundle, wire)
    p.add("typed-data", f"chain {domain.chain_id}, contract {domain.verifying_contract}")
    digest = record_digest(domain, record)
    p.record = _summary(record, digest)
    check_signature(digest, wire.signature, record.device)
    p.add("signature", f"signed by device {record.device}")
    status, detail = check_attributes(bundle.attributes, record)
    p.add("attributes", detail, status)
    leaf = _check_leaf(bundle.leaf, domain, record, wire.signature)
    p.add("leaf", f"kind {int(leaf.kind)}, hash {bundle.leaf.hash}")
    check_merkle_path(leaf.hash(), wire.proof, wire.claim.root, bundle.batch.leaf_count)
    p.add("merkle-path", f"{len(wire.proof)} nodes up to root {bundle.batch.root}")
    p.add("manifest", _check_manifest(bundle.batch, wire, leaf, record))
    detail, event_claims = check_authorization(
        bundle.authorization, record, wire.claim.block_number
    )
    p.add("authorization", detail)
    event_claims += check_record_registry(bundle, record, domain, wire.claim.block_number, p)
    if rpc is None:
        skip_onchain(p)
        return
    _run_onchain(bundle, wire, event_claims, rpc, trust, p)


def _run_onchain(
    bundle: RecordProofBundle,
    wire: _Wire,
    event_claims: list[AnchorClaim],
    rpc: ChainReader,
    trust: TrustRoot | None,
    p: Progress,
) -> None:
    anchor = bundle.anchor

    def details(claims: Sequence[AnchorClaim]) -> OnchainDetails:
        registry = f" and {len(claims) - 1} registry batch(es)" if len(claims) > 1 else ""
        return OnchainDetails(
            anchored=f"batch {anchor.batch_id} of {bundle.batch.leaf_count} leaves{registry}",
            located=f"tx {anchor.tx_hash}, block {anchor.block_number}",
        )

    # A record bundle's failures name no root (there is the record's batch and the events'),
    # and each distinct claim is checked once.
    run_onchain(
        rpc,
        trust,
        anchor.chain_id,
        wire.claim.contract,
        (wire.claim, *event_claims),
        p,
        distinct=lambda stated: tuple(dict.fromkeys(stated)),
        reraise=lambda _check, _claim: nullcontext(),
        details=details,
    )


def verify_record(
    bundle: RecordProofBundle, rpc: ChainReader | None, *, trust: TrustRoot | None = None
) -> VerificationResult:
    """Run the checks in :data:`CHECKS` order; the on-chain ones are skipped when ``rpc`` is
    None. ``trust`` defaults to the shipped trust root. A failed check is in the result; an
    endpoint that cannot answer raises :class:`~verifier.rpc.RpcError`, since no verdict
    can be given then."""
    return run_checks(CHECKS, lambda progress: _run(bundle, rpc, trust, progress))

"""Verifying a record proof bundle (``docs/proof-format.md``): eleven checks in a fixed order.

Each check either passes or raises its own :class:`VerificationFailure` subclass, whose
``check`` attribute is the check's stable name; the first failure ends the run and is named in
the result. Checks 1–7 read only the bundle. Checks 8–11 read the chain through the
:class:`~verifier.rpc.ChainReader` the caller passes, and are reported as skipped without one.

Nothing in the bundle is taken on its word: every hash the bundle states is recomputed from
the bytes beneath it, and only recomputed values are carried to the next check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

import rfc8785
from pydantic import BaseModel

from verifier.errors import (
    InvalidRecord,
    MalleableSignature,
    MerkleError,
    SignatureError,
    VerifierError,
)
from verifier.formats.record import (
    RECORD_PROOF_FORMAT,
    AnchorLocation,
    BatchJson,
    LeafJson,
    RecordProofBundle,
)
from verifier.protocol.keccak import keccak256, parse_address
from verifier.protocol.leaves import Leaf, activity_record_leaf
from verifier.protocol.merkle import process_proof
from verifier.protocol.typed_data import (
    ActivityRecord,
    Domain,
    attributes_hash,
    parse_typed_data,
    record_digest,
    recover_signer,
)
from verifier.rpc import ChainReader
from verifier.trust import TrustedCode, TrustRoot, load_default_trust

__all__ = [
    "CHECKS",
    "ONCHAIN_CHECKS",
    "AnchorClaim",
    "AnchorLocationMismatch",
    "AnchorMismatch",
    "AttributesMismatch",
    "BundleInvalid",
    "ChainIdMismatch",
    "CheckResult",
    "CheckStatus",
    "ContractCodeMismatch",
    "DomainMismatch",
    "LeafMismatch",
    "ManifestMismatch",
    "MerklePathInvalid",
    "Progress",
    "RecordSummary",
    "RootNotAnchored",
    "SignatureMalformed",
    "SignatureMalleable",
    "SignatureMismatch",
    "TypedDataInvalid",
    "VerificationFailure",
    "VerificationResult",
    "check_anchor_location",
    "check_anchored",
    "check_attributes",
    "check_chain_id",
    "check_contract_code",
    "check_manifest_counts",
    "check_merkle_path",
    "check_signature",
    "manifest_hash",
    "parse_bundle",
    "run_checks",
    "validate_model",
    "verify_record",
]

CHECKS: tuple[str, ...] = (
    "bundle",
    "typed-data",
    "signature",
    "attributes",
    "leaf",
    "merkle-path",
    "manifest",
    "authorization",
    "chain-id",
    "contract-code",
    "anchored",
    "anchor-location",
)
ONCHAIN_CHECKS = CHECKS[8:]

_BATCH_OF = keccak256(b"batchOf(bytes32)")[:4]
_ANCHORED_TOPIC = keccak256(b"Anchored(uint256,bytes32,uint64,bytes32)")
_NODE = re.compile(r"0x[0-9a-fA-F]{64}")
_ZERO = bytes(32)
_M = TypeVar("_M", bound=BaseModel)


# --- failures: one class per way a check fails ----------------------------------------------


class VerificationFailure(VerifierError):
    """A check failed. ``check`` is the stable, machine-readable name of the check."""

    check: ClassVar[str]

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BundleInvalid(VerificationFailure):
    """Not a record proof bundle this verifier can read (unusable input, not a forgery)."""

    check = "bundle"


class TypedDataInvalid(VerificationFailure):
    check = "typed-data"


class DomainMismatch(VerificationFailure):
    """The record was signed for another chain or contract than the one it is anchored in."""

    check = "typed-data"


class SignatureMalformed(VerificationFailure):
    check = "signature"


class SignatureMalleable(VerificationFailure):
    check = "signature"


class SignatureMismatch(VerificationFailure):
    check = "signature"


class AttributesMismatch(VerificationFailure):
    check = "attributes"


class LeafMismatch(VerificationFailure):
    check = "leaf"


class MerklePathInvalid(VerificationFailure):
    check = "merkle-path"


class ManifestMismatch(VerificationFailure):
    check = "manifest"


class ChainIdMismatch(VerificationFailure):
    check = "chain-id"


class ContractCodeMismatch(VerificationFailure):
    check = "contract-code"


class RootNotAnchored(VerificationFailure):
    check = "anchored"


class AnchorMismatch(VerificationFailure):
    check = "anchored"


class AnchorLocationMismatch(VerificationFailure):
    check = "anchor-location"


# --- results --------------------------------------------------------------------------------


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    NOT_RUN = "not-run"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: CheckStatus
    detail: str


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


@dataclass(frozen=True)
class VerificationResult:
    """Every check in :data:`CHECKS` order, the first failure (if any) and the record."""

    checks: tuple[CheckResult, ...]
    failure: VerificationFailure | None
    record: RecordSummary | None

    @property
    def valid(self) -> bool:
        return self.failure is None

    @property
    def failed_check(self) -> str | None:
        return None if self.failure is None else self.failure.check

    @property
    def offline(self) -> bool:
        skipped = {c.name for c in self.checks if c.status is CheckStatus.SKIPPED}
        return not skipped.isdisjoint(ONCHAIN_CHECKS)

    def to_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "failedCheck": self.failed_check,
            "failure": None if self.failure is None else type(self.failure).__name__,
            "reason": None if self.failure is None else self.failure.reason,
            "offline": self.offline,
            "checks": [
                {"name": c.name, "status": c.status.value, "detail": c.detail} for c in self.checks
            ],
            "record": None if self.record is None else self.record.to_json(),
        }


# --- the bundle as bytes --------------------------------------------------------------------


@dataclass(frozen=True)
class _Wire:
    """The bundle's hex fields decoded once, so every check compares bytes with bytes."""

    signature: bytes
    proof: tuple[bytes, ...]
    claim: AnchorClaim


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _unhex(text: str) -> bytes:
    return bytes.fromhex(text[2:])


@dataclass(frozen=True)
class AnchorClaim:
    """What a bundle says about one anchored root, decoded to bytes for the on-chain checks."""

    root: bytes
    leaf_count: int
    manifest_hash: bytes
    contract: bytes
    batch_id: int
    tx_hash: bytes
    block_number: int
    block_hash: bytes
    log_index: int

    @classmethod
    def of(cls, batch: BatchJson, anchor: AnchorLocation) -> AnchorClaim:
        """Raises ValueError on a hex field that does not decode."""
        return cls(
            root=_unhex(batch.root),
            leaf_count=batch.leaf_count,
            manifest_hash=_unhex(batch.manifest_hash),
            contract=parse_address(anchor.contract),
            batch_id=anchor.batch_id,
            tx_hash=_unhex(anchor.tx_hash),
            block_number=anchor.block_number,
            block_hash=_unhex(anchor.block_hash),
            log_index=anchor.log_index,
        )


def parse_bundle(data: Any) -> RecordProofBundle:
    """Check 1 on decoded JSON: a ``carbon-ledger/record-proof`` v1 document of the right shape.
    Raises :class:`BundleInvalid` with the first problem found."""
    if not isinstance(data, dict) or data.get("format") != RECORD_PROOF_FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise BundleInvalid(f"not a {RECORD_PROOF_FORMAT} bundle (format {found!r})")
    if data.get("version") != 1:
        raise BundleInvalid(f"unsupported bundle version {data.get('version')!r}; this reads 1")
    return validate_model(RecordProofBundle, data)


def validate_model(model: type[_M], data: Any, where: str = "") -> _M:
    """``model.model_validate(data)``, or :class:`BundleInvalid` naming the first problem."""
    try:
        return model.model_validate(data)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        errors = getattr(exc, "errors", lambda: [])()
        first = errors[0] if errors else {"loc": (), "msg": str(exc)}
        path = ".".join(part for part in (where, *map(str, first["loc"])) if part)
        raise BundleInvalid(f"{path or 'bundle'}: {first['msg']}") from None


def _check_bundle(bundle: RecordProofBundle) -> _Wire:
    # The model validated these patterns already, unless it was built with model_construct:
    # check again, since a library caller may hand us such a bundle.
    if bundle.format != RECORD_PROOF_FORMAT or bundle.version != 1:
        raise BundleInvalid(f"not a {RECORD_PROOF_FORMAT} v1 bundle")
    bad = next((i for i, node in enumerate(bundle.proof) if not _NODE.fullmatch(node)), None)
    if bad is not None:
        raise BundleInvalid(f"proof[{bad}] is not 0x + 64 hex digits")
    try:
        return _Wire(
            signature=_unhex(bundle.signature),
            proof=tuple(_unhex(node) for node in bundle.proof),
            claim=AnchorClaim.of(bundle.batch, bundle.anchor),
        )
    except ValueError as exc:
        raise BundleInvalid(str(exc)) from None


# --- checks 2–7: the bundle alone -----------------------------------------------------------


def _check_typed_data(bundle: RecordProofBundle, wire: _Wire) -> tuple[Domain, ActivityRecord]:
    try:
        domain, record = parse_typed_data(bundle.typed_data)
    except (InvalidRecord, KeyError, TypeError, ValueError) as exc:
        raise TypedDataInvalid(f"not an ActivityRecord document: {exc}") from None
    anchor = bundle.anchor
    if domain.chain_id != anchor.chain_id:
        raise DomainMismatch(
            f"record signed for chain {domain.chain_id}, anchored on chain {anchor.chain_id}"
        )
    if parse_address(domain.verifying_contract) != wire.claim.contract:
        raise DomainMismatch(
            f"record signed for contract {domain.verifying_contract}, anchored in {anchor.contract}"
        )
    return domain, record


def check_signature(digest: bytes, signature: bytes, device: str) -> None:
    try:
        signer = recover_signer(digest, signature)
    except MalleableSignature as exc:
        raise SignatureMalleable(str(exc)) from None
    except SignatureError as exc:
        raise SignatureMalformed(str(exc)) from None
    if signer != device:  # both EIP-55, so string equality is address equality
        raise SignatureMismatch(f"signed by {signer}, but the record names device {device}")


def check_attributes(
    attributes: dict[str, Any] | None, record: ActivityRecord
) -> tuple[CheckStatus, str]:
    """Recompute the attributes hash the record commits to; SKIPPED when not disclosed."""
    committed = record.attributes_hash
    if attributes is None:
        if committed == _ZERO:
            return CheckStatus.PASSED, "the record has no attributes"
        return CheckStatus.SKIPPED, f"not disclosed; the record commits to {_hex(committed)}"
    try:
        computed = attributes_hash(attributes)
    except rfc8785.CanonicalizationError as exc:
        raise AttributesMismatch(f"attributes have no canonical JSON: {exc}") from None
    if computed != committed:
        raise AttributesMismatch(
            f"attributes hash to {_hex(computed)}, the record commits to {_hex(committed)}"
        )
    return CheckStatus.PASSED, f"{len(attributes)} attributes hash to {_hex(committed)}"


def _check_leaf(stated: LeafJson, domain: Domain, record: ActivityRecord, sig: bytes) -> Leaf:
    leaf = activity_record_leaf(domain, record, sig)
    expected = {
        "kind": int(leaf.kind),
        "digest": _hex(leaf.digest),
        "aux": _hex(leaf.aux),
        "hash": _hex(leaf.hash()),
    }
    for name, value in expected.items():
        if getattr(stated, name) != value:
            raise LeafMismatch(f"leaf {name} is {getattr(stated, name)}, recomputed {value}")
    return leaf


def _depth_range(leaf_count: int) -> range:
    """Proof lengths possible in a complete tree of ``leaf_count`` leaves: leaves sit at tree
    indices n-1 … 2n-2, at depth floor(log2(index + 1))."""
    return range(leaf_count.bit_length() - 1, (2 * leaf_count - 1).bit_length())


def check_merkle_path(
    leaf_hash: bytes, proof: tuple[bytes, ...], root: bytes, leaf_count: int
) -> None:
    """A single-leaf path of a length the tree's size allows, folding to ``root``."""
    depths = _depth_range(leaf_count)
    if len(proof) not in depths:
        raise MerklePathInvalid(
            f"a proof of {len(proof)} nodes cannot come from a tree of {leaf_count} leaves"
        )
    try:
        folded = process_proof(leaf_hash, proof)
    except MerkleError as exc:
        raise MerklePathInvalid(str(exc)) from None
    if folded != root:
        raise MerklePathInvalid(f"the path folds to {_hex(folded)}, not to the batch root")


def manifest_hash(batch: BatchJson) -> bytes:
    """keccak256 of the manifest's RFC 8785 canonical JSON, as the ledger anchors it."""
    return keccak256(rfc8785.dumps(batch.manifest.model_dump(mode="json", by_alias=True)))


def check_manifest_counts(batch: BatchJson, stated_hash: bytes) -> None:
    """The manifest hashes to the stated hash, and its counts agree with the batch's."""
    computed = manifest_hash(batch)
    if computed != stated_hash:
        raise ManifestMismatch(f"manifest hashes to {_hex(computed)}, not {batch.manifest_hash}")
    manifest = batch.manifest
    if manifest.leaf_count != batch.leaf_count or sum(manifest.kinds.values()) != batch.leaf_count:
        raise ManifestMismatch(f"manifest counts disagree with the batch's {batch.leaf_count}")


def _check_manifest(batch: BatchJson, wire: _Wire, leaf: Leaf, record: ActivityRecord) -> str:
    check_manifest_counts(batch, wire.claim.manifest_hash)
    manifest = batch.manifest
    if manifest.kinds.get(str(int(leaf.kind)), 0) < 1:
        raise ManifestMismatch(f"manifest counts no leaf of kind {int(leaf.kind)}")
    device = parse_address(record.device)
    entry = next((d for d in manifest.devices if parse_address(d.device) == device), None)
    if entry is None:
        raise ManifestMismatch(f"device {record.device} is not in the manifest")
    if not entry.first_seq <= record.seq <= entry.last_seq:
        raise ManifestMismatch(
            f"seq {record.seq} is outside the manifest's {entry.first_seq}..{entry.last_seq}"
        )
    return f"device seq {record.seq} within {entry.first_seq}..{entry.last_seq}"


# --- checks 8–11: the chain -----------------------------------------------------------------


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def check_chain_id(rpc: ChainReader, expected: int) -> None:
    served = rpc.chain_id()
    if served != expected:
        raise ChainIdMismatch(f"the endpoint serves chain {served}, the bundle names {expected}")


def check_contract_code(rpc: ChainReader, contract: bytes, trust: TrustRoot) -> TrustedCode:
    code = rpc.get_code(contract)
    if not code:
        raise ContractCodeMismatch(f"no contract code at {_hex(contract)} on this chain")
    code_hash = keccak256(code)
    trusted = trust.find(code_hash)
    if trusted is None:
        raise ContractCodeMismatch(f"runtime code hash {_hex(code_hash)} is not a trusted build")
    return trusted


def check_anchored(rpc: ChainReader, claim: AnchorClaim) -> None:
    """``batchOf(root)`` on chain: anchored, with the claimed count, manifest, id and block."""
    answer = rpc.call(claim.contract, _BATCH_OF + claim.root)
    if len(answer) != 128:
        raise AnchorMismatch(f"batchOf returned {len(answer)} bytes, expected 128")
    batch_id, leaf_count, block_number = (
        int.from_bytes(answer[i : i + 32], "big") for i in (0, 32, 64)
    )
    if leaf_count == 0:
        raise RootNotAnchored(f"root {_hex(claim.root)} is not anchored in this contract")
    for name, on_chain, in_bundle in (
        ("leafCount", leaf_count, claim.leaf_count),
        ("manifestHash", answer[96:128], claim.manifest_hash),
        ("batchId", batch_id, claim.batch_id),
        ("blockNumber", block_number, claim.block_number),
    ):
        if on_chain != in_bundle:
            raise AnchorMismatch(f"{name} on chain differs from the bundle's")


def check_anchor_location(rpc: ChainReader, claim: AnchorClaim) -> None:
    """The claimed transaction succeeded, in the claimed block, and emitted this batch's
    ``Anchored`` event at the claimed log index."""
    receipt = rpc.get_transaction_receipt(claim.tx_hash)
    if receipt is None:
        raise AnchorLocationMismatch(f"transaction {_hex(claim.tx_hash)} is not on this chain")
    if receipt.status != 1 or receipt.to != claim.contract:
        raise AnchorLocationMismatch("the transaction is not a successful call of the contract")
    if receipt.block_number != claim.block_number or receipt.block_hash != claim.block_hash:
        raise AnchorLocationMismatch("the transaction sits in another block than the bundle's")
    log = next((e for e in receipt.logs if e.log_index == claim.log_index), None)
    if log is None or log.removed or log.address != claim.contract:
        raise AnchorLocationMismatch(f"no log of the contract at index {claim.log_index}")
    topics = (_ANCHORED_TOPIC, _word(claim.batch_id), claim.root)
    data = _word(claim.leaf_count) + claim.manifest_hash
    if log.topics != topics or log.data != data:
        raise AnchorLocationMismatch(f"log {claim.log_index} is not this batch's Anchored event")


# --- the run --------------------------------------------------------------------------------


@dataclass
class Progress:
    """A run's scratchpad; the result handed out is frozen."""

    checks: list[CheckResult] = field(default_factory=list)
    record: RecordSummary | None = None

    def add(self, name: str, detail: str, status: CheckStatus = CheckStatus.PASSED) -> None:
        self.checks.append(CheckResult(name, status, detail))


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
    from verifier.checks.authorization import check_authorization  # it builds on this module

    detail, event_claims = check_authorization(
        bundle.authorization, record, wire.claim.block_number
    )
    p.add("authorization", detail)
    if rpc is None:
        for name in ONCHAIN_CHECKS:
            p.add(name, "offline", CheckStatus.SKIPPED)
        return
    anchor = bundle.anchor
    check_chain_id(rpc, anchor.chain_id)
    p.add("chain-id", f"chain {anchor.chain_id}")
    trusted = check_contract_code(rpc, wire.claim.contract, trust or load_default_trust())
    p.add("contract-code", f"{trusted.contract_name} {trusted.compiler_version}".strip())
    claims = list(dict.fromkeys((wire.claim, *event_claims)))  # each distinct claim, once
    for claim in claims:
        check_anchored(rpc, claim)
    p.add(
        "anchored",
        f"batch {anchor.batch_id} of {bundle.batch.leaf_count} leaves"
        + (f" and {len(claims) - 1} registry batch(es)" if len(claims) > 1 else ""),
    )
    for claim in claims:
        check_anchor_location(rpc, claim)
    p.add("anchor-location", f"tx {anchor.tx_hash}, block {anchor.block_number}")


def verify_record(
    bundle: RecordProofBundle, rpc: ChainReader | None, *, trust: TrustRoot | None = None
) -> VerificationResult:
    """Run the checks in :data:`CHECKS` order; the on-chain ones are skipped when ``rpc`` is
    None. ``trust`` defaults to the shipped trust root. A failed check is in the result; an
    endpoint that cannot answer raises :class:`~verifier.rpc.RpcError`, since no verdict
    can be given then."""
    return run_checks(CHECKS, lambda progress: _run(bundle, rpc, trust, progress))


def run_checks(checks: tuple[str, ...], run: Callable[[Progress], None]) -> VerificationResult:
    """Call ``run``, which adds each check it passes and raises the first failure; the checks
    it never reached are reported as not run, in ``checks`` order."""
    progress = Progress()
    failure: VerificationFailure | None = None
    try:
        run(progress)
    except VerificationFailure as exc:
        failure = exc
        progress.add(exc.check, exc.reason, CheckStatus.FAILED)
    ran = {c.name for c in progress.checks}
    rest = [
        CheckResult(name, CheckStatus.NOT_RUN, "an earlier check failed")
        for name in checks
        if name not in ran
    ]
    return VerificationResult(tuple(progress.checks + rest), failure, progress.record)

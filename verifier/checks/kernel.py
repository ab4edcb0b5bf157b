"""The kernel every proof verifier runs on: the check runner and its results, the checks the
three bundle kinds share, and the shared steps of a run (reading a bundle, skipping the chain
offline, the on-chain run, a registry event's inclusion).

A check passes, or raises :class:`~verifier.errors.VerificationFailure` naming itself; the first
failure ends the run. Nothing a bundle states is taken on its word: a hash is recomputed from
the bytes beneath it and only the recomputed value is carried to the next check.

Pydantic models and the RPC client are only named in annotations here, so importing the kernel
stays cheap; the bundle formats arrive already parsed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import rfc8785

from verifier.errors import MalleableSignature, MerkleError, SignatureError, VerificationFailure
from verifier.protocol.events import EVENT_FORMAT, EVENT_VERSION
from verifier.protocol.keccak import keccak256, parse_address
from verifier.protocol.leaves import LeafKind, leaf_hash
from verifier.protocol.manifest import section_leaf
from verifier.protocol.merkle import process_proof
from verifier.protocol.typed_data import ActivityRecord, attributes_hash, recover_signer

if TYPE_CHECKING:
    from pydantic import BaseModel

    from verifier.formats.record import (
        AnchorLocation,
        BatchJson,
        DeviceRange,
        ManifestSection,
        RegistryProofJson,
    )
    from verifier.rpc import ChainReader
    from verifier.trust import TrustedCode, TrustRoot

__all__ = [
    "ONCHAIN_CHECKS",
    "ZERO",
    "AnchorClaim",
    "CheckResult",
    "CheckStatus",
    "ManifestView",
    "OnchainDetails",
    "Progress",
    "Reraise",
    "VerificationResult",
    "check_anchor_location",
    "check_anchored",
    "check_attributes",
    "check_chain_id",
    "check_contract_code",
    "check_format",
    "check_manifest_counts",
    "check_merkle_path",
    "check_registry_event",
    "check_signature",
    "decode_nodes",
    "from_hex",
    "manifest_hash",
    "manifest_view",
    "name_the_claim",
    "prefixed",
    "read_bundle",
    "run_checks",
    "run_onchain",
    "skip_onchain",
    "to_hex",
    "unique_roots",
    "validate_model",
]

ONCHAIN_CHECKS: tuple[str, ...] = ("chain-id", "contract-code", "anchored", "anchor-location")
ZERO = bytes(32)

_BATCH_OF = keccak256(b"batchOf(bytes32)")[:4]
_ANCHORED_TOPIC = keccak256(b"Anchored(uint256,bytes32,uint64,bytes32)")
_NODE = re.compile(r"0x[0-9a-fA-F]{64}")
_M = TypeVar("_M", bound="BaseModel")


def to_hex(data: bytes) -> str:
    return "0x" + data.hex()


def from_hex(text: str) -> bytes:
    """The bytes of a ``0x``-prefixed hex string; ValueError on anything else."""
    return bytes.fromhex(text[2:])


# --- results --------------------------------------------------------------------------------


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    # Passed, but what it vouches for is weaker than a pass: the detail says what is missing.
    WARNING = "warning"
    NOT_RUN = "not-run"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: CheckStatus
    detail: str


class Summary(Protocol):
    """What a valid bundle proves about its subject, in the result's JSON."""

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class VerificationResult:
    """Every check in order, the first failure (if any) and, for a record proof, the record."""

    checks: tuple[CheckResult, ...]
    failure: VerificationFailure | None
    record: Any  # a RecordSummary for record proofs, else None

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
            "failure": None if self.failure is None else self.failure.code,
            "reason": None if self.failure is None else self.failure.reason,
            "offline": self.offline,
            "warnings": [c.detail for c in self.checks if c.status is CheckStatus.WARNING],
            "checks": [
                {"name": c.name, "status": c.status.value, "detail": c.detail} for c in self.checks
            ],
            "record": None if self.record is None else self.record.to_json(),
        }


@dataclass
class Progress:
    """A run's scratchpad; the result handed out is frozen."""

    checks: list[CheckResult] = field(default_factory=list)
    record: Summary | None = None

    def add(self, name: str, detail: str, status: CheckStatus = CheckStatus.PASSED) -> None:
        self.checks.append(CheckResult(name, status, detail))


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


@contextmanager
def prefixed(prefix: str, check: str | None = None, code: str | None = None) -> Iterator[None]:
    """Re-raise a shared check's failure with its reason prefixed by where in the bundle it
    happened, and under another ``check`` / ``code`` when given (a code starting with ``+`` is
    put before the failure's own: ``"+Record"`` turns SignatureMismatch into
    RecordSignatureMismatch)."""
    try:
        yield
    except VerificationFailure as exc:
        new_code = exc.code if code is None else code
        if new_code.startswith("+"):
            new_code = new_code[1:] + exc.code
        raise VerificationFailure(check or exc.check, new_code, prefix + exc.reason) from None


# --- reading a bundle -----------------------------------------------------------------------


def _bundle_invalid(reason: str) -> VerificationFailure:
    return VerificationFailure("bundle", "BundleInvalid", reason)


def validate_model(model: type[_M], data: Any, where: str = "") -> _M:
    """``model.model_validate(data)``, or a ``bundle`` failure naming the first problem."""
    try:
        return model.model_validate(data)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        errors = getattr(exc, "errors", lambda: [])()
        first = errors[0] if errors else {"loc": (), "msg": str(exc)}
        path = ".".join(part for part in (where, *map(str, first["loc"])) if part)
        raise _bundle_invalid(f"{path or 'bundle'}: {first['msg']}") from None


def read_bundle(data: Any, fmt: str, model: type[_M], versions: tuple[int, ...] = (1,)) -> _M:
    """Check 1 on decoded JSON: a ``fmt`` document of one of ``versions`` in ``model``'s shape.
    Raises a ``bundle`` failure (BundleInvalid) with the first problem found."""
    if not isinstance(data, dict) or data.get("format") != fmt:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise _bundle_invalid(f"not a {fmt} bundle (format {found!r})")
    version = data.get("version")
    if type(version) is not int or version not in versions:
        readable = ", ".join(map(str, versions))
        raise _bundle_invalid(f"unsupported bundle version {version!r}; this reads {readable}")
    return validate_model(model, data)


def check_format(bundle: Any, fmt: str, versions: tuple[int, ...] = (1,)) -> None:
    # The model validated this already, unless it was built with model_construct: a library
    # caller may hand us such a bundle.
    if bundle.format != fmt or bundle.version not in versions:
        raise _bundle_invalid(f"not a {fmt} bundle of version {versions}")


def decode_nodes(nodes: Sequence[str], where: str) -> tuple[bytes, ...]:
    """Proof nodes as bytes; a ``bundle`` failure names the first that is not 32 hex bytes."""
    bad = next((i for i, node in enumerate(nodes) if not _NODE.fullmatch(node)), None)
    if bad is not None:
        raise _bundle_invalid(f"{where}[{bad}] is not 0x + 64 hex digits")
    return tuple(from_hex(node) for node in nodes)


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
            root=from_hex(batch.root),
            leaf_count=batch.leaf_count,
            manifest_hash=from_hex(batch.manifest_hash),
            contract=parse_address(anchor.contract),
            batch_id=anchor.batch_id,
            tx_hash=from_hex(anchor.tx_hash),
            block_number=anchor.block_number,
            block_hash=from_hex(anchor.block_hash),
            log_index=anchor.log_index,
        )


# --- offline checks -------------------------------------------------------------------------


def check_signature(digest: bytes, signature: bytes, device: str) -> None:
    try:
        signer = recover_signer(digest, signature)
    except MalleableSignature as exc:
        raise VerificationFailure("signature", "SignatureMalleable", str(exc)) from None
    except SignatureError as exc:
        raise VerificationFailure("signature", "SignatureMalformed", str(exc)) from None
    if signer != device:  # both EIP-55, so string equality is address equality
        raise VerificationFailure(
            "signature",
            "SignatureMismatch",
            f"the record's content changed after it was signed (or the signature belongs to "
            f"another record): the signature recovers {signer}, but the record names device "
            f"{device}",
        )


def check_attributes(
    attributes: dict[str, Any] | None, record: ActivityRecord
) -> tuple[CheckStatus, str]:
    """Recompute the attributes hash the record commits to; SKIPPED when not disclosed."""
    committed = record.attributes_hash
    if attributes is None:
        if committed == ZERO:
            return CheckStatus.PASSED, "the record has no attributes"
        return CheckStatus.SKIPPED, f"not disclosed; the record commits to {to_hex(committed)}"
    try:
        computed = attributes_hash(attributes)
    except rfc8785.CanonicalizationError as exc:
        raise VerificationFailure(
            "attributes", "AttributesMismatch", f"attributes have no canonical JSON: {exc}"
        ) from None
    if computed != committed:
        raise VerificationFailure(
            "attributes",
            "AttributesMismatch",
            f"attributes hash to {to_hex(computed)}, the record commits to {to_hex(committed)}",
        )
    return CheckStatus.PASSED, f"{len(attributes)} attributes hash to {to_hex(committed)}"


def _depth_range(leaf_count: int) -> range:
    """Proof lengths possible in a complete tree of ``leaf_count`` leaves: leaves sit at tree
    indices n-1 … 2n-2, at depth floor(log2(index + 1))."""
    return range(leaf_count.bit_length() - 1, (2 * leaf_count - 1).bit_length())


def check_merkle_path(
    leaf_hash_: bytes, proof: tuple[bytes, ...], root: bytes, leaf_count: int
) -> None:
    """A single-leaf path of a length the tree's size allows, folding to ``root``."""
    if len(proof) not in _depth_range(leaf_count):
        raise VerificationFailure(
            "merkle-path",
            "MerklePathInvalid",
            f"a proof of {len(proof)} nodes cannot come from a tree of {leaf_count} leaves",
        )
    try:
        folded = process_proof(leaf_hash_, proof)
    except MerkleError as exc:
        raise VerificationFailure("merkle-path", "MerklePathInvalid", str(exc)) from None
    if folded != root:
        raise VerificationFailure(
            "merkle-path",
            "MerklePathInvalid",
            f"the path folds to {to_hex(folded)}, not to the batch root",
        )


def manifest_hash(batch: BatchJson) -> bytes:
    """keccak256 of a v1 manifest's RFC 8785 canonical JSON, as the ledger anchored it."""
    if batch.manifest is None:
        raise _bundle_invalid("a v2 batch states a section, not a manifest")
    return keccak256(rfc8785.dumps(batch.manifest.model_dump(mode="json", by_alias=True)))


@dataclass(frozen=True)
class ManifestView:
    """What a batch's manifest, as the bundle states it, counts: the whole batch (a v1
    manifest, ``whole``) or one v2 section, of ``enterprise`` (None: the leaves no
    enterprise owns)."""

    whole: bool
    enterprise: str | None
    kinds: dict[str, int]
    devices: tuple[DeviceRange, ...]

    def covers(self, enterprise: str) -> bool:
        """Does this manifest count ``enterprise``'s leaves?"""
        return self.whole or self.enterprise == enterprise


def _sectioned(batch: BatchJson) -> tuple[ManifestSection, tuple[str, ...]]:
    if batch.section is None or batch.section_proof is None:  # only past model_construct
        raise _bundle_invalid("a batch states neither a manifest nor a section with its path")
    return batch.section, batch.section_proof


def manifest_view(batch: BatchJson) -> ManifestView:
    """The counts a batch states, whichever scheme; believe them only once
    :func:`check_manifest_counts` passed."""
    if batch.manifest is not None:
        m = batch.manifest
        return ManifestView(True, None, m.kinds, m.devices)
    section, _ = _sectioned(batch)
    return ManifestView(False, section.enterprise, section.kinds, section.devices)


def _manifest_mismatch(reason: str) -> VerificationFailure:
    return VerificationFailure("manifest", "ManifestMismatch", reason)


def _check_section(batch: BatchJson, stated_hash: bytes) -> None:
    """A v2 section: its leaf folds by its path to the anchored hash, and its counts agree
    with themselves and fit in the batch."""
    section, path = _sectioned(batch)
    bad = next((i for i, n in enumerate(path) if not _NODE.fullmatch(n)), None)
    if bad is not None:
        raise _manifest_mismatch(f"sectionProof[{bad}] is not 0x + 64 hex digits")
    try:
        leaf = section_leaf(section.model_dump(mode="json", by_alias=True))
    except rfc8785.CanonicalizationError as exc:
        raise _manifest_mismatch(f"the manifest section has no canonical JSON: {exc}") from None
    folded = process_proof(leaf, [from_hex(n) for n in path])
    if folded != stated_hash:
        raise _manifest_mismatch(
            f"the manifest section folds to {to_hex(folded)}, not {batch.manifest_hash}"
        )
    by_kind = sum(section.kinds.values())
    if by_kind != section.leaf_count or section.leaf_count > batch.leaf_count:
        raise _manifest_mismatch(
            f"the section counts {section.leaf_count} leaves, {by_kind} by kind, in a batch of "
            f"{batch.leaf_count}"
        )
    devices = {d.device.lower() for d in section.devices}
    records = section.kinds.get(str(int(LeafKind.ACTIVITY_RECORD)), 0)
    if len(devices) != len(section.devices) or sum(d.count for d in section.devices) != records:
        raise _manifest_mismatch(
            "the section's devices do not account for its activity records once each"
        )


def check_manifest_counts(batch: BatchJson, stated_hash: bytes) -> ManifestView:
    """The stated manifest (v1) or section (v2) is the one committed to by the stated hash,
    and its counts agree with the batch's; returns what it counts."""
    if batch.manifest is None:
        _check_section(batch, stated_hash)
        return manifest_view(batch)
    computed = manifest_hash(batch)
    if computed != stated_hash:
        raise _manifest_mismatch(
            f"manifest hashes to {to_hex(computed)}, not {batch.manifest_hash}"
        )
    manifest = batch.manifest
    if manifest.leaf_count != batch.leaf_count or sum(manifest.kinds.values()) != batch.leaf_count:
        raise _manifest_mismatch(f"manifest counts disagree with the batch's {batch.leaf_count}")
    return manifest_view(batch)


def check_registry_event(
    proof: RegistryProofJson,
    nodes: tuple[bytes, ...],
    claim: AnchorClaim,
    fail: Callable[[str], VerificationFailure],
) -> None:
    """A registry event in a bundle is one: a v1 registry event hashing to the kind-3 leaf
    the bundle states, under its batch root, in a batch whose manifest holds. ``fail`` makes
    the failure, from a reason, for the check that reads the event."""
    event = proof.event
    if event.get("format") != EVENT_FORMAT or event.get("version") != EVENT_VERSION:
        raise fail(f"not a {EVENT_FORMAT} v1 event")
    try:
        digest = keccak256(rfc8785.dumps(event))
    except rfc8785.CanonicalizationError as exc:
        raise fail(f"the event has no canonical JSON: {exc}") from None
    expected = leaf_hash(LeafKind.REGISTRY_EVENT, digest, ZERO)
    leaf = proof.leaf
    recomputed = (int(LeafKind.REGISTRY_EVENT), to_hex(digest), to_hex(ZERO), to_hex(expected))
    if (leaf.kind, leaf.digest, leaf.aux, leaf.hash) != recomputed:
        raise fail("the event does not hash to its kind-3 leaf")
    try:
        check_merkle_path(expected, nodes, claim.root, proof.batch.leaf_count)
        view = check_manifest_counts(proof.batch, claim.manifest_hash)
    except VerificationFailure as exc:
        raise fail(exc.reason) from None
    if view.kinds.get(str(int(LeafKind.REGISTRY_EVENT)), 0) < 1:
        raise fail("the event's batch manifest counts no registry event")


# --- on-chain checks ------------------------------------------------------------------------


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def check_chain_id(rpc: ChainReader, expected: int) -> None:
    """The endpoint serves the bundle's chain. A mismatch means this endpoint cannot judge the
    bundle, not that the bundle is forged: the command line reports it as undecided."""
    served = rpc.chain_id()
    if served != expected:
        raise VerificationFailure(
            "chain-id",
            "ChainIdMismatch",
            f"the endpoint serves chain {served}, the bundle names {expected}",
        )


def check_contract_code(rpc: ChainReader, contract: bytes, trust: TrustRoot) -> TrustedCode:
    code = rpc.get_code(contract)
    if not code:
        raise VerificationFailure(
            "contract-code",
            "ContractCodeMismatch",
            f"no contract code at {to_hex(contract)} on this chain",
        )
    code_hash = keccak256(code)
    trusted = trust.find(code_hash)
    if trusted is None:
        raise VerificationFailure(
            "contract-code",
            "ContractCodeMismatch",
            f"runtime code hash {to_hex(code_hash)} is not a trusted build",
        )
    return trusted


def check_anchored(rpc: ChainReader, claim: AnchorClaim) -> None:
    """``batchOf(root)`` on chain: anchored, with the claimed count, manifest, id and block."""
    answer = rpc.call(claim.contract, _BATCH_OF + claim.root)
    if len(answer) != 128:
        raise VerificationFailure(
            "anchored", "AnchorMismatch", f"batchOf returned {len(answer)} bytes, expected 128"
        )
    batch_id, leaf_count, block_number = (
        int.from_bytes(answer[i : i + 32], "big") for i in (0, 32, 64)
    )
    if leaf_count == 0:
        raise VerificationFailure(
            "anchored",
            "RootNotAnchored",
            f"root {to_hex(claim.root)} is not anchored in this contract",
        )
    for name, on_chain, in_bundle in (
        ("leafCount", leaf_count, claim.leaf_count),
        ("manifestHash", answer[96:128], claim.manifest_hash),
        ("batchId", batch_id, claim.batch_id),
        ("blockNumber", block_number, claim.block_number),
    ):
        if on_chain != in_bundle:
            raise VerificationFailure(
                "anchored", "AnchorMismatch", f"{name} on chain differs from the bundle's"
            )


def _location_mismatch(reason: str) -> VerificationFailure:
    return VerificationFailure("anchor-location", "AnchorLocationMismatch", reason)


def check_anchor_location(rpc: ChainReader, claim: AnchorClaim) -> None:
    """The claimed transaction succeeded, in the claimed block, and emitted this batch's
    ``Anchored`` event at the claimed log index."""
    receipt = rpc.get_transaction_receipt(claim.tx_hash)
    if receipt is None:
        raise _location_mismatch(f"transaction {to_hex(claim.tx_hash)} is not on this chain")
    if receipt.status != 1 or receipt.to != claim.contract:
        raise _location_mismatch("the transaction is not a successful call of the contract")
    if receipt.block_number != claim.block_number or receipt.block_hash != claim.block_hash:
        raise _location_mismatch("the transaction sits in another block than the bundle's")
    log = next((e for e in receipt.logs if e.log_index == claim.log_index), None)
    if log is None or log.removed or log.address != claim.contract:
        raise _location_mismatch(f"no log of the contract at index {claim.log_index}")
    topics = (_ANCHORED_TOPIC, _word(claim.batch_id), claim.root)
    data = _word(claim.leaf_count) + claim.manifest_hash
    if log.topics != topics or log.data != data:
        raise _location_mismatch(f"log {claim.log_index} is not this batch's Anchored event")


# --- the shared steps of a run --------------------------------------------------------------


def skip_onchain(p: Progress) -> None:
    """Offline: every on-chain check is reported as skipped."""
    for name in ONCHAIN_CHECKS:
        p.add(name, "offline", CheckStatus.SKIPPED)


def unique_roots(claims: Iterable[AnchorClaim]) -> tuple[AnchorClaim, ...]:
    """Each anchored root once, in order; one root stated at two anchors is refused."""
    unique: dict[bytes, AnchorClaim] = {}
    for claim in claims:
        if unique.setdefault(claim.root, claim) != claim:
            raise VerificationFailure(
                "anchored", "AnchorMismatch", f"root {to_hex(claim.root)} is claimed at two anchors"
            )
    return tuple(unique.values())


# Wraps one claim's on-chain check: given the check's name and the claim, it may re-raise the
# failure with the claim named in its reason.
Reraise = Callable[[str, AnchorClaim], AbstractContextManager[None]]


def name_the_claim(check: str, claim: AnchorClaim) -> AbstractContextManager[None]:
    """The re-raise of bundles with many roots: the failing root (anchored) or batch (location)."""
    if check == "anchored":
        return prefixed(f"root {to_hex(claim.root)}: ")
    return prefixed(f"batch {claim.batch_id}: ")


@dataclass(frozen=True)
class OnchainDetails:
    """The detail lines of the ``anchored`` and ``anchor-location`` checks."""

    anchored: str
    located: str


def _root_details(claims: Sequence[AnchorClaim]) -> OnchainDetails:
    return OnchainDetails(
        f"{len(claims)} roots anchored as stated", f"{len(claims)} Anchored events where stated"
    )


def run_onchain(
    rpc: ChainReader,
    trust: TrustRoot | None,
    chain_id: int,
    contract: bytes,
    stated: Iterable[AnchorClaim],
    p: Progress,
    *,
    distinct: Callable[[Iterable[AnchorClaim]], Sequence[AnchorClaim]] = unique_roots,
    reraise: Reraise = name_the_claim,
    details: Callable[[Sequence[AnchorClaim]], OnchainDetails] | None = None,
) -> None:
    """Checks 'chain-id', 'contract-code', then every distinct claim 'anchored', then every
    such claim's 'anchor-location'. ``distinct`` picks the claims to check from the ``stated``
    ones (by default one per root, refusing a root stated at two anchors); ``details`` words
    the last two checks' lines. ``trust`` defaults to the shipped trust root."""
    from verifier.trust import load_default_trust  # reads a file: only when a chain is asked

    check_chain_id(rpc, chain_id)
    p.add("chain-id", f"chain {chain_id}")
    trusted = check_contract_code(rpc, contract, trust or load_default_trust())
    p.add("contract-code", f"{trusted.contract_name} {trusted.compiler_version}".strip())
    claims = distinct(stated)
    lines = (details or _root_details)(claims)
    for claim in claims:
        with reraise("anchored", claim):
            check_anchored(rpc, claim)
    p.add("anchored", lines.anchored)
    for claim in claims:
        with reraise("anchor-location", claim):
            check_anchor_location(rpc, claim)
    p.add("anchor-location", lines.located)

"""Verifying an asset proof bundle (``docs/asset-proof-format.md``): fourteen checks in order.

An asset proof shows a claim about a carbon-asset lot — that an enterprise holds a range of its
serials, or retired them by a named operation — from the lot's whole signed history: every
operation is signed by a key its owner named in an anchored registry event, is anchored as a
kind-5 leaf, links to the operation before it, and the history replays under the lot's rules
(:mod:`verifier.protocol.lot_rules`) to a state in which the claim holds.

A holding is proven *as of the bundle's last operation*: the ledger could withhold later ones.
Every later operation must name that last one as ``prev``, so two anchored operations naming
one ``prev`` are evidence that the ledger forked the lot.

As in :mod:`verifier.checks.record`, each check passes or raises its own
:class:`~verifier.checks.record.VerificationFailure` subclass whose ``check`` is the check's stable
name; the first failure ends the run. Checks 1–10 read only the bundle; 11–14 read the chain.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import rfc8785

from verifier.checks.record import (
    ONCHAIN_CHECKS,
    AnchorClaim,
    AnchorMismatch,
    BundleInvalid,
    CheckStatus,
    DomainMismatch,
    LeafMismatch,
    ManifestMismatch,
    Progress,
    SignatureMalformed,
    SignatureMalleable,
    TypedDataInvalid,
    VerificationFailure,
    VerificationResult,
    check_anchor_location,
    check_anchored,
    check_chain_id,
    check_contract_code,
    check_manifest_counts,
    check_merkle_path,
    run_checks,
    validate_model,
)
from verifier.errors import AssetRuleError, InvalidRecord, MalleableSignature, SignatureError
from verifier.formats.asset import (
    ASSET_PROOF_FORMAT,
    AssetOperationProofJson,
    AssetProofBundle,
    HoldingClaim,
    RetirementClaim,
)
from verifier.formats.record import RegistryProofJson
from verifier.protocol.asset_ops import AssetOperation, asset_operation_digest, asset_operation_leaf
from verifier.protocol.keccak import keccak256, parse_address, to_checksum_address
from verifier.protocol.leaves import LeafKind, leaf_hash
from verifier.protocol.lot_rules import HELD, LotState, apply, holdings, ranges_within
from verifier.protocol.typed_data import Domain, recover_signer
from verifier.rpc import ChainReader
from verifier.trust import TrustRoot, load_default_trust

__all__ = [
    "ASSET_CHECKS",
    "SIGNER_SET",
    "AssetSummary",
    "AssetVerificationResult",
    "ClaimInvalid",
    "ClaimNotHeld",
    "ClaimNotRetired",
    "ForeignOperation",
    "HistoryBroken",
    "ReplayRejected",
    "SignerEventInvalid",
    "SignerNotAuthorised",
    "SignerRotatedAway",
    "parse_asset_bundle",
    "verify_asset",
]

ASSET_CHECKS: tuple[str, ...] = (
    "bundle",
    "typed-data",
    "signature",
    "signers",
    "leaf",
    "merkle-path",
    "manifest",
    "history",
    "replay",
    "claim",
    *ONCHAIN_CHECKS,
)
SIGNER_SET = "enterprise.signer_set"
EVENT_FORMAT = "carbon-ledger/registry-event"

_NODE = re.compile(r"0x[0-9a-fA-F]{64}")
_ZERO = bytes(32)
_ASSET_KIND = str(int(LeafKind.ASSET_OPERATION))


# --- failures: one class per way a check fails (the rest are verifier.checks.record's) -------


class ForeignOperation(VerificationFailure):
    """An operation in the bundle is about another lot than the first one's."""

    check = "typed-data"


class SignerEventInvalid(VerificationFailure):
    """A signer event is not an anchored-looking ``enterprise.signer_set`` registry event."""

    check = "signers"


class SignerNotAuthorised(VerificationFailure):
    """No anchored signer event of the operation's owner names the key that signed it."""

    check = "signers"


class SignerRotatedAway(VerificationFailure):
    """The owner named another key, anchored after the signing key and before the operation."""

    check = "signers"


class HistoryBroken(VerificationFailure):
    """The operations are not one chain from the lot's issue (start, prev links, order)."""

    check = "history"


class ReplayRejected(VerificationFailure):
    """An operation breaks a lot rule; ``code`` is the rule's code (``asset_replay``)."""

    check = "replay"

    def __init__(self, reason: str, code: str = "", index: int = -1) -> None:
        super().__init__(reason)
        self.code = code
        self.index = index


class ClaimInvalid(VerificationFailure):
    """The claim is about another lot, or names an empty range."""

    check = "claim"


class ClaimNotHeld(VerificationFailure):
    """After the last operation, the claimed serials are not all held by the claimed holder."""

    check = "claim"


class ClaimNotRetired(VerificationFailure):
    """The named operation is not a retirement of the claimed serials by the claimed holder."""

    check = "claim"


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssetSummary:
    """What the bundle claims about the lot, and as of which operation. Believe it only when
    the result is valid."""

    asset: str
    program: str
    vintage: int
    serial_prefix: str
    lot_first: int
    lot_last: int
    claim: str  # "holding" or "retirement"
    holder: str
    first: int
    last: int
    operation: bytes | None  # the retirement's digest
    operations: int  # the number of the last operation, counting the issue as 1
    head: bytes
    head_block: int
    holdings: dict[str, int]

    @property
    def quantity(self) -> int:
        return self.last - self.first + 1

    def line(self) -> str:
        what = "holds" if self.claim == "holding" else "retired"
        how = "" if self.operation is None else f" by operation 0x{self.operation.hex()}"
        return (
            f"lot {self.asset} ({self.program} {self.vintage}, prefix {self.serial_prefix!r}, "
            f"serials {self.lot_first}..{self.lot_last}): {self.holder} {what} "
            f"{self.quantity} tCO2e (serials {self.first}..{self.last}){how}, "
            f"as of operation {self.operations} "
            f"(digest 0x{self.head.hex()}) anchored in block {self.head_block}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "program": self.program,
            "vintage": self.vintage,
            "serialPrefix": self.serial_prefix,
            "lot": {"first": self.lot_first, "last": self.lot_last},
            "claim": {
                "type": self.claim,
                "holder": self.holder,
                "first": self.first,
                "last": self.last,
                "quantity": self.quantity,
                "operation": None if self.operation is None else "0x" + self.operation.hex(),
            },
            "asOf": {
                "operation": self.operations,
                "digest": "0x" + self.head.hex(),
                "blockNumber": self.head_block,
            },
            "holdings": dict(self.holdings),
            "summary": self.line(),
        }


@dataclass(frozen=True)
class AssetVerificationResult(VerificationResult):
    """A :class:`~verifier.checks.record.VerificationResult` (``record`` is None) with the lot."""

    asset: AssetSummary | None = None

    @property
    def summary(self) -> str | None:
        return None if self.asset is None else self.asset.line()

    def to_json(self) -> dict[str, Any]:
        return super().to_json() | {"asset": None if self.asset is None else self.asset.to_json()}


# --- check 1: the bundle as bytes -----------------------------------------------------------


@dataclass(frozen=True)
class _Proven:
    """One anchored leaf's proof decoded to bytes: operation (with signature) or event."""

    proof: tuple[bytes, ...]
    claim: AnchorClaim
    signature: bytes = b""


@dataclass(frozen=True)
class _Wire:
    ops: tuple[_Proven, ...]
    signers: tuple[_Proven, ...]


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _unhex(text: str) -> bytes:
    return bytes.fromhex(text[2:])


def parse_asset_bundle(data: Any) -> AssetProofBundle:
    """Check 1 on decoded JSON: a ``carbon-ledger/asset-proof`` v1 document of the right shape.
    Raises :class:`~verifier.checks.record.BundleInvalid` with the first problem found."""
    if not isinstance(data, dict) or data.get("format") != ASSET_PROOF_FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise BundleInvalid(f"not a {ASSET_PROOF_FORMAT} bundle (format {found!r})")
    if data.get("version") != 1:
        raise BundleInvalid(f"unsupported bundle version {data.get('version')!r}; this reads 1")
    return validate_model(AssetProofBundle, data)


def _proven(item: AssetOperationProofJson | RegistryProofJson, where: str) -> _Proven:
    bad = next((i for i, node in enumerate(item.proof) if not _NODE.fullmatch(node)), None)
    if bad is not None:
        raise BundleInvalid(f"{where}.proof[{bad}] is not 0x + 64 hex digits")
    signature = getattr(item, "signature", None)
    try:
        return _Proven(
            proof=tuple(_unhex(node) for node in item.proof),
            claim=AnchorClaim.of(item.batch, item.anchor),
            signature=b"" if signature is None else _unhex(signature),
        )
    except ValueError as exc:
        raise BundleInvalid(f"{where}: {exc}") from None


def _check_bundle(bundle: AssetProofBundle) -> _Wire:
    # Patterns are checked again: a library caller may hand us a model_construct'ed bundle.
    if bundle.format != ASSET_PROOF_FORMAT or bundle.version != 1:
        raise BundleInvalid(f"not a {ASSET_PROOF_FORMAT} v1 bundle")
    if not bundle.operations or not bundle.signers:
        raise BundleInvalid("a bundle needs operations and signer events")
    return _Wire(
        ops=tuple(_proven(op, f"operations[{i}]") for i, op in enumerate(bundle.operations)),
        signers=tuple(_proven(s, f"signers[{i}]") for i, s in enumerate(bundle.signers)),
    )


# --- checks 2–3: typed data and signatures --------------------------------------------------


def _check_domain_anchors(bundle: AssetProofBundle, domain: Domain, wire: _Wire) -> None:
    """Every leaf is anchored on the domain's chain, in the domain's contract: so an op cannot
    be moved to another deployment, and contract-code vouches for every anchor."""
    contract = parse_address(domain.verifying_contract)
    for name, items, proven in (
        ("operations", bundle.operations, wire.ops),
        ("signers", bundle.signers, wire.signers),
    ):
        for i, (item, claim) in enumerate(zip(items, (p.claim for p in proven), strict=True)):
            if item.anchor.chain_id != domain.chain_id or claim.contract != contract:
                raise DomainMismatch(
                    f"{name}[{i}] is anchored on chain {item.anchor.chain_id} in "
                    f"{to_checksum_address(claim.contract)}; the operations are signed for "
                    f"chain {domain.chain_id}, contract {domain.verifying_contract}"
                )


def _check_typed_data(
    bundle: AssetProofBundle, wire: _Wire
) -> tuple[Domain, tuple[AssetOperation, ...]]:
    try:
        domain = Domain(bundle.domain.chain_id, bundle.domain.verifying_contract)
    except InvalidRecord as exc:
        raise TypedDataInvalid(f"domain: {exc}") from None
    ops: list[AssetOperation] = []
    for i, item in enumerate(bundle.operations):
        try:
            ops.append(AssetOperation.from_message(item.operation))
        except (InvalidRecord, KeyError, TypeError, ValueError) as exc:
            raise TypedDataInvalid(f"operations[{i}]: not an AssetOperation: {exc}") from None
    _check_domain_anchors(bundle, domain, wire)
    foreign = next((i for i, op in enumerate(ops) if op.asset != ops[0].asset), None)
    if foreign is not None:
        raise ForeignOperation(
            f"operations[{foreign}] is about {ops[foreign].asset}, not {ops[0].asset}"
        )
    return domain, tuple(ops)


def _check_signatures(digests: tuple[bytes, ...], wire: _Wire) -> tuple[str, ...]:
    """Each operation's signer address (who it must be is the ``signers`` check's business)."""
    signers: list[str] = []
    for i, (digest, item) in enumerate(zip(digests, wire.ops, strict=True)):
        try:
            signers.append(recover_signer(digest, item.signature))
        except MalleableSignature as exc:
            raise SignatureMalleable(f"operations[{i}]: {exc}") from None
        except SignatureError as exc:
            raise SignatureMalformed(f"operations[{i}]: {exc}") from None
    return tuple(signers)


# --- check 4: signers -----------------------------------------------------------------------


@dataclass(frozen=True)
class _SignerEvent:
    enterprise: str
    signer: str
    block: int


@contextmanager
def _prefixed(prefix: str, into: type[VerificationFailure] | None = None) -> Iterator[None]:
    """Re-raise a shared check's failure with ``prefix`` (as ``into`` when given)."""
    try:
        yield
    except VerificationFailure as exc:
        raise (into or type(exc))(prefix + exc.reason) from None


def _checksummed(text: str) -> str | None:
    try:
        return to_checksum_address(parse_address(text))
    except ValueError:
        return None


def _check_signer_event(proof: RegistryProofJson, item: _Proven, index: int) -> _SignerEvent:
    """The event is an ``enterprise.signer_set`` hashing to its kind-3 leaf under its root."""
    where = f"signers[{index}]: "
    event = proof.event
    if event.get("format") != EVENT_FORMAT or event.get("version") != 1:
        raise SignerEventInvalid(f"{where}not a {EVENT_FORMAT} v1 event")
    subject, signer = event.get("subject"), event.get("signer")
    if event.get("type") != SIGNER_SET or not isinstance(subject, str) or not subject:
        raise SignerEventInvalid(f"{where}not an {SIGNER_SET} event about an enterprise")
    if not isinstance(signer, str) or _checksummed(signer) != signer:
        raise SignerEventInvalid(f"{where}signer must be an EIP-55 checksum address")
    try:
        digest = keccak256(rfc8785.dumps(event))
    except rfc8785.CanonicalizationError as exc:
        raise SignerEventInvalid(f"{where}the event has no canonical JSON: {exc}") from None
    expected = leaf_hash(LeafKind.REGISTRY_EVENT, digest, _ZERO)
    leaf = proof.leaf
    recomputed = (int(LeafKind.REGISTRY_EVENT), _hex(digest), _hex(_ZERO), _hex(expected))
    if (leaf.kind, leaf.digest, leaf.aux, leaf.hash) != recomputed:
        raise SignerEventInvalid(f"{where}the event does not hash to its kind-3 leaf")
    with _prefixed(where, SignerEventInvalid):
        check_merkle_path(expected, item.proof, item.claim.root, proof.batch.leaf_count)
        check_manifest_counts(proof.batch, item.claim.manifest_hash)
    return _SignerEvent(subject, signer, item.claim.block_number)


def _authorise(
    events: tuple[_SignerEvent, ...], owner: str, signer: str, block: int, index: int
) -> _SignerEvent:
    """The event naming ``signer`` for ``owner`` that was in force in ``block``."""
    mine = [e for e in events if e.enterprise == owner]
    naming = [e for e in mine if e.signer == signer and e.block <= block]
    if not naming:
        later = [e.block for e in mine if e.signer == signer]
        why = f" (named only in block {min(later)})" if later else ""
        raise SignerNotAuthorised(
            f"operations[{index}] (block {block}) is signed by {signer}, which no anchored "
            f"{SIGNER_SET} event of {owner} names by then{why}"
        )
    named = max(naming, key=lambda e: e.block)
    # Same-block events have no order we can see, so only a strictly later block rotates.
    rotated = next((e for e in mine if named.block < e.block < block), None)
    if rotated is not None:
        raise SignerRotatedAway(
            f"operations[{index}] (block {block}) is signed by {signer}, but {owner} named "
            f"{rotated.signer} in block {rotated.block}, after naming {signer} in block "
            f"{named.block}"
        )
    return named


def _check_signers(
    bundle: AssetProofBundle, wire: _Wire, ops: tuple[AssetOperation, ...], signers: tuple[str, ...]
) -> str:
    events = tuple(
        _check_signer_event(p, item, i)
        for i, (p, item) in enumerate(zip(bundle.signers, wire.signers, strict=True))
    )
    for i, (op, signer, item) in enumerate(zip(ops, signers, wire.ops, strict=True)):
        _authorise(events, op.owner, signer, item.claim.block_number, i)
    owners = sorted({op.owner for op in ops})
    return (
        f"{len(ops)} operations signed by keys their owners ({', '.join(owners)}) named in "
        f"{len(events)} anchored {SIGNER_SET} events"
    )


# --- checks 5–7: leaves, paths, manifests ---------------------------------------------------


def _check_leaves(
    bundle: AssetProofBundle, domain: Domain, ops: tuple[AssetOperation, ...], wire: _Wire
) -> tuple[bytes, ...]:
    hashes: list[bytes] = []
    for i, (item, op, proven) in enumerate(zip(bundle.operations, ops, wire.ops, strict=True)):
        leaf = asset_operation_leaf(domain, op, proven.signature)
        expected = {
            "kind": int(leaf.kind),
            "digest": _hex(leaf.digest),
            "aux": _hex(leaf.aux),
            "hash": _hex(leaf.hash()),
        }
        for name, value in expected.items():
            stated = getattr(item.leaf, name)
            if stated != value:
                raise LeafMismatch(f"operations[{i}]: leaf {name} is {stated}, recomputed {value}")
        hashes.append(leaf.hash())
    return tuple(hashes)


def _check_paths(bundle: AssetProofBundle, wire: _Wire, hashes: tuple[bytes, ...]) -> str:
    for i, (item, proven, leaf) in enumerate(zip(bundle.operations, wire.ops, hashes, strict=True)):
        with _prefixed(f"operations[{i}]: "):
            check_merkle_path(leaf, proven.proof, proven.claim.root, item.batch.leaf_count)
    roots = len({p.claim.root for p in wire.ops})
    return f"{len(hashes)} operations under {roots} batch root(s)"


def _check_manifests(bundle: AssetProofBundle, wire: _Wire, hashes: tuple[bytes, ...]) -> str:
    # Distinct leaves: a repeated operation is the history check's to name, not the manifest's.
    leaves = {(p.claim.root, leaf) for p, leaf in zip(wire.ops, hashes, strict=True)}
    per_root = Counter(root for root, _ in leaves)
    for i, (item, proven) in enumerate(zip(bundle.operations, wire.ops, strict=True)):
        with _prefixed(f"operations[{i}]: "):
            check_manifest_counts(item.batch, proven.claim.manifest_hash)
        counted = item.batch.manifest.kinds.get(_ASSET_KIND, 0)
        if counted < per_root[proven.claim.root]:
            raise ManifestMismatch(
                f"operations[{i}]: the manifest counts {counted} asset operations, the bundle "
                f"places {per_root[proven.claim.root]} distinct ones in this batch"
            )
    return f"{len(per_root)} manifest(s) hash as anchored and count the operations"


# --- checks 8–10: history, replay, claim ----------------------------------------------------


def _check_history(ops: tuple[AssetOperation, ...], digests: tuple[bytes, ...], wire: _Wire) -> str:
    if ops[0].action != "issue":
        raise HistoryBroken(f"the history starts with a {ops[0].action}, not with the issue")
    for i in range(1, len(ops)):
        if ops[i].prev != digests[i - 1]:
            raise HistoryBroken(
                f"operations[{i}] names prev {_hex(ops[i].prev)}, but operations[{i - 1}] "
                f"is {_hex(digests[i - 1])}"
            )
        # The ledger anchors operations in the order it accepts them.
        before, block = wire.ops[i - 1].claim.block_number, wire.ops[i].claim.block_number
        if block < before:
            raise HistoryBroken(
                f"operations[{i}] is anchored in block {block}, before its predecessor ({before})"
            )
    return f"{len(ops)} operations linked by prev from the issue"


def _check_replay(ops: tuple[AssetOperation, ...], digests: tuple[bytes, ...]) -> LotState:
    state: LotState | None = None
    for i, (op, digest) in enumerate(zip(ops, digests, strict=True)):
        try:
            state = apply(state, op, digest)
        except AssetRuleError as exc:
            raise ReplayRejected(f"operations[{i}] ({op.action}): {exc}", exc.code, i) from None
    assert state is not None  # ops is non-empty and starts with an issue (history)
    return state


def _check_holding_claim(claim: HoldingClaim, state: LotState) -> None:
    pieces = ranges_within(state, claim.first, claim.last)
    held = sum(r.quantity for r in pieces if r.status == HELD and r.holder == claim.holder)
    quantity = claim.last - claim.first + 1
    if held != quantity:
        raise ClaimNotHeld(
            f"{claim.holder} holds {held} of the {quantity} serials {claim.first}..{claim.last} "
            f"after the last operation"
        )


def _check_retirement_claim(
    claim: RetirementClaim,
    ops: tuple[AssetOperation, ...],
    digests: tuple[bytes, ...],
    state: LotState,
) -> None:
    named = _unhex(claim.operation)
    index = next((i for i, d in enumerate(digests) if d == named), None)
    if index is None:
        raise ClaimNotRetired(f"operation {claim.operation} is not in the lot's history")
    op = ops[index]
    if op.action not in ("retire", "surrender"):
        raise ClaimNotRetired(f"operations[{index}] is a {op.action}, not a retirement")
    if op.owner != claim.holder:
        raise ClaimNotRetired(f"operations[{index}] was signed by {op.owner}, not {claim.holder}")
    if not op.first <= claim.first <= claim.last <= op.last:
        raise ClaimNotRetired(
            f"operations[{index}] covers {op.first}..{op.last}, not {claim.first}..{claim.last}"
        )
    status = "retired" if op.action == "retire" else "surrendered"
    pieces = ranges_within(state, claim.first, claim.last)
    if any((r.status, r.holder) != (status, claim.holder) for r in pieces):
        raise ClaimNotRetired(f"serials {claim.first}..{claim.last} are not {status} at the end")


def _check_claim(
    bundle: AssetProofBundle,
    ops: tuple[AssetOperation, ...],
    digests: tuple[bytes, ...],
    state: LotState,
) -> str:
    claim = bundle.claim
    if claim.asset != state.asset:
        raise ClaimInvalid(f"the claim is about {claim.asset}, the history about {state.asset}")
    if claim.first > claim.last:
        raise ClaimInvalid(f"the claimed range {claim.first}..{claim.last} is empty")
    if isinstance(claim, RetirementClaim):
        _check_retirement_claim(claim, ops, digests, state)
        return f"{claim.holder} retired {claim.first}..{claim.last} by {claim.operation}"
    _check_holding_claim(claim, state)
    return f"{claim.holder} holds {claim.first}..{claim.last} after the last operation"


# --- checks 11–14: the chain ----------------------------------------------------------------


def _claims(wire: _Wire) -> tuple[AnchorClaim, ...]:
    """Each anchored root once, operations' first; one root stated at two anchors is refused."""
    unique: dict[bytes, AnchorClaim] = {}
    for item in (*wire.ops, *wire.signers):
        if unique.setdefault(item.claim.root, item.claim) != item.claim:
            raise AnchorMismatch(f"root {_hex(item.claim.root)} is claimed at two anchors")
    return tuple(unique.values())


def _run_onchain(
    domain: Domain, wire: _Wire, rpc: ChainReader, trust: TrustRoot, p: Progress
) -> None:
    check_chain_id(rpc, domain.chain_id)
    p.add("chain-id", f"chain {domain.chain_id}")
    trusted = check_contract_code(rpc, parse_address(domain.verifying_contract), trust)
    p.add("contract-code", f"{trusted.contract_name} {trusted.compiler_version}".strip())
    claims = _claims(wire)
    for claim in claims:
        with _prefixed(f"root {_hex(claim.root)}: "):
            check_anchored(rpc, claim)
    p.add("anchored", f"{len(claims)} roots anchored as stated")
    for claim in claims:
        with _prefixed(f"batch {claim.batch_id}: "):
            check_anchor_location(rpc, claim)
    p.add("anchor-location", f"{len(claims)} Anchored events where stated")


# --- the run --------------------------------------------------------------------------------


def _summary(
    bundle: AssetProofBundle, state: LotState, digests: tuple[bytes, ...], wire: _Wire
) -> AssetSummary:
    claim = bundle.claim
    operation = _unhex(claim.operation) if isinstance(claim, RetirementClaim) else None
    return AssetSummary(
        asset=state.asset,
        program=state.program,
        vintage=state.vintage,
        serial_prefix=state.serial_prefix,
        lot_first=state.first,
        lot_last=state.last,
        claim=claim.type,
        holder=claim.holder,
        first=claim.first,
        last=claim.last,
        operation=operation,
        operations=state.operations,
        head=digests[-1],
        head_block=wire.ops[-1].claim.block_number,
        holdings=holdings(state),
    )


@dataclass
class _Outcome:
    """Where a run leaves the lot's summary, for the result (run_checks knows only records)."""

    summary: AssetSummary | None = None


def _run(
    bundle: AssetProofBundle,
    rpc: ChainReader | None,
    trust: TrustRoot | None,
    p: Progress,
    out: _Outcome,
) -> None:
    wire = _check_bundle(bundle)
    p.add("bundle", f"{bundle.format} v{bundle.version}, {len(wire.ops)} operations")
    domain, ops = _check_typed_data(bundle, wire)
    p.add("typed-data", f"lot {ops[0].asset}, chain {domain.chain_id}, {domain.verifying_contract}")
    digests = tuple(asset_operation_digest(domain, op) for op in ops)
    signers = _check_signatures(digests, wire)
    p.add("signature", f"{len(ops)} signatures well-formed, low-s and recoverable")
    p.add("signers", _check_signers(bundle, wire, ops, signers))
    hashes = _check_leaves(bundle, domain, ops, wire)
    p.add("leaf", f"{len(hashes)} kind-{_ASSET_KIND} leaves of (digest, keccak(signature))")
    p.add("merkle-path", _check_paths(bundle, wire, hashes))
    p.add("manifest", _check_manifests(bundle, wire, hashes))
    p.add("history", _check_history(ops, digests, wire))
    state = _check_replay(ops, digests)
    p.add("replay", f"{state.operations} operations obey the lot's rules")
    detail = _check_claim(bundle, ops, digests, state)
    out.summary = _summary(bundle, state, digests, wire)
    p.add("claim", f"{detail}: as of operation {state.operations} (block {out.summary.head_block})")
    if rpc is None:
        for name in ONCHAIN_CHECKS:
            p.add(name, "offline", CheckStatus.SKIPPED)
        return
    _run_onchain(domain, wire, rpc, trust or load_default_trust(), p)


def verify_asset(
    bundle: AssetProofBundle, rpc: ChainReader | None, *, trust: TrustRoot | None = None
) -> AssetVerificationResult:
    """Run the checks in :data:`ASSET_CHECKS` order; the on-chain ones are skipped when ``rpc``
    is None. ``trust`` defaults to the shipped trust root. A failed check is in the result; an
    endpoint that cannot answer raises :class:`~verifier.rpc.RpcError`. The summary (``asset``)
    is set once the claim check passed, and is true only if the whole result is valid."""
    out = _Outcome()
    result = run_checks(ASSET_CHECKS, lambda progress: _run(bundle, rpc, trust, progress, out))
    return AssetVerificationResult(result.checks, result.failure, None, out.summary)

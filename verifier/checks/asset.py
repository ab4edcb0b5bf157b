"""Verifying an asset proof bundle (``docs/asset-proof-format.md``): fourteen checks in order.

An asset proof shows a claim about a carbon-asset lot — that an enterprise holds a range of its
serials, or retired them by a named operation — from the lot's whole signed history: the issue
is signed by the key an anchored registry event names as its programme's issuer, every later
operation by a key its owner named in an anchored registry event; each is anchored as a
kind-5 leaf, links to the operation before it, and the history replays under the lot's rules
(:mod:`verifier.protocol.lot_rules`) to a state in which the claim holds. Serials awaiting a
recipient's acceptance are nobody's holding.

A holding is proven *as of the bundle's last operation*: the ledger could withhold later ones.
Every later operation must name that last one as ``prev``, so two anchored operations naming
one ``prev`` are evidence that the ledger forked the lot.

As in :mod:`verifier.checks.record`, each check passes or raises a
:class:`~verifier.errors.VerificationFailure` naming it; the first failure ends the run.
Checks 1–10 read only the bundle; 11–14 read the chain.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from verifier.checks.kernel import (
    ONCHAIN_CHECKS,
    AnchorClaim,
    Progress,
    VerificationResult,
    check_format,
    check_manifest_counts,
    check_merkle_path,
    check_registry_event,
    decode_nodes,
    from_hex,
    prefixed,
    read_bundle,
    run_checks,
    run_onchain,
    skip_onchain,
    to_hex,
)
from verifier.errors import (
    AssetRuleError,
    InvalidRecord,
    MalleableSignature,
    SignatureError,
    VerificationFailure,
)
from verifier.formats.asset import (
    ASSET_PROOF_FORMAT,
    ASSET_PROOF_VERSION,
    AssetOperationProofJson,
    AssetProofBundle,
    HoldingClaim,
    RetirementClaim,
)
from verifier.formats.record import RegistryProofJson
from verifier.protocol.asset_ops import AssetOperation, asset_operation_digest, asset_operation_leaf
from verifier.protocol.events import ENTERPRISE_REGISTERED, ISSUER_SET, SIGNER_SET
from verifier.protocol.keccak import parse_address, to_checksum_address
from verifier.protocol.leaves import LeafKind
from verifier.protocol.lot_rules import (
    HELD,
    LotState,
    apply,
    holdings,
    pending,
    ranges_within,
)
from verifier.protocol.typed_data import Domain, recover_signer

if TYPE_CHECKING:
    from verifier.rpc import ChainReader
    from verifier.trust import TrustRoot

__all__ = [
    "ASSET_CHECKS",
    "AssetSummary",
    "AssetVerificationResult",
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
_ASSET_KIND = str(int(LeafKind.ASSET_OPERATION))


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
    pending: dict[str, int]  # awaiting each recipient's acceptance; not holdings
    issuer: str  # the key that signed the issue, as the programme's anchored issuer

    @property
    def quantity(self) -> int:
        return self.last - self.first + 1

    def line(self) -> str:
        what = "holds" if self.claim == "holding" else "retired"
        how = "" if self.operation is None else f" by operation 0x{self.operation.hex()}"
        return (
            f"lot {self.asset} ({self.program} {self.vintage}, prefix {self.serial_prefix!r}, "
            f"serials {self.lot_first}..{self.lot_last}, issued by {self.program} issuer key "
            f"{self.issuer}): {self.holder} {what} "
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
            "pending": dict(self.pending),
            "issuer": self.issuer,
            "summary": self.line(),
        }


@dataclass(frozen=True)
class AssetVerificationResult(VerificationResult):
    """A :class:`~verifier.checks.kernel.VerificationResult` (``record`` is None) with the lot."""

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


def parse_asset_bundle(data: Any) -> AssetProofBundle:
    """Check 1 on decoded JSON: a ``carbon-ledger/asset-proof`` v2 document of the right shape.
    Raises a ``bundle`` failure (BundleInvalid) with the first problem found."""
    return read_bundle(data, ASSET_PROOF_FORMAT, AssetProofBundle, (ASSET_PROOF_VERSION,))


def _proven(item: AssetOperationProofJson | RegistryProofJson, where: str) -> _Proven:
    proof = decode_nodes(item.proof, f"{where}.proof")
    signature = getattr(item, "signature", None)
    try:
        return _Proven(
            proof=proof,
            claim=AnchorClaim.of(item.batch, item.anchor),
            signature=b"" if signature is None else from_hex(signature),
        )
    except ValueError as exc:
        raise VerificationFailure("bundle", "BundleInvalid", f"{where}: {exc}") from None


def _check_bundle(bundle: AssetProofBundle) -> _Wire:
    check_format(bundle, ASSET_PROOF_FORMAT, (ASSET_PROOF_VERSION,))
    if not bundle.operations or not bundle.signers:
        raise VerificationFailure(
            "bundle", "BundleInvalid", "a bundle needs operations and signer events"
        )
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
                raise VerificationFailure(
                    "typed-data",
                    "DomainMismatch",
                    f"{name}[{i}] is anchored on chain {item.anchor.chain_id} in "
                    f"{to_checksum_address(claim.contract)}; the operations are signed for "
                    f"chain {domain.chain_id}, contract {domain.verifying_contract}",
                )


def _check_typed_data(
    bundle: AssetProofBundle, wire: _Wire
) -> tuple[Domain, tuple[AssetOperation, ...]]:
    try:
        domain = Domain(bundle.domain.chain_id, bundle.domain.verifying_contract)
    except InvalidRecord as exc:
        raise VerificationFailure("typed-data", "TypedDataInvalid", f"domain: {exc}") from None
    ops: list[AssetOperation] = []
    for i, item in enumerate(bundle.operations):
        try:
            ops.append(AssetOperation.from_message(item.operation))
        except (InvalidRecord, KeyError, TypeError, ValueError) as exc:
            raise VerificationFailure(
                "typed-data", "TypedDataInvalid", f"operations[{i}]: not an AssetOperation: {exc}"
            ) from None
    _check_domain_anchors(bundle, domain, wire)
    foreign = next((i for i, op in enumerate(ops) if op.asset != ops[0].asset), None)
    if foreign is not None:
        raise VerificationFailure(
            "typed-data",
            "ForeignOperation",
            f"operations[{foreign}] is about {ops[foreign].asset}, not {ops[0].asset}",
        )
    return domain, tuple(ops)


def _check_signatures(digests: tuple[bytes, ...], wire: _Wire) -> tuple[str, ...]:
    """Each operation's signer address (who it must be is the ``signers`` check's business)."""
    signers: list[str] = []
    for i, (digest, item) in enumerate(zip(digests, wire.ops, strict=True)):
        try:
            signers.append(recover_signer(digest, item.signature))
        except MalleableSignature as exc:
            raise VerificationFailure(
                "signature", "SignatureMalleable", f"operations[{i}]: {exc}"
            ) from None
        except SignatureError as exc:
            raise VerificationFailure(
                "signature", "SignatureMalformed", f"operations[{i}]: {exc}"
            ) from None
    return tuple(signers)


# --- check 4: signers -----------------------------------------------------------------------


#: Events that name a key, and which key they name.
_KEY_EVENTS = {SIGNER_SET: SIGNER_SET, ENTERPRISE_REGISTERED: SIGNER_SET, ISSUER_SET: ISSUER_SET}


@dataclass(frozen=True)
class _SignerEvent:
    type: str  # SIGNER_SET (subject: an enterprise) or ISSUER_SET (subject: a programme)
    subject: str
    signer: str
    block: int


def _checksummed(text: str) -> str | None:
    try:
        return to_checksum_address(parse_address(text))
    except ValueError:
        return None


def _signer_event_invalid(reason: str) -> VerificationFailure:
    return VerificationFailure("signers", "SignerEventInvalid", reason)


def _check_signer_event(proof: RegistryProofJson, item: _Proven, index: int) -> _SignerEvent:
    """The event is an ``enterprise.signer_set`` (or an enrolment, ``enterprise.registered``,
    naming a signer) or a ``program.issuer_set``, hashing to its kind-3 leaf under its root."""
    where = f"signers[{index}]: "
    event = proof.event
    kind, subject, signer = event.get("type"), event.get("subject"), event.get("signer")
    if kind not in _KEY_EVENTS or not isinstance(subject, str) or not subject:
        raise _signer_event_invalid(
            f"{where}not an event naming an enterprise's or a programme's key"
        )
    if not isinstance(signer, str) or _checksummed(signer) != signer:
        raise _signer_event_invalid(f"{where}signer must be an EIP-55 checksum address")
    check_registry_event(
        proof, item.proof, item.claim, lambda reason: _signer_event_invalid(where + reason)
    )
    # An enrolment names the enterprise's first key as a signer_set would.
    return _SignerEvent(_KEY_EVENTS[kind], subject, signer, item.claim.block_number)


def _authorise(
    events: tuple[_SignerEvent, ...], op: AssetOperation, signer: str, block: int, index: int
) -> _SignerEvent:
    """The event naming ``signer`` as the key ``op`` needs that was in force in ``block``: its
    programme's issuer key for an issue, its owner's asset key for anything else."""
    kind, owner, code = (
        (ISSUER_SET, op.program, "IssuerNotAuthorised")
        if op.action == "issue"
        else (SIGNER_SET, op.owner, "SignerNotAuthorised")
    )
    mine = [e for e in events if e.type == kind and e.subject == owner]
    naming = [e for e in mine if e.signer == signer and e.block <= block]
    if not naming:
        later = [e.block for e in mine if e.signer == signer]
        why = f" (named only in block {min(later)})" if later else ""
        raise VerificationFailure(
            "signers",
            code,
            f"operations[{index}] ({op.action}, block {block}) is signed by {signer}, which no "
            f"anchored {kind} event of {owner} names by then{why}",
        )
    named = max(naming, key=lambda e: e.block)
    # Same-block events have no order we can see, so only a strictly later block rotates.
    rotated = next((e for e in mine if named.block < e.block < block), None)
    if rotated is not None:
        raise VerificationFailure(
            "signers",
            "SignerRotatedAway",
            f"operations[{index}] (block {block}) is signed by {signer}, but {owner} named "
            f"{rotated.signer} in block {rotated.block}, after naming {signer} in block "
            f"{named.block}",
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
        _authorise(events, op, signer, item.claim.block_number, i)
    owners = sorted({op.owner for op in ops[1:]})
    return (
        f"the issue signed by the {ops[0].program} issuer key {signers[0]}, "
        f"{len(ops) - 1} operations by keys their owners ({', '.join(owners) or 'none'}) "
        f"named; {len(events)} anchored key events"
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
            "digest": to_hex(leaf.digest),
            "aux": to_hex(leaf.aux),
            "hash": to_hex(leaf.hash()),
        }
        for name, value in expected.items():
            stated = getattr(item.leaf, name)
            if stated != value:
                raise VerificationFailure(
                    "leaf",
                    "LeafMismatch",
                    f"operations[{i}]: leaf {name} is {stated}, recomputed {value}",
                )
        hashes.append(leaf.hash())
    return tuple(hashes)


def _check_paths(bundle: AssetProofBundle, wire: _Wire, hashes: tuple[bytes, ...]) -> str:
    for i, (item, proven, leaf) in enumerate(zip(bundle.operations, wire.ops, hashes, strict=True)):
        with prefixed(f"operations[{i}]: "):
            check_merkle_path(leaf, proven.proof, proven.claim.root, item.batch.leaf_count)
    roots = len({p.claim.root for p in wire.ops})
    return f"{len(hashes)} operations under {roots} batch root(s)"


def _check_manifests(bundle: AssetProofBundle, wire: _Wire, hashes: tuple[bytes, ...]) -> str:
    # Distinct leaves: a repeated operation is the history check's to name, not the manifest's.
    leaves = {(p.claim.root, leaf) for p, leaf in zip(wire.ops, hashes, strict=True)}
    per_root = Counter(root for root, _ in leaves)
    for i, (item, proven) in enumerate(zip(bundle.operations, wire.ops, strict=True)):
        with prefixed(f"operations[{i}]: "):
            manifest = check_manifest_counts(item.batch, proven.claim.manifest_hash)
        counted = manifest.kinds.get(_ASSET_KIND, 0)
        if counted < per_root[proven.claim.root]:
            raise VerificationFailure(
                "manifest",
                "ManifestMismatch",
                f"operations[{i}]: the manifest counts {counted} asset operations, the bundle "
                f"places {per_root[proven.claim.root]} distinct ones in this batch",
            )
    return f"{len(per_root)} manifest(s) hash as anchored and count the operations"


# --- checks 8–10: history, replay, claim ----------------------------------------------------


def _check_history(ops: tuple[AssetOperation, ...], digests: tuple[bytes, ...], wire: _Wire) -> str:
    if ops[0].action != "issue":
        raise VerificationFailure(
            "history",
            "HistoryBroken",
            f"the history starts with a {ops[0].action}, not with the issue",
        )
    for i in range(1, len(ops)):
        if ops[i].prev != digests[i - 1]:
            raise VerificationFailure(
                "history",
                "HistoryBroken",
                f"operations[{i}] names prev {to_hex(ops[i].prev)}, but operations[{i - 1}] "
                f"is {to_hex(digests[i - 1])}",
            )
        # The ledger anchors operations in the order it accepts them.
        before, block = wire.ops[i - 1].claim.block_number, wire.ops[i].claim.block_number
        if block < before:
            raise VerificationFailure(
                "history",
                "HistoryBroken",
                f"operations[{i}] is anchored in block {block}, before its predecessor ({before})",
            )
    return f"{len(ops)} operations linked by prev from the issue"


def _check_replay(ops: tuple[AssetOperation, ...], digests: tuple[bytes, ...]) -> LotState:
    state: LotState | None = None
    for i, (op, digest) in enumerate(zip(ops, digests, strict=True)):
        try:
            state = apply(state, op, digest)
        except AssetRuleError as exc:
            raise VerificationFailure(
                "replay",
                "ReplayRejected",
                f"operations[{i}] ({op.action}): {exc}",
                rule=exc.code,
                index=i,
            ) from None
    assert state is not None  # ops is non-empty and starts with an issue (history)
    return state


def _check_holding_claim(claim: HoldingClaim, state: LotState) -> None:
    pieces = ranges_within(state, claim.first, claim.last)
    held = sum(r.quantity for r in pieces if r.status == HELD and r.holder == claim.holder)
    quantity = claim.last - claim.first + 1
    if held != quantity:
        raise VerificationFailure(
            "claim",
            "ClaimNotHeld",
            f"{claim.holder} holds {held} of the {quantity} serials {claim.first}..{claim.last} "
            f"after the last operation",
        )


def _check_retirement_claim(
    claim: RetirementClaim,
    ops: tuple[AssetOperation, ...],
    digests: tuple[bytes, ...],
    state: LotState,
) -> None:
    named = from_hex(claim.operation)
    index = next((i for i, d in enumerate(digests) if d == named), None)
    if index is None:
        raise VerificationFailure(
            "claim", "ClaimNotRetired", f"operation {claim.operation} is not in the lot's history"
        )
    op = ops[index]
    if op.action not in ("retire", "surrender"):
        raise VerificationFailure(
            "claim", "ClaimNotRetired", f"operations[{index}] is a {op.action}, not a retirement"
        )
    if op.owner != claim.holder:
        raise VerificationFailure(
            "claim",
            "ClaimNotRetired",
            f"operations[{index}] was signed by {op.owner}, not {claim.holder}",
        )
    if not op.first <= claim.first <= claim.last <= op.last:
        raise VerificationFailure(
            "claim",
            "ClaimNotRetired",
            f"operations[{index}] covers {op.first}..{op.last}, not {claim.first}..{claim.last}",
        )
    status = "retired" if op.action == "retire" else "surrendered"
    pieces = ranges_within(state, claim.first, claim.last)
    if any((r.status, r.holder) != (status, claim.holder) for r in pieces):
        raise VerificationFailure(
            "claim",
            "ClaimNotRetired",
            f"serials {claim.first}..{claim.last} are not {status} at the end",
        )


def _check_claim(
    bundle: AssetProofBundle,
    ops: tuple[AssetOperation, ...],
    digests: tuple[bytes, ...],
    state: LotState,
) -> str:
    claim = bundle.claim
    if claim.asset != state.asset:
        raise VerificationFailure(
            "claim",
            "ClaimInvalid",
            f"the claim is about {claim.asset}, the history about {state.asset}",
        )
    if claim.first > claim.last:
        raise VerificationFailure(
            "claim", "ClaimInvalid", f"the claimed range {claim.first}..{claim.last} is empty"
        )
    if isinstance(claim, RetirementClaim):
        _check_retirement_claim(claim, ops, digests, state)
        return f"{claim.holder} retired {claim.first}..{claim.last} by {claim.operation}"
    _check_holding_claim(claim, state)
    return f"{claim.holder} holds {claim.first}..{claim.last} after the last operation"


# --- the run --------------------------------------------------------------------------------


def _summary(
    bundle: AssetProofBundle,
    state: LotState,
    digests: tuple[bytes, ...],
    wire: _Wire,
    issuer: str,
) -> AssetSummary:
    claim = bundle.claim
    operation = from_hex(claim.operation) if isinstance(claim, RetirementClaim) else None
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
        pending=pending(state),
        issuer=issuer,
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
    out.summary = _summary(bundle, state, digests, wire, signers[0])
    p.add("claim", f"{detail}: as of operation {state.operations} (block {out.summary.head_block})")
    if rpc is None:
        skip_onchain(p)
        return
    # Each anchored root once, the operations' first.
    stated = [item.claim for item in (*wire.ops, *wire.signers)]
    contract = parse_address(domain.verifying_contract)
    run_onchain(rpc, trust, domain.chain_id, contract, stated, p)


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

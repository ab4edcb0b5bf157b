"""Building real asset proof bundles for the verifier tests: a lot's history signed with fresh
keys, each batch anchored in a real ``CarbonAnchor`` on the dev chain (one block per batch),
with the anchored ``program.issuer_set`` and ``enterprise.signer_set`` events naming the keys.

The standard history: the CEA issuer key issues 1000 serials to ENTERPRISE_A, A transfers the
first 400 to ENTERPRISE_B, B accepts them, and B retires the first 150 of those — four
batches, four blocks.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import coincurve
import rfc8785
from eth_account.signers.local import LocalAccount

from anchoring.anchor_contract import AnchorContract, AnchorReceipt
from anchoring.batching import BuiltBatch, PendingLeaf, build_batch
from tests.verifier.failures import CHECK_OF, is_failure
from tests.verifier.record_bundle_factory import DEV_CHAIN_ID, address_of, new_key
from verifier.checks.asset import ASSET_CHECKS, AssetVerificationResult, verify_asset
from verifier.checks.kernel import CheckStatus
from verifier.errors import VerificationFailure
from verifier.formats.asset import AssetProofBundle
from verifier.protocol.asset_ops import (
    ZERO_PREV,
    AssetOperation,
    asset_operation_digest,
    asset_operation_leaf,
    sign_asset_operation,
)
from verifier.protocol.keccak import keccak256
from verifier.protocol.leaves import LeafKind, leaf_hash
from verifier.protocol.typed_data import Domain

ENTERPRISE_A = "88.118.8/ENT-0001"
ENTERPRISE_B = "88.118.8/ENT-0002"
ASSET = "88.118.8/CL-AST-2025CEA0001"
PROGRAM, VINTAGE, SERIAL_PREFIX = "CEA", 2025, "CN-CEA-2025-"
LOT_FIRST, LOT_LAST = 1_000_001, 1_001_000
TRANSFER_FIRST, TRANSFER_LAST = 1_000_001, 1_000_400  # A → B
RETIRE_FIRST, RETIRE_LAST = 1_000_001, 1_000_150  # by B
SIGNED_AT = 1_767_225_600  # 2026-01-01T00:00:00Z; operation i is signed i hours later
# Where each step of the standard history sits in the bundle's operations.
ISSUE_AT, TRANSFER_AT, ACCEPT_AT, RETIRE_AT = 0, 1, 2, 3


@dataclass(frozen=True)
class IssuerSet:
    """``key`` is named as the issuer key of ``program`` (a registry event)."""

    program: str
    key: coincurve.PrivateKey


@dataclass(frozen=True)
class SignerSet:
    """The ledger names ``key`` as ``enterprise``'s asset-signing key (a registry event)."""

    enterprise: str
    key: coincurve.PrivateKey


@dataclass(frozen=True)
class Op:
    """One operation of the lot; ``prev`` is linked to the previous ``Op`` automatically.
    ``key`` overrides the owner's current key; ``changes`` overrides any AssetOperation field."""

    action: str
    owner: str
    first: int
    last: int
    recipient: str = ""
    reference: str = ""
    key: coincurve.PrivateKey | None = None  # default: the issuer's for an issue, else owner's
    changes: Mapping[str, Any] = field(default_factory=dict)


Step = IssuerSet | SignerSet | Op


@dataclass(frozen=True)
class AssetCase:
    """A bundle and what built it: the operations in order, their signatures, digests and the
    blocks their batches were anchored in."""

    bundle: AssetProofBundle
    domain: Domain
    ops: tuple[AssetOperation, ...]
    signatures: tuple[bytes, ...]
    digests: tuple[bytes, ...]
    blocks: tuple[int, ...]
    keys: dict[str, coincurve.PrivateKey]  # each enterprise's (and "issuer:<program>") key


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def signer_event(
    subject: str, key: coincurve.PrivateKey, kind: str = "enterprise.signer_set"
) -> dict[str, Any]:
    return {
        "format": "carbon-ledger/registry-event",
        "version": 1,
        "type": kind,
        "subject": subject,
        "at": SIGNED_AT,
        "signer": address_of(key),
    }


def standard_history(
    key_a: coincurve.PrivateKey,
    key_b: coincurve.PrivateKey,
    issuer: coincurve.PrivateKey | None = None,
) -> list[list[Step]]:
    """The issuer issues to A, A transfers 400 to B, B accepts, B retires 150: one batch
    each."""
    return [
        [
            IssuerSet(PROGRAM, issuer or new_key()),
            SignerSet(ENTERPRISE_A, key_a),
            SignerSet(ENTERPRISE_B, key_b),
            Op("issue", ENTERPRISE_A, LOT_FIRST, LOT_LAST, reference="MEE-CEA-2025-ISSUE-0001"),
        ],
        [
            Op(
                "transfer",
                ENTERPRISE_A,
                TRANSFER_FIRST,
                TRANSFER_LAST,
                recipient=ENTERPRISE_B,
                reference="contract 2026-17",
            )
        ],
        [Op("accept", ENTERPRISE_B, TRANSFER_FIRST, TRANSFER_LAST)],
        [Op("retire", ENTERPRISE_B, RETIRE_FIRST, RETIRE_LAST, reference="green loan GL-2026-3")],
    ]


def holding_claim(holder: str, first: int, last: int) -> dict[str, Any]:
    return {"type": "holding", "asset": ASSET, "holder": holder, "first": first, "last": last}


def retirement_claim(holder: str, first: int, last: int, operation: bytes) -> dict[str, Any]:
    return holding_claim(holder, first, last) | {"type": "retirement", "operation": _hex(operation)}


# What A keeps of the standard history: the serials after those it sent to B.
KEPT_BY_A = holding_claim(ENTERPRISE_A, TRANSFER_LAST + 1, LOT_LAST)


@dataclass
class _Builder:
    """Turns steps into signed operations and leaves, batch by batch."""

    domain: Domain
    keys: dict[str, coincurve.PrivateKey] = field(default_factory=dict)
    ops: list[tuple[AssetOperation, bytes]] = field(default_factory=list)

    def operation(self, step: Op) -> tuple[AssetOperation, bytes]:
        prev = asset_operation_digest(self.domain, self.ops[-1][0]) if self.ops else ZERO_PREV
        op = AssetOperation(
            action=step.action,
            asset=ASSET,
            program=PROGRAM,
            vintage=VINTAGE,
            serial_prefix=SERIAL_PREFIX,
            first=step.first,
            last=step.last,
            owner=step.owner,
            recipient=step.recipient,
            prev=prev,
            reference=step.reference,
            timestamp=SIGNED_AT + 3600 * len(self.ops),
        )
        op = replace(op, **step.changes)
        signer = (
            step.key or self.keys[f"issuer:{op.program}" if op.action == "issue" else step.owner]
        )
        signature = sign_asset_operation(signer, self.domain, op)
        self.ops.append((op, signature))
        return op, signature

    def leaf(self, step: Step) -> tuple[PendingLeaf, dict[str, Any]]:
        """The pending leaf of ``step`` and the parts of its bundle entry known before anchoring."""
        if isinstance(step, IssuerSet | SignerSet):
            if isinstance(step, IssuerSet):
                self.keys[f"issuer:{step.program}"] = step.key
                event = signer_event(step.program, step.key, "program.issuer_set")
            else:
                self.keys[step.enterprise] = step.key
                event = signer_event(step.enterprise, step.key)
            digest = keccak256(rfc8785.dumps(event))
            hashed = leaf_hash(LeafKind.REGISTRY_EVENT, digest, bytes(32))
            leaf = {"kind": 3, "digest": _hex(digest), "aux": _hex(bytes(32)), "hash": _hex(hashed)}
            return PendingLeaf(0, LeafKind.REGISTRY_EVENT, hashed), {"event": event, "leaf": leaf}
        op, signature = self.operation(step)
        built = asset_operation_leaf(self.domain, op, signature)
        entry = {
            "operation": op.to_message(),
            "signature": _hex(signature),
            "leaf": {
                "kind": 5,
                "digest": _hex(built.digest),
                "aux": _hex(built.aux),
                "hash": _hex(built.hash()),
            },
        }
        # As in the ledger: asset operations sit in the manifest section of no enterprise.
        pending = PendingLeaf(0, LeafKind.ASSET_OPERATION, built.hash())
        return pending, entry


def _location(receipt: AnchorReceipt, chain_id: int, contract: str) -> dict[str, Any]:
    return {
        "chainId": chain_id,
        "contract": contract,
        "batchId": receipt.batch_id,
        "txHash": receipt.tx_hash,
        "blockNumber": receipt.block_number,
        "blockHash": receipt.block_hash,
        "logIndex": receipt.log_index,
    }


def _batch_json(batch: BuiltBatch) -> dict[str, Any]:
    # Asset operations and registry events sit in the section of no enterprise.
    return batch.batch_json(None).model_dump(mode="json", by_alias=True)


def _build_batch(builder: _Builder, steps: Sequence[Step]) -> tuple[BuiltBatch, list[Any]]:
    """Each step's leaf plus an unrelated ledger-entry leaf, so no path is empty."""
    made = [builder.leaf(step) for step in steps]
    filler = leaf_hash(LeafKind.LEDGER_ENTRY, secrets.token_bytes(32), bytes(32))
    pending = [replace(p, id=i) for i, (p, _) in enumerate(made)]
    pending.append(PendingLeaf(len(pending), LeafKind.LEDGER_ENTRY, filler))
    return build_batch(pending), made


def build_case(
    anchor: AnchorContract,
    operator: LocalAccount,
    batches: Sequence[Sequence[Step]],
    claim: Mapping[str, Any],
    *,
    chain_id: int = DEV_CHAIN_ID,
    contract: str | None = None,
    domain: Domain | None = None,
    anchor_order: Sequence[int] | None = None,
) -> AssetCase:
    """Sign and anchor ``batches`` (one anchor transaction each, in ``anchor_order``, default
    as given) and bundle every operation and signer event with ``claim``. ``chain_id`` and
    ``contract`` are the anchor location the bundle states (default: the real one)."""
    contract = contract or anchor.address
    builder = _Builder(domain or Domain(chain_id, contract))
    built = [_build_batch(builder, steps) for steps in batches]
    entries: dict[tuple[int, int], dict[str, Any]] = {}
    for b in anchor_order or range(len(built)):
        batch, made = built[b]
        receipt = anchor.anchor(operator, batch.root, batch.tree.leaf_count, batch.manifest_hash)
        for i, (pending, entry) in enumerate(made):
            path = batch.tree.get_proof(batch.tree.find_leaf(pending.hash))
            entries[b, i] = entry | {
                "proof": [_hex(node) for node in path],
                "batch": _batch_json(batch),
                "anchor": _location(receipt, chain_id, contract),
            }
    in_order = [entries[key] for key in sorted(entries)]
    bundle = AssetProofBundle.model_validate(
        {
            "format": "carbon-ledger/asset-proof",
            "version": 2,
            "claim": dict(claim),
            "domain": {
                "chainId": builder.domain.chain_id,
                "verifyingContract": builder.domain.verifying_contract,
            },
            "operations": [e for e in in_order if "operation" in e],
            "signers": [e for e in in_order if "event" in e],
        }
    )
    ops = tuple(op for op, _ in builder.ops)
    return AssetCase(
        bundle=bundle,
        domain=builder.domain,
        ops=ops,
        signatures=tuple(sig for _, sig in builder.ops),
        digests=tuple(asset_operation_digest(builder.domain, op) for op in ops),
        blocks=tuple(e["anchor"]["blockNumber"] for e in in_order if "operation" in e),
        keys=dict(builder.keys),
    )


def make_asset_case(
    anchor: AnchorContract,
    operator: LocalAccount,
    claim: Mapping[str, Any] | None = None,
    **options: Any,
) -> AssetCase:
    """The standard history, claiming by default that A holds what it kept (401..1000)."""
    claim = claim or KEPT_BY_A
    batches = standard_history(new_key(), new_key())
    return build_case(anchor, operator, batches, claim, **options)


def tamper(bundle: AssetProofBundle, change: Callable[[dict[str, Any]], None]) -> AssetProofBundle:
    """A copy of ``bundle`` with ``change`` applied to its JSON form, parsed again."""
    data = copy.deepcopy(bundle.to_json())
    change(data)
    return AssetProofBundle.model_validate(data)


def with_claim(claim: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.update(claim=claim)


def offline(bundle: AssetProofBundle) -> AssetVerificationResult:
    """Verify without a chain; a result is valid exactly when it names no failure."""
    result = verify_asset(bundle, None)
    assert result.valid == (result.failure is None)
    return result


def fails(bundle: AssetProofBundle, code: str) -> VerificationFailure:
    """Verify offline; the failure must be exactly ``code`` at its check, and later checks
    must not run."""
    result = offline(bundle)
    assert is_failure(result.failure, code), result.failure
    assert result.failure is not None
    names = [c.name for c in result.checks]
    assert names == list(ASSET_CHECKS)
    after = names.index(CHECK_OF[code]) + 1
    assert {c.status for c in result.checks[after:]} <= {CheckStatus.NOT_RUN}
    return result.failure

"""Building real record proof bundles for the verifier tests: signed with fresh keys, put in a
batch with other leaves, and anchored in a real ``CarbonAnchor`` on the dev chain."""

from __future__ import annotations

import copy
import secrets
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import coincurve
import rfc8785
from eth_account.signers.local import LocalAccount

from anchoring.anchor_contract import AnchorContract
from anchoring.batching import PendingLeaf, build_batch
from verifier.formats.record import (
    AnchorLocation,
    BatchJson,
    DeviceRange,
    EnterpriseCount,
    LeafJson,
    Manifest,
    RecordProofBundle,
    RegistryProofJson,
)
from verifier.protocol.keccak import keccak256, to_checksum_address
from verifier.protocol.leaves import LeafKind, activity_record_leaf, leaf_hash
from verifier.protocol.registry_ops import (
    RegistryOperation,
    event_digest,
    sign_registry_operation,
    signed_event,
)
from verifier.protocol.typed_data import (
    ActivityRecord,
    Domain,
    attributes_hash,
    sign_record,
    typed_data,
)

DEV_CHAIN_ID = 1337
ENTERPRISE = "88.118.8/ENT-0001"
ATTRIBUTES = {"meter": "M-17", "calibratedOn": "2024-03-01", "lossFactor": "0.985"}


def unused_port() -> int:
    """A loopback port nobody listens on right now (for "endpoint unreachable" cases)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_key() -> coincurve.PrivateKey:
    return coincurve.PrivateKey(secrets.token_bytes(32))


def address_of(key: coincurve.PrivateKey) -> str:
    return to_checksum_address(keccak256(key.public_key.format(compressed=False)[1:])[12:])


def make_record(
    device: str, seq: int, quantity: int = 125_000, attrs: bool = True
) -> ActivityRecord:
    return ActivityRecord(
        enterprise=ENTERPRISE,
        source=f"{ENTERPRISE}/SRC-KILN-1",
        device=device,
        seq=seq,
        activity="fuel.natural_gas",
        quantity=quantity,
        decimals=3,
        unit="m3",
        period_start=1_700_000_000 + 900 * seq,
        period_end=1_700_000_900 + 900 * seq,
        attributes_hash=attributes_hash(ATTRIBUTES if attrs else None),
    )


@dataclass(frozen=True)
class Case:
    """A bundle for the record at ``seq`` 5 of ``key``'s device, and a neighbour's signature."""

    bundle: RecordProofBundle
    key: coincurve.PrivateKey
    domain: Domain
    neighbour_signature: bytes


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def registration_event(device: str, source: str) -> dict[str, Any]:
    """The ledger's registry event binding ``device`` to ``source`` of ENTERPRISE."""
    return {
        "format": "carbon-ledger/registry-event",
        "version": 1,
        "type": "device.registered",
        "subject": device,
        "at": 1_767_225_600,
        "enterprise": ENTERPRISE,
        "sources": [source],
        "metadata": None,
    }


def enrolment_event(signer: str) -> dict[str, Any]:
    """The registrar's enrolment of ENTERPRISE naming its signer key: the chain's index 0."""
    return {
        "format": "carbon-ledger/registry-event",
        "version": 1,
        "type": "enterprise.registered",
        "subject": ENTERPRISE,
        "at": 1_767_225_600,
        "enterprise": ENTERPRISE,
        "index": 0,
        "prev": "0x" + "00" * 32,
        "signer": signer,
        "name": "Kiln works",
        "industry": "flat_glass",
        "region": None,
        "metadata": None,
    }


def signed_operation(
    key: coincurve.PrivateKey,
    domain: Domain,
    prev: dict[str, Any],
    action: str,
    subject: str,
    details: dict[str, Any],
) -> dict[str, Any]:
    """ENTERPRISE's operation after ``prev``, signed with ``key``, as the event the ledger
    records for it."""
    op = RegistryOperation(
        action,
        ENTERPRISE,
        subject,
        rfc8785.dumps(details).decode(),
        prev["index"] + 1,
        event_digest(prev),
        1_577_836_800,
    )
    return signed_event(op, sign_registry_operation(key, domain, op))


def signed_chain(
    key: coincurve.PrivateKey, domain: Domain, device: str, source: str
) -> list[dict[str, Any]]:
    """ENTERPRISE's registry chain: enrolment naming ``key``, then its signed registration of
    ``source`` and of ``device`` bound to it."""
    chain = [enrolment_event(address_of(key))]
    source_details = {"name": "Kiln 1", "metadata": None}
    chain.append(
        signed_operation(key, domain, chain[-1], "source.registered", source, source_details)
    )
    device_details = {"firstSeq": 1, "metadata": None, "sources": [source]}
    chain.append(
        signed_operation(key, domain, chain[-1], "device.registered", device, device_details)
    )
    return chain


def legacy_manifest(leaves: list[PendingLeaf]) -> dict[str, Any]:
    """The v1 manifest a ledger wrote before sections: the whole batch, every tenant."""
    seqs: dict[str, list[int]] = {}
    for leaf in leaves:
        if leaf.device is not None and leaf.seq is not None:
            seqs.setdefault(leaf.device, []).append(leaf.seq)
    kinds = Counter(leaf.kind for leaf in leaves)
    owners = Counter(leaf.enterprise for leaf in leaves if leaf.enterprise is not None)
    manifest = Manifest(
        leafCount=len(leaves),
        kinds={str(k): n for k, n in sorted(kinds.items())},
        devices=tuple(
            DeviceRange(device=d, firstSeq=min(s), lastSeq=max(s), count=len(s))
            for d, s in sorted(seqs.items())
        ),
        enterprises=tuple(
            EnterpriseCount(enterprise=e, count=n) for e, n in sorted(owners.items())
        ),
    )
    return manifest.model_dump(mode="json", by_alias=True)


def make_case(
    anchor: AnchorContract,
    operator: LocalAccount,
    *,
    domain: Domain | None = None,
    chain_id: int = DEV_CHAIN_ID,
    contract: str | None = None,
    key: coincurve.PrivateKey | None = None,
    legacy: bool = False,
) -> Case:
    """Sign seq 3..6 of one device plus a second device's record and a ledger-entry leaf,
    anchor the batch through ``anchor``, and bundle seq 5. ``chain_id``/``contract`` set the
    bundle's anchor location (default: the real one); ``domain`` defaults to match them.
    ``legacy``: anchor a v1 (flat) manifest, as before sections, in a v1 bundle."""
    contract = contract or anchor.address
    domain = domain or Domain(chain_id, contract)
    key, other_key = key or new_key(), new_key()
    device, other = address_of(key), address_of(other_key)
    signed = [(make_record(device, s), key) for s in (3, 4, 5, 6)]
    signed.append((make_record(other, 1, attrs=False), other_key))
    pending, signatures = [], []
    for i, (record, signer) in enumerate(signed):
        signature = sign_record(signer, domain, record)
        signatures.append(signature)
        leaf = activity_record_leaf(domain, record, signature)
        pending.append(
            PendingLeaf(
                i,
                LeafKind.ACTIVITY_RECORD,
                leaf.hash(),
                device=record.device,
                seq=record.seq,
                enterprise=record.enterprise,
            )
        )
    entry = leaf_hash(LeafKind.LEDGER_ENTRY, secrets.token_bytes(32), bytes(32))
    pending.append(PendingLeaf(len(pending), LeafKind.LEDGER_ENTRY, entry, enterprise=ENTERPRISE))
    # v2: the enterprise's signed chain (enrolment, then its signed registration of the
    # terminal); v1 predates it and carries the ledger's unsigned registration.
    chain = signed_chain(new_key(), domain, device, signed[0][0].source)
    event = registration_event(device, signed[0][0].source) if legacy else chain[-1]
    for body in [event] if legacy else chain:
        event_leaf = leaf_hash(LeafKind.REGISTRY_EVENT, keccak256(rfc8785.dumps(body)), bytes(32))
        pending.append(PendingLeaf(len(pending), LeafKind.REGISTRY_EVENT, event_leaf))
    batch = build_batch(pending)
    flat = legacy_manifest(pending)
    manifest_hash = keccak256(rfc8785.dumps(flat)) if legacy else batch.manifest_hash
    receipt = anchor.anchor(operator, batch.root, batch.tree.leaf_count, manifest_hash)
    record, signature = signed[2][0], signatures[2]
    leaf = activity_record_leaf(domain, record, signature)
    proof = batch.tree.get_proof(batch.tree.find_leaf(leaf.hash()))
    batch_json = batch.batch_json(record.enterprise)
    event_batch = batch.batch_json(None)
    if legacy:
        batch_json = event_batch = BatchJson(
            root=_hex(batch.root),
            leafCount=batch.tree.leaf_count,
            manifestHash=_hex(manifest_hash),
            manifest=flat,
        )
    location = AnchorLocation(
        chainId=chain_id,
        contract=contract,
        batchId=receipt.batch_id,
        txHash=receipt.tx_hash,
        blockNumber=receipt.block_number,
        blockHash=receipt.block_hash,
        logIndex=receipt.log_index,
    )

    def proven(body: dict[str, Any]) -> RegistryProofJson:
        digest = keccak256(rfc8785.dumps(body))
        hashed = leaf_hash(LeafKind.REGISTRY_EVENT, digest, bytes(32))
        return RegistryProofJson(
            event=body,
            leaf=LeafJson(kind=3, digest=_hex(digest), aux=_hex(bytes(32)), hash=_hex(hashed)),
            proof=tuple(_hex(n) for n in batch.tree.get_proof(batch.tree.find_leaf(hashed))),
            batch=event_batch,
            anchor=location,
        )

    bundle = RecordProofBundle(
        version=1 if legacy else 2,
        authorization=(proven(event),),
        registry=None if legacy else tuple(proven(body) for body in chain),
        typedData=typed_data(domain, record),
        signature=_hex(signature),
        attributes=ATTRIBUTES,
        leaf=LeafJson(kind=1, digest=_hex(leaf.digest), aux=_hex(leaf.aux), hash=_hex(leaf.hash())),
        proof=tuple(_hex(node) for node in proof),
        batch=batch_json,
        anchor=location,
    )
    return Case(bundle, key, domain, signatures[1])


def tamper(
    bundle: RecordProofBundle, change: Callable[[dict[str, Any]], None]
) -> RecordProofBundle:
    """A copy of ``bundle`` with ``change`` applied to its JSON form, parsed again."""
    data = copy.deepcopy(bundle.to_json())
    change(data)
    return RecordProofBundle.model_validate(data)

"""Building proof bundles (``docs/proof-format.md``) from the database."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from anchoring.batching import proven_section
from ledger_api.core.errors import ApiError, not_found
from ledger_api.core.models import (
    ActivityRecordRow,
    AnchorBatch,
    BatchTree,
    Device,
    EmissionSource,
    Enterprise,
    LeafRow,
    RegistryEvent,
)
from verifier.formats.record import (
    AnchorLocation,
    BatchJson,
    LeafJson,
    Manifest,
    RecordProofBundle,
    RegistryProofJson,
    SectionedManifest,
)
from verifier.protocol.events import DEVICE_REGISTERED
from verifier.protocol.merkle import MerkleTree
from verifier.protocol.typed_data import ActivityRecord, Domain, typed_data


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


@lru_cache(maxsize=8)
def load_tree(engine: Engine, batch_id: int) -> MerkleTree:
    """Batch trees are immutable once stored, so a few recent ones are kept in memory."""
    with Session(engine) as session:
        nodes = session.scalar(select(BatchTree.nodes).where(BatchTree.batch_id == batch_id))
    assert nodes is not None
    return MerkleTree.from_bytes(nodes, validate=False)


def confirmed_batch(session: Session, batch_id: int | None, what: str) -> AnchorBatch:
    batch = session.get(AnchorBatch, batch_id) if batch_id is not None else None
    if batch is None or batch.status != "confirmed":
        raise ApiError(409, "not_anchored", f"{what} is not anchored yet; retry after anchoring")
    return batch


def stored_manifest(batch: AnchorBatch) -> Manifest | SectionedManifest:
    """The batch's manifest as stored: v1 (flat, batches anchored before sections) or v2."""
    data = json.loads(batch.manifest)
    if data.get("version") == 1:
        return Manifest.model_validate(data)
    return SectionedManifest.model_validate(data)


def batch_json(batch: AnchorBatch, section: str | None) -> BatchJson:
    """The batch as a bundle states it, for a leaf of ``section`` (an enterprise identifier;
    None for leaves of no enterprise): that section and its path only. A v1 batch has no
    sections; its whole manifest is the only thing its anchored hash can check."""
    manifest = stored_manifest(batch)
    head = {"root": batch.root, "leafCount": batch.leaf_count, "manifestHash": batch.manifest_hash}
    if isinstance(manifest, Manifest):
        return BatchJson(**head, manifest=manifest)
    found, path = proven_section(manifest, section)
    return BatchJson(**head, section=found, sectionProof=tuple(_hex(p) for p in path))


def anchor_location(batch: AnchorBatch) -> AnchorLocation:
    return AnchorLocation(
        chainId=batch.chain_id,
        contract=batch.contract,
        batchId=batch.chain_batch_id,
        txHash=batch.tx_hash,
        blockNumber=batch.block_number,
        blockHash=batch.block_hash,
        logIndex=batch.log_index,
    )


def record_proof(
    session: Session, engine: Engine, domain: Domain, digest: str
) -> RecordProofBundle:
    """The proof bundle of one stored, anchored activity record."""
    row = session.scalar(select(ActivityRecordRow).where(ActivityRecordRow.digest == digest))
    if row is None:
        raise not_found("record", digest)
    leaf = session.scalar(select(LeafRow).where(LeafRow.hash == row.leaf_hash))
    assert leaf is not None
    batch = confirmed_batch(session, leaf.batch_id, f"record {digest}")
    tree = load_tree(engine, batch.id)
    proof = tree.get_proof(tree.find_leaf(bytes.fromhex(leaf.hash[2:])))
    device = session.get(Device, row.device_id)
    assert device is not None
    record = to_record(session, row)
    return RecordProofBundle(
        authorization=terminal_registry(session, engine, device.address),
        registry=enterprise_chain(session, engine, record.enterprise),
        typedData=typed_data(domain, record),
        signature=row.signature,
        attributes=json.loads(row.attributes) if row.attributes else None,
        leaf=LeafJson(kind=leaf.kind, digest=leaf.digest, aux=leaf.aux, hash=leaf.hash),
        proof=tuple(_hex(p) for p in proof),
        batch=batch_json(batch, record.enterprise),
        anchor=anchor_location(batch),
    )


def registry_proofs(
    session: Session, engine: Engine, subject: str, types: tuple[str, ...] | None = None
) -> tuple[RegistryProofJson, ...]:
    """The anchored registry events about ``subject`` (of ``types``, when given), each with
    its inclusion proof."""
    query = (
        select(RegistryEvent, LeafRow)
        .join(LeafRow, LeafRow.hash == RegistryEvent.leaf_hash)
        .where(RegistryEvent.subject == subject)
        .order_by(RegistryEvent.id)
    )
    if types is not None:
        query = query.where(RegistryEvent.type.in_(types))  # type: ignore[attr-defined]
    found = session.execute(query)
    proofs = []
    for event, leaf in found:
        included = inclusion(session, engine, leaf, f"registry event {event.digest}")
        proofs.append(RegistryProofJson(event=json.loads(event.body), **included))
    return tuple(proofs)


def enterprise_chain(
    session: Session, engine: Engine, identifier: str
) -> tuple[RegistryProofJson, ...]:
    """The enterprise's signed registry chain, enrolment first, up to its last anchored event
    (a later one is not yet provable; the chain is anchored in order, so this covers every
    event about a terminal that its anchored records could follow). Empty for an enterprise
    enrolled without a signer key: the verifier then fails ``registry-signatures``."""
    query = (
        select(RegistryEvent, LeafRow)
        .join(LeafRow, LeafRow.hash == RegistryEvent.leaf_hash)
        .join(Enterprise, Enterprise.id == RegistryEvent.enterprise_id)
        .where(
            Enterprise.identifier == identifier,
            RegistryEvent.chain_index.is_not(None),  # type: ignore[union-attr]
        )
        .order_by(RegistryEvent.chain_index)
    )
    proofs = []
    for event, leaf in session.execute(query):
        if leaf.batch_id is None:
            break
        included = inclusion(session, engine, leaf, f"registry event {event.digest}")
        proofs.append(RegistryProofJson(event=json.loads(event.body), **included))
    return tuple(proofs)


def terminal_registry(
    session: Session, engine: Engine, address: str
) -> tuple[RegistryProofJson, ...]:
    """The terminal's anchored registry events; 409 ``registry_event_missing`` when none of
    them is its registration (no proof can then show the key was allowed to sign)."""
    proofs = registry_proofs(session, engine, address)
    if not any(p.event.get("type") == DEVICE_REGISTERED for p in proofs):
        raise registry_event_missing(address)
    return proofs


def registry_event_missing(address: str) -> ApiError:
    return ApiError(
        409,
        "registry_event_missing",
        f"terminal {address} has no registration event in the registry: its records cannot "
        "be proven authorised",
        "device",
    )


def inclusion(
    session: Session, engine: Engine, leaf: LeafRow, what: str, section: str | None = None
) -> dict[str, Any]:
    """The leaf, its Merkle path, its batch (with the manifest section of ``section``, the
    leaf's enterprise, or of no enterprise) and where the batch is anchored (409 until then)."""
    batch = confirmed_batch(session, leaf.batch_id, what)
    tree = load_tree(engine, batch.id)
    path = tree.get_proof(tree.find_leaf(bytes.fromhex(leaf.hash[2:])))
    return {
        "leaf": LeafJson(kind=leaf.kind, digest=leaf.digest, aux=leaf.aux, hash=leaf.hash),
        "proof": tuple(_hex(p) for p in path),
        "batch": batch_json(batch, section),
        "anchor": anchor_location(batch),
    }


def to_record(session: Session, row: ActivityRecordRow) -> ActivityRecord:
    """The signed record as the terminal signed it, rebuilt from its row."""
    enterprise = session.get(Enterprise, row.enterprise_id)
    source = session.get(EmissionSource, row.source_id)
    device = session.get(Device, row.device_id)
    assert enterprise and source and device
    return record_from_row(row, enterprise.identifier, source.identifier, device.address)


def record_from_row(
    row: ActivityRecordRow, enterprise: str, source: str, device: str
) -> ActivityRecord:
    """The signed record from its row and the identifiers its foreign keys point at."""
    return ActivityRecord(
        enterprise=enterprise,
        source=source,
        device=device,
        seq=row.seq,
        activity=row.activity,
        quantity=int(row.quantity),
        decimals=row.decimals,
        unit=row.unit,
        period_start=row.period_start,
        period_end=row.period_end,
        attributes_hash=bytes.fromhex(row.attributes_hash[2:]),
    )

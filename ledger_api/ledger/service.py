"""Reading anchored batches: a batch with its manifest and anchor, and its whole tree.
(Writing them is the anchoring worker's: ``anchor_store``.)

A batch mixes enterprises. Who sees every enterprise sees the whole manifest and tree; any
other caller sees a batch only when it holds a section of an enterprise the caller sees, and
then only those sections. Anything else is answered as a batch that does not exist.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from anchoring.batching import proven_section, section_tree
from ledger_api.core.errors import NotFoundError, not_found
from ledger_api.core.models import AnchorBatch, LeafRow
from ledger_api.ledger.proofs import anchor_location, confirmed_batch, load_tree, stored_manifest
from ledger_api.ledger.schemas import BatchOut, ProvenSection, TreeOut, TreeValue
from verifier.formats.record import Manifest, SectionedManifest
from verifier.protocol.leaves import LEAF_ENCODING
from verifier.protocol.typed_data import Domain


def _sections(manifest: SectionedManifest, visible: frozenset[str]) -> list[ProvenSection]:
    tree = section_tree(manifest)
    mine = [s.enterprise for s in manifest.sections if s.enterprise in visible]
    return [
        ProvenSection(section=section, section_proof=["0x" + p.hex() for p in path])
        for section, path in (proven_section(manifest, e, tree) for e in mine)
    ]


def batch_view(session: Session, batch_id: int, visible: frozenset[str] | None) -> BatchOut:
    """A batch: status, root, the manifest (or the sections of ``visible`` enterprises; None:
    all) and, once confirmed, where it sits on chain. 404 when the caller may see none of it."""
    batch = session.get(AnchorBatch, batch_id)
    if batch is None or batch.id is None:
        raise not_found("batch", str(batch_id))
    manifest = stored_manifest(batch)
    sections: list[ProvenSection] | None = None
    # A v1 manifest names every tenant and cannot be cut: only the auditors see it.
    if visible is not None and (
        isinstance(manifest, Manifest) or not (sections := _sections(manifest, visible))
    ):
        raise not_found("batch", str(batch_id))
    return BatchOut(
        id=batch.id,
        status=batch.status,
        root=batch.root,
        leaf_count=batch.leaf_count,
        manifest_hash=batch.manifest_hash,
        manifest=manifest if visible is None else None,
        sections=sections,
        anchor=anchor_location(batch) if batch.status == "confirmed" else None,
    )


def batch_by_root(session: Session, root: str, visible: frozenset[str] | None) -> BatchOut:
    """:func:`batch_view` of the batch anchoring ``root`` (lower-case hex)."""
    batch_id = session.scalar(select(AnchorBatch.id).where(AnchorBatch.root == root))
    if batch_id is None:
        raise not_found("batch", root)
    try:
        return batch_view(session, batch_id, visible)
    except NotFoundError:
        raise not_found("batch", root) from None  # named by what was asked, as when absent


def batch_by_chain_id(
    session: Session, domain: Domain, chain_batch_id: int, visible: frozenset[str] | None
) -> BatchOut:
    """:func:`batch_view` of the batch the anchor contract numbered ``chain_batch_id`` (its
    0-based ``batchId``, which bundles carry). Only confirmed batches have one; numbers are
    the contract's own, so the lookup is held to the deployment the ledger serves."""
    batch_id = session.scalar(
        select(AnchorBatch.id).where(
            AnchorBatch.chain_batch_id == chain_batch_id,
            AnchorBatch.chain_id == domain.chain_id,
            # Stored as the deployment record spells it; compared without regard to case.
            func.lower(AnchorBatch.contract) == domain.verifying_contract.lower(),
        )
    )
    if batch_id is None:
        raise not_found("batch", str(chain_batch_id))
    try:
        return batch_view(session, batch_id, visible)
    except NotFoundError:
        raise not_found("batch", str(chain_batch_id)) from None  # as when absent


def batch_tree(session: Session, engine: Engine, batch_id: int) -> TreeOut:
    """The whole tree of a confirmed batch as an OpenZeppelin ``standard-v1`` dump."""
    if session.get(AnchorBatch, batch_id) is None:
        raise not_found("batch", str(batch_id))
    batch = confirmed_batch(session, batch_id, f"batch {batch_id}")
    tree = load_tree(engine, batch.id)
    leaves = session.execute(
        select(LeafRow.kind, LeafRow.digest, LeafRow.aux, LeafRow.hash).where(
            LeafRow.batch_id == batch_id
        )
    )
    values = [
        TreeValue(value=[str(kind), digest, aux], treeIndex=tree.find_leaf(bytes.fromhex(h[2:])))
        for kind, digest, aux, h in leaves
    ]
    values.sort(key=lambda v: v.treeIndex, reverse=True)
    nodes = tree.to_bytes()
    return TreeOut(
        format="standard-v1",
        leafEncoding=list(LEAF_ENCODING),
        tree=["0x" + nodes[i : i + 32].hex() for i in range(0, len(nodes), 32)],
        values=values,
    )

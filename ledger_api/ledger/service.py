"""Reading anchored batches: a batch with its manifest and anchor, and its whole tree.
(Writing them is the anchoring worker's: ``anchor_store``.)"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ledger_api.core.errors import not_found
from ledger_api.core.models import AnchorBatch, LeafRow
from ledger_api.ledger.proofs import anchor_location, batch_json, confirmed_batch, load_tree
from ledger_api.ledger.schemas import BatchOut, TreeOut, TreeValue
from verifier.protocol.leaves import LEAF_ENCODING


def batch_view(session: Session, batch_id: int) -> BatchOut:
    """A batch: status, root, manifest and, once confirmed, where it sits on chain."""
    batch = session.get(AnchorBatch, batch_id)
    if batch is None or batch.id is None:
        raise not_found("batch", str(batch_id))
    summary = batch_json(batch)
    return BatchOut(
        id=batch.id,
        status=batch.status,
        root=summary.root,
        leaf_count=summary.leaf_count,
        manifest_hash=summary.manifest_hash,
        manifest=summary.manifest,
        anchor=anchor_location(batch) if batch.status == "confirmed" else None,
    )


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

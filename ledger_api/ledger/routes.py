"""Anchored batches: their on-chain location, manifest and whole tree.

Batches are for those who audit the ledger as a whole (admins, regulators, verifiers): a
manifest names every enterprise with leaves in the batch and counts them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy import select

from ledger_api.access.deps import Auditor
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.errors import not_found
from ledger_api.core.models import AnchorBatch, Leaf
from ledger_api.ledger.proofs import anchor_location, batch_json, confirmed_batch, load_tree
from verifier.protocol.leaves import LEAF_ENCODING

router = APIRouter(tags=["batches"])
# A database row id: 64-bit; larger numbers would overflow the query, not miss.
BatchId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/batches/{batch_id}")
def get_batch(batch_id: BatchId, session: SessionDep, _: Auditor) -> dict[str, Any]:
    """A batch: status, root, manifest and, once confirmed, where it sits on chain."""
    batch = session.get(AnchorBatch, batch_id)
    if batch is None:
        raise not_found("batch", str(batch_id))
    body: dict[str, Any] = {
        "id": batch.id,
        "status": batch.status,
        **batch_json(batch).model_dump(mode="json", by_alias=True),
    }
    if batch.status == "confirmed":
        body["anchor"] = anchor_location(batch).model_dump(mode="json", by_alias=True)
    return body


@router.get("/batches/{batch_id}/tree")
def get_batch_tree(
    batch_id: BatchId, session: SessionDep, context: Context, _: Auditor
) -> dict[str, Any]:
    """The whole tree as an OpenZeppelin ``standard-v1`` dump."""
    if session.get(AnchorBatch, batch_id) is None:
        raise not_found("batch", str(batch_id))
    batch = confirmed_batch(session, batch_id, f"batch {batch_id}")
    tree = load_tree(context.engine, batch.id)
    leaves = session.execute(
        select(Leaf.kind, Leaf.digest, Leaf.aux, Leaf.hash).where(Leaf.batch_id == batch_id)
    )
    values = [
        {"value": [str(kind), digest, aux], "treeIndex": tree.find_leaf(bytes.fromhex(h[2:]))}
        for kind, digest, aux, h in leaves
    ]
    values.sort(key=lambda v: v["treeIndex"], reverse=True)
    nodes = tree.to_bytes()
    return {
        "format": "standard-v1",
        "leafEncoding": list(LEAF_ENCODING),
        "tree": ["0x" + nodes[i : i + 32].hex() for i in range(0, len(nodes), 32)],
        "values": values,
    }

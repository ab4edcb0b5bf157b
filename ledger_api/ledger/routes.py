"""Anchored batches: their on-chain location, manifest and whole tree.

A manifest section names an enterprise's terminals and counts its leaves, so each caller
sees only the sections of the enterprises it sees (``service.batch_view``). The whole tree
lists every leaf of every tenant: it is for those who audit the ledger as a whole.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ledger_api.access.deps import Auditor, Overseer, visible_enterprises
from ledger_api.core.deps import Context, SessionDep
from ledger_api.core.schemas import MAX_ROW_ID, RowId
from ledger_api.ledger.schemas import BatchOut, TreeOut
from ledger_api.ledger.service import batch_by_chain_id, batch_by_root, batch_tree, batch_view

router = APIRouter(prefix="/v1/batches", tags=["batches"])
Root = Annotated[str, Path(pattern=r"^0x[0-9a-fA-F]{64}$")]
# The anchor contract's own batch number: 0-based, and stored in a column like a row id's.
ChainBatchId = Annotated[int, Path(ge=0, le=MAX_ROW_ID)]


@router.get("/by-root/{root}", response_model=BatchOut)
def get_batch_by_root(root: Root, session: SessionDep, caller: Auditor) -> BatchOut:
    """The batch anchoring ``root``, as ``GET /v1/batches/{id}`` answers it."""
    return batch_by_root(session, root.lower(), visible_enterprises(session, caller))


@router.get("/by-chain-id/{chain_batch_id}", response_model=BatchOut)
def get_batch_by_chain_id(
    chain_batch_id: ChainBatchId, session: SessionDep, context: Context, caller: Auditor
) -> BatchOut:
    """The batch the anchor contract numbered ``chain_batch_id`` (a bundle's
    ``anchor.batchId``, 0-based), as ``GET /v1/batches/{id}`` answers it."""
    visible = visible_enterprises(session, caller)
    return batch_by_chain_id(session, context.domain, chain_batch_id, visible)


@router.get("/{batch_id}", response_model=BatchOut)
def get_batch(batch_id: RowId, session: SessionDep, caller: Auditor) -> BatchOut:
    """A batch: status, root, manifest (or the caller's sections) and, once confirmed, where
    it sits on chain."""
    return batch_view(session, batch_id, visible_enterprises(session, caller))


@router.get("/{batch_id}/tree", response_model=TreeOut)
def get_batch_tree(batch_id: RowId, session: SessionDep, context: Context, _: Overseer) -> TreeOut:
    """The whole tree as an OpenZeppelin ``standard-v1`` dump (every tenant's leaves)."""
    return batch_tree(session, context.engine, batch_id)

"""Anchored batches: their on-chain location, manifest and whole tree.

Batches are for those who audit the ledger as a whole (admins, regulators, verifiers): a
manifest names every enterprise with leaves in the batch and counts them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ledger_api.access.deps import Auditor
from ledger_api.core.deps import Context, SessionDep
from ledger_api.ledger.schemas import BatchOut, TreeOut
from ledger_api.ledger.service import batch_tree, batch_view

router = APIRouter(prefix="/v1/batches", tags=["batches"])
# A database row id: 64-bit; larger numbers would overflow the query, not miss.
BatchId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/{batch_id}", response_model=BatchOut)
def get_batch(batch_id: BatchId, session: SessionDep, _: Auditor) -> BatchOut:
    """A batch: status, root, manifest and, once confirmed, where it sits on chain."""
    return batch_view(session, batch_id)


@router.get("/{batch_id}/tree", response_model=TreeOut)
def get_batch_tree(batch_id: BatchId, session: SessionDep, context: Context, _: Auditor) -> TreeOut:
    """The whole tree as an OpenZeppelin ``standard-v1`` dump."""
    return batch_tree(session, context.engine, batch_id)

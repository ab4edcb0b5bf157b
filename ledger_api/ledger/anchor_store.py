"""The anchoring worker's view of the database (implements ``anchoring.worker.BatchStore``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from anchoring.anchor_contract import AnchorReceipt, SignedAnchor
from anchoring.batching import BuiltBatch, PendingLeaf
from anchoring.worker import OpenBatch
from ledger_api.core.models import (
    ActivityRecordRow,
    AnchorBatch,
    BatchTree,
    Device,
    Enterprise,
    Evaluation,
    LeafRow,
)

CHUNK = 5_000


class LeafRaceError(RuntimeError):
    """Another worker took some of these leaves first; this batch was not stored."""


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


class SqlBatchStore:
    """Batches, trees and leaf assignments in the ledger database."""

    def __init__(self, engine: Engine, chain_id: int, contract: str) -> None:
        self.engine = engine
        self.chain_id = chain_id
        self.contract = contract

    def unanchored(self, limit: int) -> list[PendingLeaf]:
        """The next leaves to batch, each with its enterprise when it is that enterprise's own
        data (a record, an evaluation entry): the enterprise's manifest section holds it."""
        owner = func.coalesce(ActivityRecordRow.enterprise_id, Evaluation.enterprise_id)
        query = (
            select(
                LeafRow.id,
                LeafRow.kind,
                LeafRow.hash,
                Device.address,
                ActivityRecordRow.seq,
                Enterprise.identifier,
            )
            .outerjoin(ActivityRecordRow, ActivityRecordRow.leaf_hash == LeafRow.hash)
            .outerjoin(Device, Device.id == ActivityRecordRow.device_id)
            .outerjoin(Evaluation, Evaluation.leaf_hash == LeafRow.hash)
            .outerjoin(Enterprise, Enterprise.id == owner)
            .where(LeafRow.batch_id.is_(None), LeafRow.set_aside.is_(None))
            .order_by(LeafRow.id)
            .limit(limit)
        )
        with Session(self.engine) as session:
            return [
                PendingLeaf(id=i, kind=k, hash=bytes.fromhex(h[2:]), device=d, seq=s, enterprise=e)
                for i, k, h, d, s, e in session.execute(query)
            ]

    def create_batch(self, batch: BuiltBatch) -> int:
        """Store batch, tree and leaf assignment in one transaction."""
        with Session(self.engine) as session, session.begin():
            row = AnchorBatch(
                root=_hex(batch.root),
                leaf_count=len(batch.leaf_ids),
                manifest=batch.manifest_json.decode(),
                manifest_hash=_hex(batch.manifest_hash),
                chain_id=self.chain_id,
                contract=self.contract,
            )
            session.add(row)
            session.flush()
            session.execute(insert(BatchTree).values(batch_id=row.id, nodes=batch.tree.to_bytes()))
            ids = batch.leaf_ids
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                result = session.execute(
                    update(LeafRow)
                    .where(LeafRow.id.in_(chunk), LeafRow.batch_id.is_(None))
                    .values(batch_id=row.id)
                )
                if result.rowcount != len(chunk):
                    raise LeafRaceError("leaves were batched concurrently; retry the round")
            assert row.id is not None
            return row.id

    def set_aside(self, leaf_ids: Sequence[int], reason: str) -> None:
        """Keep leaves out of every later batch, with the reason, until an operator acts."""
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(LeafRow)
                .where(LeafRow.id.in_(leaf_ids), LeafRow.batch_id.is_(None))
                .values(set_aside=reason[:500])
            )

    def open_batches(self) -> list[OpenBatch]:
        query = (
            select(AnchorBatch)
            .where(AnchorBatch.status.in_(("pending", "sent")))
            .order_by(AnchorBatch.id)
        )
        with Session(self.engine) as session:
            return [_open_batch(b) for b in session.scalars(query)]

    def mark_sent(self, batch_id: int, signed: SignedAnchor) -> None:
        self._update(
            batch_id,
            status="sent",
            raw_tx=signed.raw_tx,
            tx_hash=signed.tx_hash,
            tx_nonce=signed.nonce,
        )

    def mark_confirmed(self, batch_id: int, receipt: AnchorReceipt) -> None:
        self._update(
            batch_id,
            status="confirmed",
            tx_hash=receipt.tx_hash,
            chain_batch_id=receipt.batch_id,
            block_number=receipt.block_number,
            block_hash=receipt.block_hash,
            log_index=receipt.log_index,
            gas_used=receipt.gas_used,
            confirmed_at=datetime.now(UTC),
        )

    def _update(self, batch_id: int, **values: object) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(update(AnchorBatch).where(AnchorBatch.id == batch_id).values(**values))


def _open_batch(b: AnchorBatch) -> OpenBatch:
    signed = None
    if b.raw_tx and b.tx_hash and b.tx_nonce is not None:
        signed = SignedAnchor(b.raw_tx, b.tx_hash, b.tx_nonce)
    assert b.id is not None
    return OpenBatch(
        b.id,
        b.status,
        bytes.fromhex(b.root[2:]),
        b.leaf_count,
        bytes.fromhex(b.manifest_hash[2:]),
        signed,
    )

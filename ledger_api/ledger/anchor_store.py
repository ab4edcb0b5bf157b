"""The anchoring worker's view of the database (implements ``anchoring.worker.BatchStore``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import pairwise

from sqlalchemy import Table, func, insert, literal_column, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from anchoring.batching import BuiltBatch, PendingLeaf
from anchoring.receipts import AnchorReceipt, SignedAnchor
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
from ledger_api.ledger import partitions
from ledger_api.ledger.lease import SqlLease

log = logging.getLogger(__name__)

CHUNK = 5_000
MIN_RUN = 16  # shorter runs of consecutive ids go into IN lists
MAINTENANCE_INTERVAL_S = 3600.0


class LeafRaceError(RuntimeError):
    """Another worker took some of these leaves first; this batch was not stored."""


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


class SqlBatchStore:
    """Batches, trees and leaf assignments in the ledger database."""

    def __init__(
        self, engine: Engine, chain_id: int, contract: str, lease: SqlLease | None = None
    ) -> None:
        self.engine = engine
        self.chain_id = chain_id
        self.contract = contract
        self.lease = lease  # None: the caller is the only worker (a one-off round, a bench)
        self._next_maintenance = 0.0

    def claim(self) -> bool:
        """True if this worker may anchor now; the holder also keeps the monthly partitions
        ahead (``partitions.py``), so only one process ever runs their DDL."""
        if self.lease is not None and not self.lease.claim():
            return False
        now = time.monotonic()
        if now >= self._next_maintenance:
            self._next_maintenance = now + MAINTENANCE_INTERVAL_S
            try:
                partitions.maintain(self.engine, int(time.time()))
            except SQLAlchemyError:
                # Records wait in the default partition, where they are as safe: anchoring
                # must not stop for a partition that can be made next hour.
                log.exception("partition maintenance failed; retrying in an hour")
        return True

    def _fence(self, session: Session) -> None:
        if self.lease is not None:
            self.lease.fence(session)

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
            self._fence(session)
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
            assert row.id is not None
            _assign(session, row.id, batch.leaf_ids)
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
        """Fenced: a worker that lost the lease must not store, and so not send, a tx."""
        self._update(
            batch_id,
            fenced=True,
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

    def _update(self, batch_id: int, fenced: bool = False, **values: object) -> None:
        with Session(self.engine) as session, session.begin():
            if fenced:
                self._fence(session)
            session.execute(update(AnchorBatch).where(AnchorBatch.id == batch_id).values(**values))


def id_runs(ids: Sequence[int]) -> tuple[list[tuple[int, int]], list[int]]:
    """Runs of at least ``MIN_RUN`` consecutive ids as ``(first, last)``, and the other ids.
    The worker reads leaves in id order, so a batch is a few long runs. A repeated id breaks
    a run, so a range never stands for more ids than were given."""
    ordered = sorted(ids)
    edges = [i for i, (a, b) in enumerate(pairwise(ordered), 1) if b != a + 1]
    runs: list[tuple[int, int]] = []
    scattered: list[int] = []
    for start, end in pairwise([0, *edges, len(ordered)]):
        if end - start >= MIN_RUN:
            runs.append((ordered[start], ordered[end - 1]))
        else:
            scattered.extend(ordered[start:end])
    return runs, scattered


def _assign(session: Session, batch_id: int, ids: Sequence[int]) -> None:
    """Put ``ids`` in the batch, or raise :class:`LeafRaceError` if any was taken already.
    A range is one statement however long (a million ids as IN lists cost more in binding
    parameters than the database spends updating the rows)."""
    runs, scattered = id_runs(ids)
    # Unary plus keeps SQLite from walking the batch_id index for this test: the id range
    # is the narrow side, and that index is the one every assigned row moves in (measured:
    # a million-leaf assignment a third faster). PostgreSQL reads it as the same column.
    # Core, not the ORM: the ORM's update fetches every updated row back (measured: twice
    # the time of the whole assignment).
    leaf: Table = LeafRow.__table__  # type: ignore[assignment]
    unbatched = literal_column(f"+{leaf.name}.batch_id").is_(None)
    statements = [
        (update(leaf).where(leaf.c.id.between(first, last), unbatched), last - first + 1)
        for first, last in runs
    ]
    for start in range(0, len(scattered), CHUNK):
        chunk = scattered[start : start + CHUNK]
        statements.append((update(leaf).where(leaf.c.id.in_(chunk), unbatched), len(chunk)))
    for statement, expected in statements:
        # Ids are unique, so a full count means every id of the range or chunk was unbatched.
        if session.execute(statement.values(batch_id=batch_id)).rowcount != expected:
            raise LeafRaceError("leaves were batched concurrently; retry the round")


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

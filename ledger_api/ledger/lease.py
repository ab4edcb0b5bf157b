"""The anchoring lease: at most one worker anchors at a time, however many run.

One operator account sends every anchor, so two workers anchoring at once would race for its
nonces; and one worker is fast enough (``docs/deploy.md``: a million leaves built and persisted
in about three seconds, against some thousands of records a second ingested). More workers buy
fail-over, not throughput: the others stand by and take over when the holder stops renewing.

Times come from the database's clock, never a host's, so hosts whose clocks drift still agree
on when a lease ran out. Each change of holder bumps ``token``; the store's writes check holder
and token inside their own transaction (fencing), so a worker that stalled past its lease and
wakes up writes nothing. On PostgreSQL a stand-by skips a lease row locked by the holder's
open transaction (``FOR UPDATE SKIP LOCKED``) instead of queueing behind it; SQLite has one
writer at a time, so its conditional update is atomic as it stands.
"""

from __future__ import annotations

import os
import socket
import uuid
from functools import cache

from sqlalchemy import ColumnElement, case, literal_column, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from anchoring.worker import LeaseLost
from ledger_api.core.models import AnchorLease

ANCHORING = "anchoring"


@cache
def holder_id() -> str:
    """This process's name as a holder: host, process id and a random part (unique even when
    a process id is reused). One per process, so a worker rebuilt after a chain outage
    renews its own lease instead of waiting for it to run out."""
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _now_ms(engine: Engine) -> ColumnElement[int]:
    if engine.dialect.name == "postgresql":
        return literal_column("(extract(epoch from clock_timestamp()) * 1000)::bigint")
    return literal_column("CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)")


class SqlLease:
    """A named lease in the ledger database, held for ``ttl_s`` after each claim."""

    def __init__(
        self, engine: Engine, ttl_s: float, name: str = ANCHORING, holder: str | None = None
    ) -> None:
        self.engine = engine
        self.ttl_ms = int(ttl_s * 1000)
        self.name = name
        self.holder = holder or holder_id()
        self.token: int | None = None

    def claim(self) -> bool:
        """Take the lease if it is free or ran out, or renew it if ours; False if another
        worker holds it."""
        with Session(self.engine) as session, session.begin():
            now = _now_ms(self.engine)
            lockable = (
                select(AnchorLease.name)
                .where(AnchorLease.name == self.name)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            ours = AnchorLease.holder == self.holder
            taken = session.execute(
                update(AnchorLease)
                .where(AnchorLease.name == lockable)
                .where(ours | (AnchorLease.expires_ms < now))
                .values(
                    # A new holder gets a new token: the old holder's fenced writes then fail.
                    token=AnchorLease.token + case((ours, 0), else_=1),
                    holder=self.holder,
                    expires_ms=now + self.ttl_ms,
                )
            ).rowcount
            # Read in the same transaction, under the row lock the update took (no RETURNING:
            # SQLite has it only from 3.35).
            self.token = (
                session.scalar(select(AnchorLease.token).where(AnchorLease.name == self.name))
                if taken == 1
                else None
            )
        return self.token is not None

    def fence(self, session: Session) -> None:
        """Inside a caller's transaction: renew the lease, or raise :class:`LeaseLost` if it is
        no longer ours. The row lock it takes lasts until that transaction ends."""
        if self.token is None:
            raise LeaseLost("this worker does not hold the anchoring lease")
        now = _now_ms(self.engine)
        result = session.execute(
            update(AnchorLease)
            .where(
                AnchorLease.name == self.name,
                AnchorLease.holder == self.holder,
                AnchorLease.token == self.token,
                AnchorLease.expires_ms >= now,
            )
            .values(expires_ms=now + self.ttl_ms)
        )
        if result.rowcount != 1:
            self.token = None
            raise LeaseLost("the anchoring lease ran out or passed to another worker")

    def release(self) -> None:
        """Give the lease up at once (a clean stop), so a stand-by need not wait it out."""
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(AnchorLease)
                .where(AnchorLease.name == self.name, AnchorLease.holder == self.holder)
                .values(expires_ms=0)
            )
        self.token = None

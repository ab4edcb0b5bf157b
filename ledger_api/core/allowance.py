"""Per-principal allowances of records, shared by every API process through the database.

A limit such as ``"600000/minute"`` lets a principal send a whole window's worth of records at
once and then refills at the same rate. Each principal row holds one number, the moment its
allowance will be full again (the generic cell rate algorithm's "theoretical arrival time"): a
batch of ``n`` records moves it ``n × window / amount`` later, and is refused when that would
put it more than one window ahead of now. A batch is charged in the transaction that stores
it, so a refused or rolled-back batch costs nothing, and several API processes, or a restart,
see one allowance. A read-only check before the signature work refuses an exhausted
principal cheaply.
"""

from __future__ import annotations

import time

from limits import RateLimitItem, parse
from sqlalchemy import case, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from ledger_api.core.errors import ApiError
from ledger_api.core.models import Principal

_principals = Principal.__table__  # type: ignore[attr-defined]
_tat = _principals.c.ingest_tat_us


class IngestLimiter:
    """Records per principal per window, e.g. ``"600000/minute"``."""

    def __init__(self, limit: str, max_batch_records: int) -> None:
        self.item: RateLimitItem = parse(limit)
        if self.item.amount < max_batch_records:
            # A batch bigger than the whole allowance could never be accepted.
            raise ValueError(f"ingest rate limit {limit} is below one full batch")
        self.window_us = self.item.get_expiry() * 1_000_000

    def check(self, engine: Engine, principal_id: int, name: str, records: int) -> None:
        """Refuse (429) now if ``records`` would not fit; spends nothing."""
        with engine.connect() as connection:
            tat = _tat_of(connection, principal_id)
        now = _now_us()
        if self._after(tat, now, records) > now + self.window_us:
            raise self._refused(name, tat, now, records)

    def spend(self, session: Session, principal_id: int, name: str, records: int) -> None:
        """Charge ``records`` inside the caller's transaction, or raise 429 (nothing charged)."""
        now = _now_us()
        cost = self._cost_us(records)
        after = case((_tat > now, _tat), else_=now) + cost
        charged = session.execute(
            update(_principals)
            .where(_principals.c.id == principal_id, after <= now + self.window_us)
            .values(ingest_tat_us=after)
        )
        if charged.rowcount != 1:  # type: ignore[attr-defined]
            tat = _tat_of(session, principal_id)
            raise self._refused(name, tat, now, records)

    def _cost_us(self, records: int) -> int:
        return -(-records * self.window_us // self.item.amount)  # ceiling, in integers

    def _after(self, tat: int, now: int, records: int) -> int:
        return max(tat, now) + self._cost_us(records)

    def _refused(self, name: str, tat: int, now: int, records: int) -> ApiError:
        over_us = self._after(tat, now, records) - now - self.window_us
        wait_s = max(1, -(-over_us // 1_000_000))
        return ApiError(
            429,
            "rate_limited",
            f"{name} is over its ingestion allowance of {self.item}; retry in {wait_s} s",
            headers={"Retry-After": str(wait_s)},
        )


def _tat_of(reader: Connection | Session, principal_id: int) -> int:
    return reader.scalar(select(_tat).where(_principals.c.id == principal_id)) or 0


def _now_us() -> int:
    return time.time_ns() // 1_000

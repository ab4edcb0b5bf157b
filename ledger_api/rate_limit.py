"""Per-principal limits on how many records each principal may submit.

A batch costs its record count, so one caller cannot starve the others by sending fewer,
larger batches. Counters live in this process's memory: a deployment that runs several API
processes behind one address should give each a share of the limit, or move the counters to a
shared store (the limits library speaks Redis and Memcached too).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from ledger_api.errors import ApiError


class IngestLimiter:
    """Records per principal per window, e.g. ``"600000/minute"``."""

    def __init__(self, limit: str, max_batch_records: int) -> None:
        self.item: RateLimitItem = parse(limit)
        if self.item.amount < max_batch_records:
            # A batch bigger than the whole allowance could never be accepted.
            raise ValueError(f"ingest rate limit {limit} is below one full batch")
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    def take(self, principal: str, records: int) -> None:
        """Spend ``records`` of ``principal``'s allowance, or answer 429 with Retry-After."""
        if self._limiter.hit(self.item, principal, cost=records):
            return
        reset_at = self._limiter.get_window_stats(self.item, principal).reset_time
        wait_s = max(1, math.ceil(reset_at - time.time()))
        raise ApiError(
            429,
            "rate_limited",
            f"{principal} is over its ingestion allowance of {self.item}; retry in {wait_s} s",
            headers={"Retry-After": str(wait_s)},
        )

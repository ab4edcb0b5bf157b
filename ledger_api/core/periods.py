"""The time bounds every domain holds periods to: a reading covers time from 2000 on and has
ended by now (give or take the clock skew a terminal may have), so any period the ledger
accounts lies within them too."""

from __future__ import annotations

EARLIEST_PERIOD = 946_684_800  # 2000-01-01T00:00:00Z
CLOCK_SKEW_S = 300
DAY_S = 86_400

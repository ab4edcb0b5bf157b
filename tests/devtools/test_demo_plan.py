"""The demo's month: the readings up to the month's end add up exactly to each sample entry,
and each source has one reading after it, which only closes the period (so the demo's
"equals sample" column compares the month, not the month and its closing readings).

Every sample month here is June 2025 in China Standard Time (UTC+8): its end is
2025-07-01 00:00 +08:00, i.e. 2025-06-30 16:00 UTC, 1,751,299,200 Unix seconds.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from devtools.demo_plan import ENTERPRISES, DemoEnterprise, month_end, readings

JUNE_2025_END = int(datetime(2025, 6, 30, 16, tzinfo=UTC).timestamp())


@pytest.mark.parametrize("enterprise", ENTERPRISES, ids=lambda e: e.key)
def test_the_month_adds_up_to_the_sample_and_closing_readings_lie_after_it(
    enterprise: DemoEnterprise,
) -> None:
    inventory = enterprise.inventory()
    assert (inventory.period_start.isoformat(), inventory.period_end.isoformat()) == (
        "2025-06-01",
        "2025-06-30",
    )
    assert month_end(enterprise) == JUNE_2025_END == 1_751_299_200
    inside: Counter[tuple[str, str]] = Counter()
    after: Counter[str] = Counter()
    for r in readings(enterprise):
        if r.period_end <= JUNE_2025_END:
            inside[(r.source, r.activity)] += Decimal(r.quantity).scaleb(-r.decimals)
        else:
            assert r.period_start == JUNE_2025_END
            after[r.source] += 1
    expected: Counter[tuple[str, str]] = Counter()
    for entry in inventory.entries:
        source = enterprise.source_identifier(entry.source_id or "site")
        expected[(source, entry.code)] += entry.quantity
    assert inside == expected
    assert after == Counter({source: 1 for source, _ in expected})

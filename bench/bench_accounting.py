"""Account 1,000,000 activity entries of mixed methods; print one JSON line.

Entries cycle through the six industry samples (combustion, electricity, heat, carbonates,
clinker, carbon mass balance, N2O, anode, PFC slope, steel process, fugitive gases …) with
varied quantities, and are accounted industry by industry with per-line detail kept. The
ratio compares that to a plain Decimal multiply-add loop over the same quantities, timed in
the same process (so machine speed cancels out).

    python bench/bench_accounting.py [--entries N]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from decimal import Decimal, localcontext

from accounting import INDUSTRIES, Entry, Inventory, account, load_factor_set, load_sample


def _inventories(total: int, rng: random.Random) -> list[Inventory]:
    per_industry = [total // len(INDUSTRIES)] * len(INDUSTRIES)
    per_industry[0] += total - sum(per_industry)
    inventories = []
    for industry, count in zip(INDUSTRIES, per_industry, strict=True):
        sample = load_sample(industry)
        templates = sample.entries
        entries = []
        for i in range(count):
            t = templates[i % len(templates)]
            quantity = Decimal(rng.randrange(1, 10_000_000)).scaleb(-3)
            entries.append(Entry(t.code, quantity, t.unit, t.params, t.factor, t.source_id))
        inventories.append(
            Inventory(
                sample.enterprise_id,
                industry,
                sample.period_start,
                sample.period_end,
                tuple(entries),
                sample.boundary,
                sample.factor_choices,
            )
        )
    return inventories


def _baseline(quantities: list[Decimal]) -> Decimal:
    factor = Decimal("2.1621888")
    total = Decimal(0)
    with localcontext(prec=50):
        for quantity in quantities:
            total += quantity * factor
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = random.Random(20250601)
    start = time.perf_counter()
    inventories = _inventories(args.entries, rng)
    build_s = time.perf_counter() - start
    factor_set = load_factor_set()
    account(inventories[0], factor_set)  # warm the unit registry and caches once

    start = time.perf_counter()
    results = [account(inv, factor_set) for inv in inventories]
    account_s = time.perf_counter() - start

    quantities = [e.quantity for inv in inventories for e in inv.entries]
    start = time.perf_counter()
    _baseline(quantities)
    baseline_s = time.perf_counter() - start

    print(
        json.dumps(
            {
                "benchmark": "accounting",
                "entries": args.entries,
                "lines_kept": sum(len(r.lines) for r in results),
                "build_inventory_s": round(build_s, 3),
                "account_s": round(account_s, 3),
                "entries_per_s": round(args.entries / account_s),
                "baseline_decimal_muladd_s": round(baseline_s, 3),
                "ratio_to_baseline": round(account_s / baseline_s, 2),
                "limit_s": 5.0,
                "within_limit": account_s <= 5.0,
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()

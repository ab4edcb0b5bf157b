"""Grade 10,000 enterprises of the six industries for one period; print one JSON line.

Emissions and added values are random but seeded. The ruleset is loaded once, then the batch is
graded twice: against the ruleset's industry averages and against the batch's own population
averages. The ratio compares the ruleset pass to a plain Decimal division-and-comparison loop
over the same figures, timed in the same process (so machine speed cancels out).

    python bench/bench_grading.py [--enterprises N]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import time
from decimal import Decimal, localcontext

from accounting import INDUSTRIES, GradingInput, grade_many, load_ruleset, population_averages

YEAR = 2025
LIMIT_S = 5.0


def _inputs(count: int, rng: random.Random) -> list[GradingInput]:
    out = []
    for i in range(count):
        industry = INDUSTRIES[i % len(INDUSTRIES)]
        added_value = Decimal(rng.randrange(100_000, 100_000_000)).scaleb(
            -2
        )  # 1,000–1,000,000 万元
        emissions = Decimal(rng.randrange(0, 10**10)).scaleb(-3)  # 0–10,000,000 t
        output = Decimal(rng.randrange(1, 10**9)).scaleb(-2) if i % 2 else None
        out.append(GradingInput(industry, emissions, added_value, output))
    return out


def _baseline(inputs: list[GradingInput]) -> int:
    edges = (Decimal("0.6"), Decimal("0.8"), Decimal("1.2"), Decimal("2.0"))
    average = Decimal("2.5")
    total = 0
    with localcontext(prec=50):
        for item in inputs:
            k = item.emissions_t / item.added_value_wan_yuan / average
            total += next((g for g, edge in enumerate(edges, 1) if k <= edge), 5)
    return total


def _timed(call):
    start = time.perf_counter()
    value = call()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--enterprises", type=int, default=10_000)
    args = parser.parse_args()
    inputs = _inputs(args.enterprises, random.Random(20250601))
    ruleset, load_s = _timed(load_ruleset)
    ratings, grade_s = _timed(lambda: grade_many(inputs, ruleset, YEAR))
    averages, avg_s = _timed(lambda: population_averages(inputs, YEAR))
    _, pop_s = _timed(lambda: grade_many(inputs, ruleset, YEAR, averages))
    _, dict_s = _timed(lambda: [r.to_dict() for r in ratings])
    _, baseline_s = _timed(lambda: _baseline(inputs))
    grades = [r.grade for r in ratings]
    print(
        json.dumps(
            {
                "benchmark": "grading",
                "enterprises": args.enterprises,
                "load_ruleset_s": round(load_s, 4),
                "grade_s": round(grade_s, 4),
                "population_averages_s": round(avg_s, 4),
                "grade_population_s": round(pop_s, 4),
                "to_dict_s": round(dict_s, 4),
                "baseline_decimal_div_compare_s": round(baseline_s, 4),
                "ratio_to_baseline": round(grade_s / baseline_s, 2),
                "grade_histogram": {g: grades.count(g) for g in range(1, 6)},
                "limit_s": LIMIT_S,
                "within_limit": grade_s <= LIMIT_S,
                "python": platform.python_version(),
            }
        )
    )


if __name__ == "__main__":
    main()

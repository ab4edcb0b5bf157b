"""The figures an evaluation reports, so the ledger and a verifier derive the same digits.

Every figure comes twice: ``exact`` (full precision, what is compared) and ``reported`` (the
reporting rounding of :func:`accounting.numbers.report`, what people read). A figure is named by
a path: ``total``, ``byCategory.<category>``, ``byGas.<gas>``, ``bySource.<source id>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from accounting.activities import MEMO_CATEGORIES
from accounting.numbers import decimal_str, reported_str
from accounting.result import Result

NO_SOURCE = "(unassigned)"


def by_source(result: Result) -> dict[str, Decimal]:
    """tCO2e per emission source, memo categories (biomass) left out as in the total."""
    sums: dict[str, Decimal] = {}
    for line in result.lines:
        if line.category in MEMO_CATEGORIES:
            continue
        key = line.entry.source_id or NO_SOURCE
        sums[key] = sums.get(key, Decimal(0)) + line.co2e
    return dict(sorted(sums.items()))


def _strings(values: Mapping[str, Decimal], render: Any) -> dict[str, str]:
    return {key: render(value) for key, value in sorted(values.items())}


def figures(result: Result) -> dict[str, Any]:
    """``{"exact": {...}, "reported": {...}}`` with total, byCategory, byGas and bySource."""
    sources = by_source(result)

    def block(render: Any) -> dict[str, Any]:
        return {
            "total": render(result.total),
            "byCategory": _strings(result.by_category, render),
            "byGas": _strings(result.by_gas, render),
            "bySource": _strings(sources, render),
        }

    return {"exact": block(decimal_str), "reported": block(reported_str)}


def figure_at(document: Mapping[str, Any], path: str) -> str:
    """The value at a dotted ``path`` (source ids may contain dots: only the first is split)."""
    head, _, rest = path.partition(".")
    value = document.get(head)
    if rest:
        value = value.get(rest) if isinstance(value, Mapping) else None
    if not isinstance(value, str):
        raise KeyError(path)
    return value

"""Shared helpers: the documented arithmetic policy, restated for expected values."""

from __future__ import annotations

import decimal
from datetime import date
from decimal import Decimal

from accounting import Entry, Inventory

# docs/accounting.md: 50 significant digits, half-even; line masses quantized to 1e-20 t.
POLICY = decimal.Context(prec=50, rounding=decimal.ROUND_HALF_EVEN)
QUANTUM = Decimal("1e-20")


def line(value_numerator: Decimal, denominator: Decimal = Decimal(1)) -> Decimal:
    """A line's gas mass: exact numerator, one division, quantized to 1e-20 t."""
    with decimal.localcontext(POLICY):
        return (value_numerator / denominator).quantize(QUANTUM)


def inventory(industry: str, *entries: Entry, choices: dict[str, str] | None = None) -> Inventory:
    return Inventory(
        enterprise_id="ent-test",
        industry=industry,
        period_start=date(2025, 6, 1),
        period_end=date(2025, 6, 30),
        entries=tuple(entries),
        factor_choices=choices or {},
    )


D = Decimal

"""Decimal arithmetic policy shared by the ledger and the verifier.

Policy (documented in docs/accounting.md):

* All arithmetic runs in a *local* context of 50 significant digits, ROUND_HALF_EVEN, with
  InvalidOperation, DivisionByZero and Overflow trapped. The global context is never touched.
* A method multiplies its inputs exactly (every factor is a finite decimal, so products are exact
  within 50 digits) and divides once, last, by the integer molar-mass denominator (12, 56·40, …).
* Each gas mass of each line is then quantized to 1e-20 t (``LINE_QUANTUM``). From that point on
  every operation (× GWP, sums) is exact, so totals do not depend on summation order and a
  verifier may re-add any subset and get the same digits.
* Only reporting rounds: ``report()`` quantizes tCO2e to 3 decimal places (1 kg), ROUND_HALF_EVEN.
"""

from __future__ import annotations

import decimal
from contextlib import AbstractContextManager
from decimal import ROUND_HALF_EVEN, Context, Decimal

PRECISION = 50
LINE_QUANTUM = Decimal("1e-20")
REPORT_PLACES = 3
REPORT_QUANTUM = Decimal(1).scaleb(-REPORT_PLACES)
ROUNDING = ROUND_HALF_EVEN

CONTEXT = Context(
    prec=PRECISION,
    rounding=ROUNDING,
    Emin=-999999,
    Emax=999999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)


def context() -> AbstractContextManager[Context]:
    """Local context for engine arithmetic (a fresh copy, so callers cannot mutate the policy)."""
    return decimal.localcontext(CONTEXT)


def report(value: Decimal, places: int = REPORT_PLACES) -> Decimal:
    """Round a tCO2e figure for reporting: ``places`` decimals, ROUND_HALF_EVEN."""
    with context():
        return value.quantize(Decimal(1).scaleb(-places), rounding=ROUNDING)


def line_round(value: Decimal) -> Decimal:
    """Round a line's gas mass to the line quantum (what the engine does per line)."""
    with context():
        return value.quantize(LINE_QUANTUM, rounding=ROUNDING)


def decimal_str(value: Decimal) -> str:
    """Canonical fixed-point string: no exponent, no trailing fractional zeros, ``0`` for zero.

    Used for every Decimal that leaves the engine in JSON, so equal values print equally.
    """
    if not value.is_finite():
        raise ValueError(f"non-finite decimal {value!r}")
    if value.is_zero():
        return "0"
    return format(value.normalize(CONTEXT), "f")


def reported_str(value: Decimal, places: int = REPORT_PLACES) -> str:
    """Reported figure as a string with exactly ``places`` decimals (e.g. ``"12.300"``)."""
    return f"{report(value, places):f}"


def scaled_to_decimal(scaled: int, decimals: int) -> Decimal:
    """Exact Decimal from a signed record's scaled integer (``12345``, ``2`` → ``123.45``)."""
    if decimals < 0:
        raise ValueError("decimals must be >= 0")
    sign = 1 if scaled < 0 else 0
    digits = tuple(int(c) for c in str(abs(scaled)))
    return Decimal((sign, digits, -decimals))

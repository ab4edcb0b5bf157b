"""Scope 2 reported twice, location-based and market-based, from accounted lines (GHG Protocol
Scope 2 Guidance, 2015: chapter 4 defines the two methods, chapter 7 requires both reported).

* Location-based: the purchased-electricity lines as GB/T 32150 accounts them (grid average
  factor), i.e. the ``purchased_electricity`` category. Exported electricity is a GB/T
  deduction of its own and is in neither figure.
* Market-based: of the purchased MWh ``P``, the MWh ``C`` covered by valid green certificates
  (at most ``P``: certificates beyond consumption are not counted) carry the certificates'
  zero factor; the rest carries a residual-mix factor. No residual mix is published for
  China, so the rest carries the location-based grid factor the entry used, labelled as that
  fallback (the Guidance's hierarchy ends with the grid average when no residual mix exists):
  ``market = line_round((P − C) × EF_grid)``.

Which of the two grades the firm is the ruleset's ``scope2Basis``; the graded emissions are
then the total with the location-based figure replaced by the market-based one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from accounting.errors import AccountingError
from accounting.numbers import context, decimal_str, line_round, reported_str
from accounting.result import Line

PURCHASED = "electricity.purchased"
# What the residual factor is, as the entry records it (the reason is RESIDUAL_FALLBACK).
RESIDUAL_BASIS = "location-based grid factor (no residual mix published)"
BASES = ("location", "market")
RESIDUAL_FALLBACK = (
    "no residual mix is published for China: electricity no certificate covers is priced at the "
    "location-based grid factor, the last step of the GHG Protocol Scope 2 Guidance's "
    "market-based factor hierarchy (2015, chapter 6). The grid average still counts renewable "
    "generation whose certificates others hold, so the uncovered rest is priced lower than a "
    "residual mix would price it"
)


class Scope2Error(AccountingError):
    """Purchased electricity accounted with more than one grid factor, or a bad basis."""

    code = "invalid_scope2"


@dataclass(frozen=True, slots=True)
class Scope2:
    """Both Scope 2 figures of one period and what the market-based one rests on."""

    basis: str
    purchased_mwh: Decimal
    claimed_mwh: Decimal
    covered_mwh: Decimal
    location: Decimal
    market: Decimal
    residual_factor: str | None
    residual_value: Decimal | None

    def graded_total(self, total: Decimal) -> Decimal:
        """The total the grade uses: as accounted, or with Scope 2 market-based."""
        if self.basis == "location":
            return total
        with context():
            return total - self.location + self.market

    def to_dict(self, claims: Iterable[str]) -> dict[str, Any]:
        """The entry's ``scope2`` block; ``claims`` are the claims' event digests."""
        return {
            "basis": self.basis,
            "locationBased": _figure(self.location),
            "marketBased": _figure(self.market),
            "purchasedMWh": decimal_str(self.purchased_mwh),
            "certificates": {
                "claims": sorted(claims),
                "claimedMWh": decimal_str(self.claimed_mwh),
                "usedMWh": decimal_str(self.covered_mwh),
            },
            "residualFactor": {
                "factor": self.residual_factor,
                "value": None if self.residual_value is None else decimal_str(self.residual_value),
                "unit": "tCO2/MWh",
                "basis": RESIDUAL_BASIS,
            },
        }


def _figure(value: Decimal) -> dict[str, str]:
    return {"exact": decimal_str(value), "reported": reported_str(value)}


def _mwh(line: Line) -> Decimal:
    numerator, denominator = line.basis.conversion
    with context():
        return line.entry.quantity * numerator / denominator


def scope2(accounted: Iterable[Line], claimed_mwh: Decimal, basis: str = "location") -> Scope2:
    """Both figures of the ``accounted`` lines (a ``Result``'s) with ``claimed_mwh`` of valid
    certificates (checked for period, vintage and signature by the caller); ``basis`` is the
    one the grade uses."""
    if basis not in BASES:
        raise Scope2Error(f"scope2Basis must be one of {list(BASES)}", field="scope2Basis")
    lines = [line for line in accounted if line.code == PURCHASED]
    factors = {f.id: f for line in lines for f in line.basis.factors}
    if len(factors) > 1:
        raise Scope2Error(
            f"purchased electricity is accounted with {sorted(factors)}: one grid factor is "
            "needed for a market-based figure",
            field="factorChoices",
        )
    factor = next(iter(factors.values()), None)
    with context():
        purchased = sum((_mwh(line) for line in lines), Decimal(0))
        location = sum((line.co2e for line in lines), Decimal(0))
        covered = min(claimed_mwh, purchased)
        market = line_round((purchased - covered) * factor.value) if factor else Decimal(0)
    return Scope2(
        basis,
        purchased,
        claimed_mwh,
        covered,
        location,
        market,
        factor.id if factor else None,
        factor.value if factor else None,
    )

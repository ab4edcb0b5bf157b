"""Accounting results: per-line detail and the breakdown, with a plain JSON-able form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from accounting.activities import Override
from accounting.factors import Factor
from accounting.inventory import Entry
from accounting.numbers import REPORT_PLACES, decimal_str, report, reported_str

ENGINE_VERSION = "1.0.0"
UNIT = "tCO2e"


@dataclass(frozen=True, slots=True)
class LineBasis:
    """What every line of one (activity, unit, factor choice, parameters) combination shares."""

    code: str
    category: str
    method: str
    canonical_unit: str
    conversion: tuple[Decimal, Decimal]
    gases: tuple[str, ...]
    gwp: tuple[Decimal, ...]
    factors: tuple[Factor, ...]
    overrides: tuple[Override, ...]


class Line(NamedTuple):
    """One accounted entry. ``masses`` align with ``basis.gases`` (t of gas); ``co2e`` is the
    signed tCO2e of the line (negative for exported / deducted)."""

    index: int
    entry: Entry
    basis: LineBasis
    masses: tuple[Decimal, ...]
    co2e: Decimal

    @property
    def code(self) -> str:
        return self.basis.code

    @property
    def category(self) -> str:
        return self.basis.category

    def to_dict(self) -> dict[str, Any]:
        basis = self.basis
        return {
            "index": self.index,
            "activity": basis.code,
            "quantity": decimal_str(self.entry.quantity),
            "unit": self.entry.unit,
            "source_id": self.entry.source_id,
            "category": basis.category,
            "method": basis.method,
            "co2e_t": decimal_str(self.co2e),
            "conversion": {
                "to": basis.canonical_unit,
                "numerator": decimal_str(basis.conversion[0]),
                "denominator": decimal_str(basis.conversion[1]),
            },
            "gases": [
                {"gas": gas, "mass_t": decimal_str(mass), "gwp": decimal_str(gwp)}
                for gas, mass, gwp in zip(basis.gases, self.masses, basis.gwp, strict=True)
            ],
            "factors": [_factor_dict(f) for f in basis.factors],
            "overrides": [o.to_dict() for o in basis.overrides],
        }


def _factor_dict(factor: Factor) -> dict[str, Any]:
    return {
        "id": factor.id,
        "value": decimal_str(factor.value),
        "unit": factor.unit,
        "provenance": factor.provenance.to_dict(),
    }


@dataclass(frozen=True, slots=True)
class Result:
    """Totals are exact (see ``accounting.numbers``); ``reported_*`` apply the reporting rule.

    ``by_category`` has every category (``biomass_memo`` is outside ``total``); ``by_gas`` and
    ``gas_mass`` cover what the total covers.
    """

    enterprise_id: str
    industry: str
    period_start: date
    period_end: date
    boundary: str
    total: Decimal
    by_category: Mapping[str, Decimal]
    by_gas: Mapping[str, Decimal]
    gas_mass: Mapping[str, Decimal]
    lines: tuple[Line, ...]
    entry_count: int
    factor_set_id: str
    factor_set_version: str
    factor_set_digest: str
    gwp_set: str
    engine_version: str = ENGINE_VERSION

    @property
    def reported_total(self) -> Decimal:
        return report(self.total)

    def to_dict(self, include_lines: bool = True) -> dict[str, Any]:
        """Plain JSON-able dict; every figure is a decimal string."""
        out: dict[str, Any] = {
            "engine_version": self.engine_version,
            "enterprise_id": self.enterprise_id,
            "industry": self.industry,
            "period": {"start": self.period_start.isoformat(), "end": self.period_end.isoformat()},
            "boundary": self.boundary,
            "factor_set": {
                "id": self.factor_set_id,
                "version": self.factor_set_version,
                "digest": self.factor_set_digest,
            },
            "gwp_set": self.gwp_set,
            "unit": UNIT,
            "reporting": {"places": REPORT_PLACES, "rounding": "ROUND_HALF_EVEN"},
            "entry_count": self.entry_count,
            "total": reported_str(self.total),
            "by_category": {k: reported_str(v) for k, v in self.by_category.items()},
            "by_gas": {k: reported_str(v) for k, v in self.by_gas.items()},
            "exact": {
                "total": decimal_str(self.total),
                "by_category": {k: decimal_str(v) for k, v in self.by_category.items()},
                "by_gas": {k: decimal_str(v) for k, v in self.by_gas.items()},
                "gas_mass_t": {k: decimal_str(v) for k, v in self.gas_mass.items()},
            },
        }
        if include_lines:
            out["lines"] = [line.to_dict() for line in self.lines]
        return out

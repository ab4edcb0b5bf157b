"""Comprehensive energy consumption (综合能耗, GB/T 2589-2020) from the same accounted lines.

Every energy carrier a line consumes is converted to tonnes of standard coal (tce) with a
versioned, sourced coefficient set (``accounting/data/energy-coefficients-*.json``, published
by digest like a factor set). The rule for one line, first that applies:

1. a quantity already in energy units (GJ: heat, or a fuel metered as heat) × 0.03412 tce/GJ;
2. a fuel whose record carries a measured net calorific value: quantity × NCV × 0.03412
   (the standard prefers the measured calorific value to its reference table);
3. a fuel in the standard's Appendix A: quantity × its reference coefficient;
4. any other fuel: quantity × the NCV the emissions were accounted with × 0.03412 (derived);
5. electricity: MWh × the equivalent value (等价值, the national average coal consumption of
   power supply of the latest year not after the period's) by default, or × 0.1229 tce/MWh
   (equal value, 当量值) where asked.

Exported electricity and heat are subtracted with the coefficient they would be counted with.
Process inputs that are not energy carriers (carbonates, anodes, fugitive gases) count no
energy. Arithmetic follows :mod:`accounting.numbers`: products are exact, each line is
quantized to 1e-20 tce once, sums are exact; intensities divide once in the 50-digit context.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from types import MappingProxyType
from typing import Any, Literal

from accounting.errors import AccountingError
from accounting.factors import Provenance, parse_decimal, parse_provenance
from accounting.numbers import context, decimal_str, line_round, reported_str
from accounting.published import PublishedSet, Shelf, by_id, heading
from accounting.result import Line, Result

Basis = Literal["equivalent", "equal"]
BASES: tuple[str, ...] = ("equivalent", "equal")
DEFAULT_ENERGY_SET = "gbt2589-2020"
ENERGY_SET_FORMAT = "carbon-ledger/energy-coefficients"
# The unit of activity each coefficient unit multiplies (the engine's canonical units).
PER_UNIT = MappingProxyType(
    {"tce/t": "t", "tce/10^4 Nm3": "wan_Nm3", "tce/GJ": "GJ", "tce/MWh": "MWh"}
)
KINDS = ("fuel", "energy_content", "electricity_equal", "electricity_equivalent")
ELECTRICITY = frozenset({"electricity.purchased", "electricity.exported"})
HEAT = frozenset({"heat.purchased", "heat.exported"})


class EnergySetFormatError(AccountingError):
    code = "invalid_energy_set"


class UnknownEnergySetError(AccountingError):
    code = "unknown_energy_set"


class EnergyCoefficientMissingError(AccountingError):
    code = "energy_coefficient_missing"


ENERGY_SETS = Shelf(
    "energy coefficient set",
    "energy-coefficients-{}.json",
    "energySet",
    (UnknownEnergySetError, EnergySetFormatError),
)


@dataclass(frozen=True, slots=True)
class Coefficient:
    id: str
    kind: str
    value: Decimal
    unit: str
    provenance: Provenance
    activity: str | None = None
    year: int | None = None


@dataclass(frozen=True, eq=False)
class EnergySet(PublishedSet):
    """An immutable, versioned coefficient set; one per id, compared by identity."""

    coefficients: MappingProxyType[str, Coefficient]
    document: MappingProxyType[str, Any]

    def by_activity(self, code: str) -> Coefficient | None:
        return next((c for c in self.coefficients.values() if c.activity == code), None)

    def only(self, kind: str) -> Coefficient:
        found = [c for c in self.coefficients.values() if c.kind == kind]
        if len(found) != 1:
            raise EnergySetFormatError(f"energy set {self.id} needs exactly one {kind}")
        return found[0]

    def electricity(self, basis: str, year: int) -> Coefficient:
        """Equal value, or the equivalent value of the latest year not after ``year`` (the
        earliest listed year when the period precedes them all)."""
        if basis == "equal":
            return self.only("electricity_equal")
        years = sorted(
            (c for c in self.coefficients.values() if c.kind == "electricity_equivalent"),
            key=lambda c: c.year or 0,
        )
        if not years:
            raise EnergySetFormatError(f"energy set {self.id} has no equivalent value")
        before = [c for c in years if (c.year or 0) <= year]
        return before[-1] if before else years[0]


def available_energy_sets() -> tuple[str, ...]:
    return ENERGY_SETS.ids()


def load_energy_set(energy_set_id: str = DEFAULT_ENERGY_SET) -> EnergySet:
    """A shipped coefficient set by id: one object per id, however the id is passed."""
    return _load_energy_set(energy_set_id)


@cache
def _load_energy_set(energy_set_id: str) -> EnergySet:
    # Cached by the resolved id, as load_factor_set's sets are (a cache on the public
    # function keys by the call's spelling: the default and its id would be two objects).
    return parse_energy_set(ENERGY_SETS.read(energy_set_id))


def parse_energy_set(document: dict[str, Any]) -> EnergySet:
    """Validate a coefficient-set document (the verifier parses the bundle's copy with this)."""
    if not isinstance(document, dict) or document.get("format") != ENERGY_SET_FORMAT:
        raise EnergySetFormatError(f"not a {ENERGY_SET_FORMAT} document")
    try:
        coefficients = by_id(
            (_coefficient(raw, document["sources"]) for raw in document["coefficients"]),
            "coefficient",
            EnergySetFormatError,
        )
        return EnergySet(
            **heading(document), coefficients=coefficients, document=MappingProxyType(document)
        )
    except (KeyError, TypeError) as exc:
        raise EnergySetFormatError(f"energy set is missing or misshapes {exc}") from None


def _coefficient(raw: dict[str, Any], sources: dict[str, Any]) -> Coefficient:
    where = str(raw["id"])
    if raw["kind"] not in KINDS or raw["unit"] not in PER_UNIT:
        raise EnergySetFormatError(f"{where}: kind {raw['kind']!r} / unit {raw['unit']!r}")
    year = raw.get("year")
    if raw["kind"] == "electricity_equivalent" and not isinstance(year, int):
        raise EnergySetFormatError(f"{where}: an equivalent value needs its year")
    return Coefficient(
        id=where,
        kind=raw["kind"],
        value=parse_decimal(raw["value"], where, error=EnergySetFormatError),
        unit=raw["unit"],
        provenance=parse_provenance(raw, sources, error=EnergySetFormatError),
        activity=raw.get("activity"),
        year=year,
    )


# --- lines to tce ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnergyLine:
    """One line's energy: signed tce, the carrier and how it was converted."""

    source: str
    category: str
    carrier: str
    tce: Decimal
    coefficient: str  # a coefficient id, or ``ncv:<factor or measured>`` for rules 2 and 4
    electricity_mwh: Decimal


def _canonical_quantity(line: Line) -> Decimal:
    numerator, denominator = line.basis.conversion
    with context():
        return line.entry.quantity * numerator / denominator


def _default_ncv(line: Line) -> tuple[Decimal, str] | None:
    """The factor set's default NCV the line's emissions were accounted with, if any."""
    for factor in line.basis.factors:
        if factor.kind == "fuel_ncv":
            return factor.value, f"ncv:{factor.id}"
    return None


def _per_unit(line: Line, energy_set: EnergySet, electricity: Coefficient) -> tuple[Decimal, str]:
    """tce per canonical unit of the line, and what it came from (the rules above)."""
    code, unit = line.basis.code, line.basis.canonical_unit
    content = energy_set.only("energy_content")
    if code in ELECTRICITY:
        return electricity.value, electricity.id
    if unit == "GJ":
        return content.value, content.id
    measured = next((o for o in line.basis.overrides if o.param == "ncv"), None)
    if measured is not None:
        with context():  # products exact within the engine's 50 digits, not the global 28
            return measured.value * content.value, "ncv:measured"
    listed = energy_set.by_activity(code)
    if listed is not None and PER_UNIT[listed.unit] == unit:
        return listed.value, listed.id
    ncv = _default_ncv(line)
    if ncv is None:
        raise EnergyCoefficientMissingError(
            f"{code} in {unit}: energy set {energy_set.id} has no coefficient and no NCV applies",
            entry=line.index,
            field="activity",
        )
    with context():
        return ncv[0] * content.value, ncv[1]


def carrier_of(code: str) -> str | None:
    """The energy carrier an activity consumes, or None for a process input."""
    if code in ELECTRICITY:
        return "electricity"
    if code in HEAT:
        return "heat"
    if code.startswith("fuel."):
        return code.removeprefix("fuel.")
    return None


def energy_lines(
    result: Result, energy_set: EnergySet, basis: str, year: int
) -> tuple[tuple[EnergyLine, ...], Coefficient]:
    """Every energy line of an accounted result, with the electricity coefficient used."""
    if basis not in BASES:
        raise AccountingError(f"energy basis must be one of {BASES}", field="energyBasis")
    electricity = energy_set.electricity(basis, year)
    lines = []
    for line in result.lines:
        carrier = carrier_of(line.basis.code)
        if carrier is None:
            continue
        quantity = _canonical_quantity(line)
        per_unit, used = _per_unit(line, energy_set, electricity)
        sign = -1 if line.category == "exported" else 1
        with context():
            tce = line_round(quantity * per_unit * sign)
            mwh = quantity * sign if carrier == "electricity" else Decimal(0)
        source = line.entry.source_id or "(unassigned)"
        lines.append(EnergyLine(source, line.category, carrier, tce, used, mwh))
    return tuple(lines), electricity


# --- figures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Denominators:
    """What intensities divide by: the product output (t) and the added value (万元)."""

    product_output_t: Decimal | None
    added_value_wan_yuan: Decimal | None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "productOutputT": _text(self.product_output_t),
            "addedValueWanYuan": _text(self.added_value_wan_yuan),
        }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else decimal_str(value)


def _sum_by(lines: Iterable[EnergyLine], key: str) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    with context():  # exact: Python's default 28 digits would round past 10⁸ tce
        for line in lines:
            name = getattr(line, key)
            sums[name] = sums.get(name, Decimal(0)) + line.tce
    return dict(sorted(sums.items()))


def divide(numerator: Decimal, denominator: Decimal | None) -> Decimal | None:
    """One division in the 50-digit context; None when there is nothing to divide by."""
    if denominator is None or denominator <= 0:
        return None
    with context():
        return numerator / denominator


def energy_figures(lines: tuple[EnergyLine, ...], denominators: Denominators) -> dict[str, Any]:
    """``{"exact": …, "reported": …}``: total, bySource, byCategory, byCarrier (tce) and the
    intensities (tce per t of product, tce per 万元); reported to 3 decimals (1 kgce)."""
    with context():
        total = sum((line.tce for line in lines), Decimal(0))
    intensity = {
        "product": divide(total, denominators.product_output_t),
        "addedValue": divide(total, denominators.added_value_wan_yuan),
    }
    groups = {
        name: _sum_by(lines, key)
        for name, key in (("bySource", "source"), ("byCategory", "category"))
    }
    groups["byCarrier"] = _sum_by(lines, "carrier")

    def block(render: Any) -> dict[str, Any]:
        return {
            "total": render(total),
            **{name: {k: render(v) for k, v in sums.items()} for name, sums in groups.items()},
            "intensity": {k: render(v) for k, v in intensity.items() if v is not None},
        }

    return {"exact": block(decimal_str), "reported": block(reported_str)}


def energy_block(
    result: Result,
    energy_set: EnergySet,
    basis: str,
    year: int,
    denominators: Denominators,
) -> dict[str, Any]:
    """The entry's ``energy`` block: what the ledger writes and the verifier recomputes."""
    lines, electricity = energy_lines(result, energy_set, basis, year)
    with context():
        mwh = sum((line.electricity_mwh for line in lines), Decimal(0))
    return {
        "coefficientSet": energy_set.summary(),
        "basis": basis,
        "electricity": {
            "coefficient": electricity.id,
            "value": decimal_str(electricity.value),
            "unit": electricity.unit,
            "netMWh": decimal_str(mwh),
        },
        "coefficientsUsed": sorted({line.coefficient for line in lines}),
        "denominators": denominators.to_dict(),
        "figures": energy_figures(lines, denominators),
    }

"""Carbon-efficiency grading (methodology §6): L, its level, K and the grade 1–5.

Precision policy (docs/grading.md):

* L = emissions ÷ added value and K = L ÷ industry average are *reported* at 50 significant
  digits (the engine's local context) and, for display, at ``REPORT_PLACES`` decimals,
  ROUND_HALF_EVEN.
* Levels and grades are *decided* by exact comparison of fractions, never on a rounded value:
  ``n / d <= edge`` is tested as ``n <= edge × d`` with every product exact (rounding trapped).
  So K = 0.8 is grade 2 even when L and a population average do not terminate, and a firm can
  never move across an edge because of a 50-digit rounding.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from accounting.errors import (
    AccountingError,
    ArithmeticLimitError,
    InvalidIndustryAverageError,
    InvalidProductOutputError,
)
from accounting.grading.averages import (
    EXACT,
    INTENSITY_UNIT,
    IndustryAverage,
    check_added_value,
    check_emissions,
    industry_average_from_population,
)
from accounting.grading.rulesets import PRODUCT_UNIT, ProductBenchmark, Ruleset, load_ruleset
from accounting.numbers import context, decimal_str, reported_str

REPORT_PLACES = 4
# Statuses of a value that is not an official figure: a grade resting on one is indicative.
PLACEHOLDER_STATUSES = ("illustrative", "recalled")


@dataclass(frozen=True, slots=True)
class ProductIntensity:
    """Emissions per tonne of product, and its ratio to the benchmark where one is given."""

    output_t: Decimal
    intensity: Decimal
    benchmark: ProductBenchmark | None
    ratio: Decimal | None

    def to_dict(self) -> dict[str, Any]:
        bench = self.benchmark
        return {
            "output_t": decimal_str(self.output_t),
            "intensity": _figure(self.intensity) | {"unit": PRODUCT_UNIT},
            "benchmark": bench.to_dict() if bench else None,
            "ratio": _figure(self.ratio) if self.ratio is not None else None,
        }


@dataclass(frozen=True, slots=True)
class Rating:
    """One enterprise's carbon-efficiency rating for one period.

    ``intensity`` is L (t CO2 per 万元 of added value) and ``k`` is K, both at 50 significant
    digits; ``level`` and ``grade`` were decided exactly (see the module docstring).
    """

    industry: str
    year: int
    emissions_t: Decimal
    added_value_wan_yuan: Decimal
    intensity: Decimal
    level: str
    k: Decimal
    grade: int
    industry_average: IndustryAverage
    ruleset_id: str
    ruleset_version: str
    ruleset_digest: str
    product: ProductIntensity | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form: every Decimal as a string, exact and reported side by side."""
        return {
            "ruleset": {
                "id": self.ruleset_id,
                "version": self.ruleset_version,
                "digest": self.ruleset_digest,
            },
            "industry": self.industry,
            "year": self.year,
            "emissions_t": decimal_str(self.emissions_t),
            "added_value_wan_yuan": decimal_str(self.added_value_wan_yuan),
            "L": _figure(self.intensity) | {"unit": INTENSITY_UNIT},
            "level": self.level,
            "K": _figure(self.k),
            "grade": self.grade,
            "industry_average": self.industry_average.to_dict(),
            "product": self.product.to_dict() if self.product else None,
        }


@dataclass(frozen=True, slots=True)
class GradingInput:
    """One enterprise's figures for the period, for ``grade_many``."""

    industry: str
    emissions_t: Decimal
    added_value_wan_yuan: Decimal | None
    product_output_t: Decimal | None = None


def _figure(value: Decimal) -> dict[str, str]:
    return {"exact": decimal_str(value), "reported": reported_str(value, REPORT_PLACES)}


@dataclass(frozen=True, slots=True)
class _Grader:
    """What is fixed for one (ruleset, industry, year, average): built once, applied per firm."""

    ruleset: Ruleset
    industry: str
    year: int
    average: IndustryAverage
    benchmark: ProductBenchmark | None
    level_names: tuple[str, ...]
    level_edges: tuple[Decimal, ...]
    # Grade edge × average numerator: K <= edge  ⇔  e × avg.den <= edge × avg.num × v.
    k_edges: tuple[Decimal, ...]

    def rate(self, emissions: Any, added_value: Any, product_output: Any = None) -> Rating:
        e = check_emissions(emissions)
        v = check_added_value(added_value)
        avg = self.average
        try:
            with decimal.localcontext(EXACT):
                level = self.level_names[_band(e, v, self.level_edges)]
                k_num, k_den = e * avg.denominator, v * avg.numerator
                grade = _band(k_num, v, self.k_edges) + 1
        except decimal.Inexact:
            raise ArithmeticLimitError("L or K does not fit the engine precision") from None
        with context():
            intensity, k = e / v, k_num / k_den
        product = None if product_output is None else self._product(e, product_output)
        rs = self.ruleset
        return Rating(
            industry=self.industry,
            year=self.year,
            emissions_t=e,
            added_value_wan_yuan=v,
            intensity=intensity,
            level=level,
            k=k,
            grade=grade,
            industry_average=avg,
            ruleset_id=rs.id,
            ruleset_version=rs.version,
            ruleset_digest=rs.digest,
            product=product,
        )

    def _product(self, emissions: Decimal, output: Any) -> ProductIntensity:
        if not isinstance(output, Decimal) or not output.is_finite() or output <= 0:
            raise InvalidProductOutputError(
                f"product output must be a finite, positive Decimal (t), got {output!r}",
                field="product_output_t",
            )
        bench = self.benchmark
        try:
            with decimal.localcontext(EXACT):
                denominator = output * bench.value if bench else None
        except decimal.Inexact:
            raise ArithmeticLimitError("product output does not fit the engine precision") from None
        with context():
            intensity = emissions / output
            ratio = emissions / denominator if denominator is not None else None
        return ProductIntensity(output, intensity, bench, ratio)


def _band(numerator: Decimal, denominator: Decimal, edges: tuple[Decimal, ...]) -> int:
    """Index of the first band whose upper edge (inclusive) holds n / d; d > 0; exact context."""
    for index, edge in enumerate(edges):
        if numerator <= edge * denominator:
            return index
    return len(edges)


def _grader(ruleset: Ruleset, industry: str, year: int, average: IndustryAverage | None) -> _Grader:
    ruleset.check_applies(industry, year)
    if average is None:
        average = ruleset.average(industry, year)
    elif (average.industry, average.year) != (industry, year):
        raise InvalidIndustryAverageError(
            f"average is for {average.industry!r} {average.year}, not {industry!r} {year}",
            field="industry_average",
        )
    with decimal.localcontext(EXACT):
        k_edges = tuple(edge * average.numerator for edge in ruleset.grade_edges)
    return _Grader(
        ruleset,
        industry,
        year,
        average,
        ruleset.benchmark(industry, year),
        tuple(name for name, _ in ruleset.levels),
        tuple(edge for _, edge in ruleset.levels if edge is not None),
        k_edges,
    )


def _resolve(ruleset: Ruleset | str) -> Ruleset:
    return load_ruleset(ruleset) if isinstance(ruleset, str) else ruleset


def grade(
    emissions_t: Decimal,
    added_value_wan_yuan: Decimal | None,
    industry: str,
    year: int,
    ruleset: Ruleset | str,
    industry_average: IndustryAverage | None = None,
    product_output_t: Decimal | None = None,
) -> Rating:
    """Grade one enterprise for one period.

    ``industry_average`` defaults to the ruleset's value for (industry, year); pass a population
    average (``industry_average_from_population``) to grade against the ledger's own firms.
    """
    grader = _grader(_resolve(ruleset), industry, year, industry_average)
    return grader.rate(emissions_t, added_value_wan_yuan, product_output_t)


def grade_many(
    inputs: Iterable[GradingInput],
    ruleset: Ruleset | str,
    year: int,
    averages: Mapping[str, IndustryAverage] | None = None,
) -> tuple[Rating, ...]:
    """Grade many enterprises for one period, in input order (ruleset resolved once).

    ``averages`` maps industry → average and overrides the ruleset's; the first bad input
    raises, with its index as ``entry``.
    """
    rs = _resolve(ruleset)
    graders: dict[str, _Grader] = {}
    out = []
    for index, item in enumerate(inputs):
        try:
            grader = graders.get(item.industry)
            if grader is None:
                given = averages.get(item.industry) if averages else None
                grader = graders[item.industry] = _grader(rs, item.industry, year, given)
            out.append(
                grader.rate(item.emissions_t, item.added_value_wan_yuan, item.product_output_t)
            )
        except AccountingError as exc:
            raise exc.at(index) from None
    return tuple(out)


def ungraded(emissions_t: Decimal, added_value_wan_yuan: Decimal | None) -> dict[str, Any]:
    """What can be said of a period no ruleset grades: its emissions, added value and L, in
    ``Rating.to_dict``'s form (no level, K or grade: those need a ruleset's bands and average)."""
    e = check_emissions(emissions_t)
    v = check_added_value(added_value_wan_yuan)
    with context():
        intensity = e / v
    return {
        "emissions_t": decimal_str(e),
        "added_value_wan_yuan": decimal_str(v),
        "L": _figure(intensity) | {"unit": INTENSITY_UNIT},
    }


def indicative_reasons(rating: Mapping[str, Any], ruleset: Ruleset) -> tuple[str, ...]:
    """Why a rating (``Rating.to_dict`` form) is only indicative: each value the grade rests on
    whose status is a placeholder. Empty when every one is verified, secondary or derived."""
    reasons = []
    average = rating["industry_average"]
    status = (average.get("provenance") or {}).get("status")
    if average["origin"] == "ruleset" and status in PLACEHOLDER_STATUSES:
        reasons.append(
            f"the industry average L {average['value']} for {average['industry']} "
            f"{average['year']} is {status} (a placeholder, not an official statistic)"
        )
    for what, provenance in (
        ("grade bands", ruleset.grade_provenance),
        ("level bands", ruleset.level_provenance),
    ):
        if provenance.status in PLACEHOLDER_STATUSES:
            reasons.append(f"the ruleset's {what} are {provenance.status}")
    return tuple(reasons)


def population_averages(inputs: Iterable[GradingInput], year: int) -> dict[str, IndustryAverage]:
    """Per-industry population averages (Σ emissions ÷ Σ added value) of ``inputs``."""
    groups: dict[str, list[tuple[Decimal, Decimal]]] = {}
    for index, item in enumerate(inputs):
        try:
            pair = (check_emissions(item.emissions_t), check_added_value(item.added_value_wan_yuan))
        except AccountingError as exc:
            raise exc.at(index) from None
        groups.setdefault(item.industry, []).append(pair)
    return {
        industry: industry_average_from_population(industry, year, pairs)
        for industry, pairs in sorted(groups.items())
    }

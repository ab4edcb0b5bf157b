"""Benchmark levels (对标): where a firm's energy intensity stands against the NDRC
energy-efficiency benchmark (标杆水平) and baseline (基准水平) of its product.

The levels are versioned, sourced data (``accounting/data/benchmark-levels-*.json``, published
by digest). Selection rule: the level set's product marked ``default`` for the enterprise's
industry; an industry with no default (steel's levels are per process) or no listed product is
not assessed, and says why. Lower is better: at or below the benchmark is ``benchmark``, above
it but at or below the baseline ``between``, above the baseline ``below_baseline``.

The firm's intensity for a product measured in energy is its whole-boundary comprehensive
energy (kgce) per unit of product; for electrolytic aluminium it is its net metered
electricity (kWh) per t. Both include the firm's auxiliary consumption, so they can only
overstate the product's own intensity: a firm shown at the benchmark is at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from types import MappingProxyType
from typing import Any

from accounting.energy import Denominators, EnergySet, divide, energy_block
from accounting.errors import AccountingError
from accounting.factors import Provenance, parse_decimal, parse_provenance
from accounting.numbers import context, decimal_str, reported_str
from accounting.published import PublishedSet, Shelf, by_id, heading
from accounting.result import Result

DEFAULT_LEVEL_SET = "ndrc-2023"
LEVEL_SET_FORMAT = "carbon-ledger/benchmark-levels"
METRICS = ("energy", "electricity")
STANDINGS = ("benchmark", "between", "below_baseline", "not_assessed")


class LevelSetFormatError(AccountingError):
    code = "invalid_level_set"


class UnknownLevelSetError(AccountingError):
    code = "unknown_level_set"


LEVEL_SETS = Shelf(
    "benchmark level set",
    "benchmark-levels-{}.json",
    "benchmarkLevels",
    (UnknownLevelSetError, LevelSetFormatError),
)


@dataclass(frozen=True, slots=True)
class ProductLevel:
    id: str
    industry: str
    name_zh: str
    name_en: str
    metric: str
    unit: str
    units_per_t: Decimal
    benchmark: Decimal
    baseline: Decimal
    default: bool
    provenance: Provenance


@dataclass(frozen=True, eq=False)
class LevelSet(PublishedSet):
    products: MappingProxyType[str, ProductLevel]
    document: MappingProxyType[str, Any]

    def default_for(self, industry: str) -> ProductLevel | None:
        return next(
            (p for p in self.products.values() if p.industry == industry and p.default), None
        )


def available_level_sets() -> tuple[str, ...]:
    return LEVEL_SETS.ids()


def load_level_set(level_set_id: str = DEFAULT_LEVEL_SET) -> LevelSet:
    """A shipped level set by id: one object per id, however the id is passed."""
    return _load_level_set(level_set_id)


@cache
def _load_level_set(level_set_id: str) -> LevelSet:
    # Cached by the resolved id, as load_factor_set's sets are.
    return parse_level_set(LEVEL_SETS.read(level_set_id))


def parse_level_set(document: dict[str, Any]) -> LevelSet:
    if not isinstance(document, dict) or document.get("format") != LEVEL_SET_FORMAT:
        raise LevelSetFormatError(f"not a {LEVEL_SET_FORMAT} document")
    try:
        products = by_id(
            (_product(raw, document["sources"]) for raw in document["products"]),
            "product",
            LevelSetFormatError,
        )
        return LevelSet(**heading(document), products=products, document=MappingProxyType(document))
    except (KeyError, TypeError) as exc:
        raise LevelSetFormatError(f"level set is missing or misshapes {exc}") from None


def _product(raw: dict[str, Any], sources: dict[str, Any]) -> ProductLevel:
    where = str(raw["id"])
    if raw["metric"] not in METRICS:
        raise LevelSetFormatError(f"{where}: metric {raw['metric']!r}")
    benchmark, baseline = (
        parse_decimal(raw[k], f"{where}.{k}", error=LevelSetFormatError, non_negative=False)
        for k in ("benchmark", "baseline")
    )
    if benchmark > baseline:  # lower is better: the benchmark is the stricter level
        raise LevelSetFormatError(f"{where}: benchmark {benchmark} above baseline {baseline}")
    return ProductLevel(
        id=where,
        industry=str(raw["industry"]),
        name_zh=str(raw["name_zh"]),
        name_en=str(raw["name_en"]),
        metric=raw["metric"],
        unit=str(raw["unit"]),
        units_per_t=parse_decimal(raw["units_per_t"], f"{where}.units_per_t"),
        benchmark=benchmark,
        baseline=baseline,
        default=raw["default"] is True,
        provenance=parse_provenance(raw, sources, error=LevelSetFormatError),
    )


def standing_of(intensity: Decimal, level: ProductLevel) -> str:
    if intensity <= level.benchmark:
        return "benchmark"
    return "between" if intensity <= level.baseline else "below_baseline"


def firm_intensity(
    level: ProductLevel, total_tce: Decimal, net_mwh: Decimal, output_t: Decimal | None
) -> Decimal | None:
    """kgce (or kWh) per unit of product; None without a product output."""
    if output_t is None:
        return None
    with context():
        amount = (total_tce if level.metric == "energy" else net_mwh) * 1000
        units = output_t * level.units_per_t
    return divide(amount, units)


def benchmark_block(
    level_set: LevelSet,
    industry: str,
    total_tce: Decimal,
    net_mwh: Decimal,
    output_t: Decimal | None,
) -> dict[str, Any]:
    """The entry's ``benchmark`` block: the product, its levels, the firm's intensity and the
    standing, or ``not_assessed`` and why."""
    block: dict[str, Any] = {"levelSet": level_set.summary()}
    level = level_set.default_for(industry)
    if level is None:
        listed = any(p.industry == industry for p in level_set.products.values())
        why = "no_default_product" if listed else "industry_not_listed"
        return {**block, "product": None, "standing": "not_assessed", "reason": why}
    block.update(
        product=level.id,
        metric=level.metric,
        unit=level.unit,
        benchmark=decimal_str(level.benchmark),
        baseline=decimal_str(level.baseline),
    )
    intensity = firm_intensity(level, total_tce, net_mwh, output_t)
    if intensity is None:
        return {**block, "standing": "not_assessed", "reason": "no_product_output"}
    return {
        **block,
        "intensity": {"exact": decimal_str(intensity), "reported": reported_str(intensity)},
        "standing": standing_of(intensity, level),
    }


def energy_and_standing(
    result: Result,
    energy_set: EnergySet,
    level_set: LevelSet,
    basis: str,
    year: int,
    industry: str,
    denominators: Denominators,
) -> dict[str, Any]:
    """``{"energy": …, "benchmark": …}``: the two blocks an evaluation entry carries, computed
    the same way by the ledger and by the verifier."""
    energy = energy_block(result, energy_set, basis, year, denominators)
    total = Decimal(energy["figures"]["exact"]["total"])
    net_mwh = Decimal(energy["electricity"]["netMWh"])
    benchmark = benchmark_block(level_set, industry, total, net_mwh, denominators.product_output_t)
    return {"energy": energy, "benchmark": benchmark}

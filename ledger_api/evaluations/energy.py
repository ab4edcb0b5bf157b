"""The evaluation entry's energy (综合能耗, GB/T 2589) and benchmark (对标) blocks.

Computed from the same accounted lines as the emissions, with the shipped coefficient and level
sets (``accounting.energy``, ``accounting.benchmarks``); the verifier recomputes both from a
figure proof that carries the sets (``verifier.checks.energy``). The intensities divide by the
inputs the entry grades with: the declared added value and product output.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from accounting.benchmarks import DEFAULT_LEVEL_SET, energy_and_standing, load_level_set
from accounting.energy import DEFAULT_ENERGY_SET, Denominators, load_energy_set
from accounting.result import Result
from ledger_api.evaluations.report.model import EnergyView
from ledger_api.evaluations.request import EvaluationRequest


def energy_blocks(result: Result, industry: str, request: EvaluationRequest) -> dict[str, Any]:
    """``{"energy": …, "benchmark": …}`` for the entry (AccountingError on bad input)."""
    return energy_and_standing(
        result,
        load_energy_set(DEFAULT_ENERGY_SET),
        load_level_set(DEFAULT_LEVEL_SET),
        request.energy_basis,
        request.period_start.year,
        industry,
        Denominators(request.product_output, request.added_value),
    )


def energy_sets(entry: dict[str, Any]) -> dict[str, Any]:
    """The documents a figure proof of an energy figure carries, by the ids the entry names."""
    return {
        "coefficientSet": dict(load_energy_set(entry["energy"]["coefficientSet"]["id"]).document),
        "benchmarkLevels": dict(load_level_set(entry["benchmark"]["levelSet"]["id"]).document),
    }


def energy_summary(entry: dict[str, Any]) -> dict[str, Any] | None:
    """What the API shows beside the entry: the reported total, basis and intensities."""
    energy = entry.get("energy")
    if not energy:
        return None
    reported = energy["figures"]["reported"]
    return {"totalTce": reported["total"], "basis": energy["basis"], **reported["intensity"]}


STANDING_NAMES: dict[str, tuple[str, str]] = {
    "benchmark": ("达到标杆水平", "at or better than the benchmark level"),
    "between": ("介于标杆水平与基准水平之间", "between the benchmark and the baseline"),
    "below_baseline": ("未达到基准水平", "worse than the baseline level"),
    "not_assessed": ("未对标", "not assessed"),
}
REASONS: dict[str, tuple[str, str]] = {
    "industry_not_listed": ("行业不在能效标杆水平和基准水平清单中", "industry not in the lists"),
    "no_default_product": (
        "该行业按工序或产品设水平，未指定对标产品",
        "the industry's levels are per process or product; none is the firm's by default",
    ),
    "no_product_output": ("未申报产品产量", "no product output declared"),
}
CARRIER_NAMES: dict[str, str] = {
    "electricity": "电力",
    "heat": "热力",
    "raw_coal": "原煤",
    "anthracite": "无烟煤",
    "bituminous_coal": "烟煤",
    "lignite": "褐煤",
    "washed_coal": "洗精煤",
    "other_washed_coal": "其他洗煤",
    "briquettes": "型煤",
    "coke": "焦炭",
    "crude_oil": "原油",
    "fuel_oil": "燃料油",
    "gasoline": "汽油",
    "diesel": "柴油",
    "kerosene": "煤油",
    "lpg": "液化石油气",
    "lng": "液化天然气",
    "refinery_gas": "炼厂干气",
    "natural_gas": "天然气",
    "coke_oven_gas": "焦炉煤气",
    "blast_furnace_gas": "高炉煤气",
    "bof_gas": "转炉煤气",
    "other_gas": "其他煤气",
    "biomass": "生物质燃料",
}
BASIS_NAMES: dict[str, tuple[str, str]] = {
    "equivalent": ("等价值", "equivalent value"),
    "equal": ("当量值", "equal value"),
}


def _rows(values: dict[str, str]) -> list[tuple[str, Decimal]]:
    return [(key, Decimal(value)) for key, value in sorted(values.items())]


def _optional(values: dict[str, str], key: str) -> Decimal | None:
    return Decimal(values[key]) if key in values else None


def energy_view(entry: dict[str, Any]) -> EnergyView | None:
    """The report's energy section, printed exactly as the entry states it."""
    energy, benchmark = entry.get("energy"), entry.get("benchmark")
    if not energy or not benchmark:
        return None
    reported = energy["figures"]["reported"]
    electricity = energy["electricity"]
    standing = STANDING_NAMES[benchmark["standing"]]
    reason = REASONS.get(benchmark.get("reason") or "")
    if reason:
        standing = (f"{standing[0]}（{reason[0]}）", f"{standing[1]} ({reason[1]})")
    product = None
    if benchmark.get("product"):
        level = load_level_set(benchmark["levelSet"]["id"]).products[benchmark["product"]]
        product = (level.name_zh, level.name_en)
    has_levels = "benchmark" in benchmark
    unit = benchmark.get("unit", "")
    coefficients, levels = energy["coefficientSet"], benchmark["levelSet"]
    return EnergyView(
        total_tce=Decimal(reported["total"]),
        basis=BASIS_NAMES[energy["basis"]],
        electricity=f"{electricity['coefficient']} = {electricity['value']} {electricity['unit']}",
        coefficient_set=f"{coefficients['id']} {coefficients['version']}",
        by_carrier=[
            (CARRIER_NAMES.get(key, key), key, value) for key, value in _rows(reported["byCarrier"])
        ],
        by_source=_rows(reported["bySource"]),
        intensity_product=_optional(reported["intensity"], "product"),
        intensity_added_value=_optional(reported["intensity"], "addedValue"),
        level_set=f"{levels['id']} {levels['version']}",
        product=product,
        levels=f"{benchmark['benchmark']} / {benchmark['baseline']} {unit}" if has_levels else None,
        firm_intensity=(
            f"{benchmark['intensity']['reported']} {unit}" if "intensity" in benchmark else None
        ),
        standing=standing,
    )

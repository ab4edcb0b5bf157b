"""Input model of the carbon-efficiency evaluation report (碳效评价报告).

The renderer only presents: every figure arrives here already computed and rounded by the
accounting and rating steps, as a ``Decimal``, and is printed exactly as given. The report
computes no new figures, so whatever it shows can be checked against the evaluation entry
and its proof.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

# Category keys in the order the report lists them; the negative ones (exported, deducted)
# come after the positive ones so the breakdown reads as "gross, then subtractions".
CATEGORY_ORDER: tuple[str, ...] = (
    "combustion",
    "process",
    "purchased_electricity",
    "purchased_heat",
    "exported",
    "deducted",
    "biomass_memo",
)

# biomass CO2 is reported beside the inventory, never inside its total.
MEMO_CATEGORIES: frozenset[str] = frozenset({"biomass_memo"})

CATEGORY_NAMES: Mapping[str, tuple[str, str]] = {
    "combustion": ("化石燃料燃烧", "Fuel combustion"),
    "process": ("工业生产过程", "Industrial processes"),
    "purchased_electricity": ("净购入电力", "Purchased electricity"),
    "purchased_heat": ("净购入热力", "Purchased heat"),
    "exported": ("输出的电力和热力", "Exported electricity and heat"),
    "deducted": ("扣减量（固碳产品等）", "Deductions (carbon fixed in products, etc.)"),
    "biomass_memo": ("生物质燃烧 CO₂（备忘项）", "Biomass CO₂ (memo item)"),
}

GAS_NAMES: Mapping[str, tuple[str, str]] = {
    "CO2": ("二氧化碳", "Carbon dioxide"),
    "CH4": ("甲烷", "Methane"),
    "N2O": ("氧化亚氮", "Nitrous oxide"),
    "HFCs": ("氢氟碳化物", "Hydrofluorocarbons"),
    "PFCs": ("全氟化碳", "Perfluorocarbons"),
    "CF4": ("四氟化碳", "Tetrafluoromethane"),
    "C2F6": ("六氟乙烷", "Hexafluoroethane"),
    "SF6": ("六氟化硫", "Sulphur hexafluoride"),
    "NF3": ("三氟化氮", "Nitrogen trifluoride"),
}

GRADE_DESCRIPTIONS: Mapping[int, tuple[str, str]] = {
    1: ("高效", "high efficiency"),
    2: ("较高效", "fairly high efficiency"),
    3: ("接近行业平均", "near industry average"),
    4: ("较低效", "fairly low efficiency"),
    5: ("低效", "low efficiency"),
}

LEVEL_NAMES: Mapping[str, tuple[str, str]] = {
    "low": ("低碳", "low"),
    "medium": ("中碳", "medium"),
    "high": ("高碳", "high"),
}

# Upper edges of grades 1-4 on K (grade g holds K ≤ K_THRESHOLDS[g-1]; grade 5 is above 2.0).
K_THRESHOLDS: tuple[Decimal, ...] = (
    Decimal("0.6"),
    Decimal("0.8"),
    Decimal("1.2"),
    Decimal("2.0"),
)

# Illustrative colours only. Official 碳效码 colours are NOT verified and the methodology says
# not to claim them, so the report labels these as illustrative and callers may pass their own
# mapping. They are dark enough (contrast ≥ 4.5:1 on white) for the QR code to stay scannable
# and for white text on the grade scale to stay legible.
GRADE_COLOURS: Mapping[int, str] = {
    1: "#1b7a3a",
    2: "#3f7f1c",
    3: "#8a6d00",
    4: "#b5520f",
    5: "#b3261e",
}

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class SourceRow:
    """One emission source inside the boundary, with how much signed data covers it."""

    identifier: str
    name: str
    records: int
    devices: int


@dataclass(frozen=True)
class TrendPoint:
    """Total of an earlier period, for the trend chart (the current period is added there)."""

    period_label: str
    total: Decimal


@dataclass(frozen=True)
class RatingView:
    """The rating as presented: L = tCO2e per 万元 added value, K = L / industry average L."""

    L: Decimal
    L_level: str
    K: Decimal
    grade: int
    industry_average_L: Decimal
    industry_average_origin: str
    ruleset_id: str
    ruleset_version: str
    added_value_wan_yuan: Decimal
    product_intensity: Decimal | None = None
    product_benchmark: Decimal | None = None

    def __post_init__(self) -> None:
        if self.grade not in GRADE_DESCRIPTIONS:
            raise ValueError(f"grade must be 1..5, got {self.grade!r}")
        if self.L_level not in LEVEL_NAMES:
            raise ValueError(f"L_level must be one of {sorted(LEVEL_NAMES)}, got {self.L_level!r}")
        _require_decimals(self, ("L", "K", "industry_average_L", "added_value_wan_yuan"))
        _require_decimals(self, ("product_intensity", "product_benchmark"), optional=True)


@dataclass(frozen=True)
class FactorRow:
    """One factor the accounting used, with its status and source, as the report lists it."""

    factor_id: str
    value: str
    unit: str
    status: str
    source: str  # document, notice number and year, as one line


@dataclass(frozen=True)
class GridFactorView:
    """The grid factor purchased electricity used and the rule (or override) that chose it."""

    factor_id: str
    value: str
    level: str  # province, region, national, default or override
    note: str
    source: str
    override_reason: str | None = None


@dataclass(frozen=True)
class Scope2View:
    """Scope 2 both ways (``accounting.scope2``) and which one the grade used."""

    location_based: Decimal
    market_based: Decimal
    basis: str  # "location" or "market"
    certificates_used_mwh: str
    certificates_claimed_mwh: str
    claims: int
    residual: str  # what prices the electricity no certificate covers


@dataclass(frozen=True)
class EnergyView:
    """Comprehensive energy (综合能耗, GB/T 2589) and the benchmark standing (对标), as the
    entry's ``energy`` and ``benchmark`` blocks state them (``ledger_api.evaluations.energy``)."""

    total_tce: Decimal
    basis: tuple[str, str]  # 等价值 / equivalent value, or 当量值 / equal value
    electricity: str  # the electricity coefficient and its value
    coefficient_set: str
    by_carrier: Sequence[tuple[str, str, Decimal]]  # name (zh), key, tce
    by_source: Sequence[tuple[str, Decimal]]
    intensity_product: Decimal | None
    intensity_added_value: Decimal | None
    level_set: str
    product: tuple[str, str] | None  # its names, zh and en
    levels: str | None  # "benchmark 13000, baseline 13350 kWh/t"
    firm_intensity: str | None
    standing: tuple[str, str]  # zh, en


# How far the grade can be relied on: graded, indicative (a placeholder input) or absent.
GRADING_STATUSES = ("graded", "indicative", "not_gradable")


@dataclass(frozen=True)
class AnchorInfo:
    """Where the batch root holding the evaluation entry sits on chain."""

    chain_id: int
    contract: str
    tx_hash: str
    block: int


@dataclass(frozen=True)
class ReportData:
    """Everything one report shows; ``by_category['biomass_memo']`` is outside ``total_tco2e``."""

    enterprise_identifier: str
    enterprise_name: str
    industry_key: str
    industry_name_zh: str
    industry_name_en: str
    region: str
    period_start: date
    period_end: date
    boundary: str
    sources: Sequence[SourceRow]
    total_tco2e: Decimal
    by_category: Mapping[str, Decimal]
    by_gas: Mapping[str, Decimal]
    trend: Sequence[TrendPoint]
    rating: RatingView | None
    factor_set_id: str
    factor_set_digest: str
    gwp_set: str
    engine_version: str
    evaluation_identifier: str
    proof_url: str
    anchor: AnchorInfo | None
    generated_at: datetime
    grading_status: str = "graded"
    # The public page a scanned 碳效码 opens (set when the ledger has a public base URL).
    public_url: str | None = None
    grading_reasons: Sequence[str] = ()  # why indicative, or why not gradable
    intensity_L: Decimal | None = None  # L of a period no ruleset grades
    # Who stands behind the added value L divides by; None when no added value was given.
    added_value_attestation: str | None = None
    grid_factor: GridFactorView | None = None
    factors: Sequence[FactorRow] = ()
    # Location- and market-based Scope 2, when the enterprise claimed green certificates
    scope2: Scope2View | None = None
    # Energy and benchmark standing; absent in entries written before them
    energy: EnergyView | None = None

    def __post_init__(self) -> None:
        if self.grading_status not in GRADING_STATUSES:
            raise ValueError(f"grading_status must be one of {GRADING_STATUSES}")
        if (self.rating is None) != (self.grading_status == "not_gradable"):
            raise ValueError("a report has a rating exactly when the period is gradable")
        unknown = set(self.by_category) - set(CATEGORY_ORDER)
        if unknown:
            raise ValueError(f"unknown categories: {sorted(unknown)}")
        if self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        _require_decimals(self, ("total_tco2e",))
        values = [*self.by_category.values(), *self.by_gas.values()]
        values += [p.total for p in self.trend]
        if not all(isinstance(v, Decimal) and v.is_finite() for v in values):
            raise ValueError("every figure must be a finite Decimal")


def check_colours(colours: Mapping[int, str]) -> Mapping[int, str]:
    """Refuse a colour mapping that misses a grade or holds anything but ``#rrggbb``."""
    for grade in GRADE_DESCRIPTIONS:
        colour = colours.get(grade)
        if colour is None or not _COLOUR.match(colour):
            raise ValueError(f"grade {grade} needs a #rrggbb colour, got {colour!r}")
    return colours


def _require_decimals(obj: object, names: tuple[str, ...], optional: bool = False) -> None:
    # Floats would print with binary noise and flip grade boundaries: refuse them at the door.
    for name in names:
        value = getattr(obj, name)
        if value is None and optional:
            continue
        if not isinstance(value, Decimal) or not value.is_finite():
            raise ValueError(f"{name} must be a finite Decimal, got {value!r}")

"""Benchmark standing (对标) against the NDRC benchmark and baseline levels, worked out here
from the levels the lists state (2021 list, kept by the 2023 edition)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from accounting.benchmarks import (
    LevelSetFormatError,
    UnknownLevelSetError,
    benchmark_block,
    load_level_set,
    parse_level_set,
)
from accounting.factors import STATUSES
from verifier.trust import load_default_reference

CLINKER = (Decimal(100), Decimal(117))  # kgce/t
GLASS = (Decimal(8), Decimal(12))  # kgce per weight box (50 kg: 20 per t), above 800 t/d
ALUMINIUM_AC = (Decimal(13_000), Decimal(13_350))  # kWh/t


def standing(industry: str, tce: Decimal, mwh: Decimal, output: Decimal | None) -> dict[str, Any]:
    return benchmark_block(load_level_set(), industry, tce, mwh, output)


@pytest.mark.parametrize(
    ("kgce_per_t", "expected"),
    [
        (CLINKER[0] - Decimal("0.001"), "benchmark"),
        (CLINKER[0], "benchmark"),  # at the benchmark is at it
        (CLINKER[0] + Decimal("0.001"), "between"),
        (CLINKER[1], "between"),  # at the baseline meets it
        (CLINKER[1] + Decimal("0.001"), "below_baseline"),
    ],
)
def test_clinker_standing_at_each_edge(kgce_per_t: Decimal, expected: str) -> None:
    output = Decimal(1000)  # t of clinker
    got = standing("cement", kgce_per_t * output / 1000, Decimal(0), output)
    assert got["product"] == "cement_clinker"
    assert Decimal(got["intensity"]["exact"]) == kgce_per_t
    assert got["standing"] == expected


def test_glass_is_measured_per_weight_box() -> None:
    tce, output_t = Decimal(4000), Decimal(25_000)
    per_box = tce * 1000 / (output_t * 20)  # 8 kgce per weight box: the benchmark itself
    got = standing("flat_glass", tce, Decimal(0), output_t)
    assert (got["unit"], got["benchmark"], got["baseline"]) == ("kgce/weight box", "8", "12")
    assert Decimal(got["intensity"]["exact"]) == per_box == GLASS[0]
    assert got["standing"] == "benchmark"


def test_aluminium_is_measured_in_ac_power_per_t() -> None:
    mwh, output_t = Decimal(401_500), Decimal(30_150)
    kwh_per_t = mwh * 1000 / output_t  # 13 316.75 kWh/t
    got = standing("aluminium", Decimal(999_999), mwh, output_t)  # the tce do not matter
    assert got["intensity"]["reported"] == f"{kwh_per_t.quantize(Decimal('0.001')):f}"
    assert ALUMINIUM_AC[0] < kwh_per_t <= ALUMINIUM_AC[1]
    assert got["standing"] == "between"


def test_negative_levels_still_read_lower_is_better() -> None:
    converter = load_level_set().products["converter"]
    assert (converter.benchmark, converter.baseline) == (Decimal(-30), Decimal(-10))


@pytest.mark.parametrize(
    ("industry", "output", "reason"),
    [
        ("automotive", Decimal(10), "industry_not_listed"),
        ("iron_steel", Decimal(10), "no_default_product"),  # its levels are per process
        ("aluminium", None, "no_product_output"),
    ],
)
def test_not_assessed_says_why(industry: str, output: Decimal | None, reason: str) -> None:
    got = standing(industry, Decimal(100), Decimal(100), output)
    assert (got["standing"], got["reason"]) == ("not_assessed", reason)
    assert "intensity" not in got


def test_shipped_levels_are_published_and_sourced() -> None:
    levels = load_level_set()
    assert load_default_reference().level_sets[(levels.id, levels.version)] == levels.digest
    for product in levels.products.values():
        assert product.provenance.status in STATUSES
        assert product.provenance.notice.startswith("发改产业")
    defaults = sorted(p.industry for p in levels.products.values() if p.default)
    assert defaults == ["aluminium", "cement", "flat_glass"]  # one default per industry


def _document() -> dict[str, Any]:
    return copy.deepcopy(dict(load_level_set().document))


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["products"][0].update(benchmark="120"),  # stricter than the baseline
        lambda d: d["products"][0].update(metric="carbon"),
        lambda d: d["products"][0].update(baseline=117),  # a JSON number
        lambda d: d["products"].append(dict(d["products"][0])),
        lambda d: d["products"][0].pop("units_per_t"),
    ],
)
def test_malformed_level_sets_are_refused(damage: Any) -> None:
    document = _document()
    damage(document)
    with pytest.raises(LevelSetFormatError) as caught:
        parse_level_set(document)
    assert caught.value.code == "invalid_level_set"


def test_unknown_level_set() -> None:
    with pytest.raises(UnknownLevelSetError) as caught:
        load_level_set("ndrc-1999")
    assert (caught.value.code, caught.value.field) == ("unknown_level_set", "benchmarkLevels")


def test_the_shipped_set_is_one_object_however_it_is_named() -> None:
    default = load_level_set()
    assert load_level_set("ndrc-2023") is default
    assert load_level_set(level_set_id="ndrc-2023") is default

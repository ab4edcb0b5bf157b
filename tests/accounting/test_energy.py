"""Comprehensive energy consumption (GB/T 2589-2020) from accounted lines, worked out here from
the standard's Appendix A coefficients and the coefficient set's stated rules."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from importlib import resources

import pytest

from accounting import Entry, Inventory, account, load_factor_set
from accounting.energy import (
    Denominators,
    EnergySetFormatError,
    UnknownEnergySetError,
    energy_block,
    load_energy_set,
    parse_energy_set,
)
from accounting.factors import STATUSES
from verifier.trust import load_default_reference

# GB/T 2589-2020 Table A.1 (tce per unit: kgce/kg = tce/t; kgce/m³ × 10 = tce per 10⁴ m³)
RAW_COAL = Decimal("0.7143")
NATURAL_GAS = Decimal("1.2143") * 10
DIESEL = Decimal("1.4571")
HEAT = Decimal("0.03412")  # kgce/MJ = tce/GJ, also every quantity metered in GJ
EQUAL = Decimal("0.1229")  # electricity, 当量值
EQUIVALENT = {2019: Decimal("0.3064"), 2020: Decimal("0.3055"), 2022: Decimal("0.3007")}
BITUMINOUS_NCV = Decimal("23.204")  # GJ/t, cn-ghg-v2's default: no Appendix A coefficient


def inventory(*entries: Entry, year: int = 2024) -> Inventory:
    return Inventory("E1", "cement", date(year, 1, 1), date(year, 1, 31), tuple(entries))


def block(inv: Inventory, basis: str = "equivalent", **denominators: Decimal) -> dict:
    result = account(inv, load_factor_set("cn-ghg-v2"), "AR5")
    den = Denominators(denominators.get("output"), denominators.get("added"))
    return energy_block(result, load_energy_set(), basis, inv.period_start.year, den)


MIXED = (
    # cn-ghg-v2 has no default carbon content or oxidation rate for raw coal: measured
    Entry(
        "fuel.raw_coal",
        Decimal(100),
        "t",
        {"cc": Decimal("0.0262"), "of": Decimal("0.98")},
        source_id="kiln",
    ),
    Entry("fuel.natural_gas", Decimal(3), "10^4 Nm3", source_id="dryer"),
    Entry("fuel.diesel", Decimal("2.5"), "t", source_id="trucks"),
    Entry("fuel.bituminous_coal", Decimal(50), "t", source_id="kiln"),
    Entry("fuel.coke", Decimal(10), "t", {"ncv": Decimal(30)}, source_id="kiln"),
    Entry("electricity.purchased", Decimal(4_520_000), "kWh", source_id="grid"),
    Entry("electricity.exported", Decimal(20), "MWh", source_id="grid"),
    Entry("heat.purchased", Decimal(500), "GJ", source_id="steam"),
    Entry(  # a process input, not an energy carrier
        "process.clinker",
        Decimal(1000),
        "t",
        {"cao": Decimal("0.65"), "mgo": Decimal("0.02"), "cao_nc": Decimal("0.01")},
        source_id="kiln",
    ),
)


def mixed_total(electricity: Decimal) -> Decimal:
    return (
        100 * RAW_COAL
        + 3 * NATURAL_GAS
        + Decimal("2.5") * DIESEL
        + 50 * BITUMINOUS_NCV * HEAT  # rule 4: the NCV the emissions used
        + 10 * 30 * HEAT  # rule 2: the measured NCV, not coke's 0.9714
        + (4520 - 20) * electricity  # exported electricity subtracted at the same value
        + 500 * HEAT
    )


def test_each_rule_of_the_standard_gives_its_digits() -> None:
    energy = block(inventory(*MIXED), output=Decimal(1000), added=Decimal(250))
    total = mixed_total(EQUIVALENT[2022])  # 2024: the latest listed year is 2022
    exact = energy["figures"]["exact"]
    assert Decimal(exact["total"]) == total
    assert energy["figures"]["reported"]["total"] == f"{total.quantize(Decimal('0.001')):f}"
    assert Decimal(exact["byCarrier"]["coke"]) == 300 * HEAT
    assert Decimal(exact["byCarrier"]["bituminous_coal"]) == 50 * BITUMINOUS_NCV * HEAT
    assert Decimal(exact["byCategory"]["exported"]) == -20 * EQUIVALENT[2022]
    assert (
        Decimal(exact["bySource"]["kiln"])
        == 100 * RAW_COAL + 50 * BITUMINOUS_NCV * HEAT + 300 * HEAT
    )
    assert "process" not in exact["byCategory"]
    assert Decimal(exact["intensity"]["product"]) == total / 1000
    assert Decimal(exact["intensity"]["addedValue"]) == total / 250
    assert energy["electricity"] == {
        "coefficient": "electricity.equivalent.2022",
        "value": "0.3007",
        "unit": "tce/MWh",
        "netMWh": "4500",
    }
    assert energy["coefficientsUsed"] == [
        "electricity.equivalent.2022",
        "energy.content",
        "fuel.diesel",
        "fuel.natural_gas",
        "fuel.raw_coal",
        "ncv:fuel.bituminous_coal.ncv",
        "ncv:measured",
    ]


def test_equal_value_where_asked() -> None:
    energy = block(inventory(*MIXED), basis="equal")
    assert Decimal(energy["figures"]["exact"]["total"]) == mixed_total(EQUAL)
    assert energy["electricity"]["coefficient"] == "electricity.equal"


@pytest.mark.parametrize(("year", "used"), [(2019, 2019), (2020, 2020), (2018, 2019), (2030, 2022)])
def test_equivalent_value_is_the_latest_year_not_after_the_period(year: int, used: int) -> None:
    entry = Entry("electricity.purchased", Decimal(10), "MWh", source_id="grid")
    energy = block(inventory(entry, year=year))
    assert energy["electricity"]["coefficient"] == f"electricity.equivalent.{used}"
    assert Decimal(energy["figures"]["exact"]["total"]) == 10 * EQUIVALENT.get(
        used, Decimal(energy["electricity"]["value"])
    )


def test_no_intensity_without_a_denominator() -> None:
    energy = block(inventory(MIXED[0]))
    assert energy["figures"]["exact"]["intensity"] == {}
    assert energy["denominators"] == {"productOutputT": None, "addedValueWanYuan": None}


def test_shipped_sets_are_the_published_ones() -> None:
    reference = load_default_reference()
    energy = load_energy_set()
    assert reference.energy_sets[(energy.id, energy.version)] == energy.digest
    for coefficient in energy.coefficients.values():
        assert coefficient.provenance.status in STATUSES
        assert coefficient.provenance.document and coefficient.provenance.clause


def _document() -> dict:
    path = resources.files("accounting.data").joinpath("energy-coefficients-gbt2589-2020.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_other_numbers_change_the_digest() -> None:
    document = _document()
    doctored = copy.deepcopy(document)
    doctored["coefficients"][0]["value"] = "0.7"
    assert parse_energy_set(doctored).digest != parse_energy_set(document).digest


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["coefficients"][0].update(value=0.7143),  # a JSON number, not a string
        lambda d: d["coefficients"][0].update(unit="kgce/kg"),
        lambda d: d["coefficients"].append(dict(d["coefficients"][0])),
        lambda d: d.update(format="something-else"),
        lambda d: d["coefficients"][-1].pop("year"),
    ],
)
def test_malformed_sets_are_refused(damage) -> None:  # type: ignore[no-untyped-def]
    document = _document()
    damage(document)
    with pytest.raises(EnergySetFormatError) as caught:
        parse_energy_set(document)
    assert caught.value.code == "invalid_energy_set"


def test_unknown_set_is_refused_with_its_field() -> None:
    with pytest.raises(UnknownEnergySetError) as caught:
        load_energy_set("gbt2589-1999")
    assert (caught.value.code, caught.value.field) == ("unknown_energy_set", "energySet")


def test_a_fuel_the_appendix_lacks_takes_the_ncv_the_emissions_used() -> None:
    document = _document()
    document["coefficients"] = [c for c in document["coefficients"] if c["id"] != "fuel.raw_coal"]
    result = account(inventory(MIXED[0]), load_factor_set("cn-ghg-v2"), "AR5")
    none = Denominators(None, None)
    energy = energy_block(result, parse_energy_set(document), "equivalent", 2024, none)
    assert energy["coefficientsUsed"] == ["ncv:fuel.raw_coal.ncv"]
    assert Decimal(energy["figures"]["exact"]["total"]) == 100 * Decimal("20.908") * HEAT


def test_biomass_counts_by_its_measured_ncv() -> None:
    params = {"ncv": Decimal(15), "cc": Decimal("0.03"), "of": Decimal(1)}
    result = account(
        inventory(Entry("fuel.biomass", Decimal(5), "t", params)),
        load_factor_set("cn-ghg-v2"),
        "AR5",
    )
    energy = energy_block(result, load_energy_set(), "equivalent", 2024, Denominators(None, None))
    assert Decimal(energy["figures"]["exact"]["total"]) == 5 * 15 * HEAT
    by_category = energy["figures"]["exact"]["byCategory"]
    assert list(by_category) == ["biomass_memo"]
    assert Decimal(by_category["biomass_memo"]) == 5 * 15 * HEAT


def test_the_shipped_set_is_one_object_however_it_is_named() -> None:
    default = load_energy_set()
    assert load_energy_set("gbt2589-2020") is default
    assert load_energy_set(energy_set_id="gbt2589-2020") is default

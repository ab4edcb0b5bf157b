"""Bad input: each error is an AccountingError naming its code, entry index and field."""

from __future__ import annotations

from datetime import date

import pytest

from accounting import (
    AccountingError,
    ActivityNotAllowedError,
    Entry,
    FactorKindError,
    FactorNotFoundError,
    GasNotInGwpSetError,
    InvalidParameterError,
    InvalidQuantityError,
    Inventory,
    InventoryFormatError,
    MissingParameterError,
    NegativeQuantityError,
    UnitMismatchError,
    UnknownActivityError,
    UnknownFactorSetError,
    UnknownGwpSetError,
    UnknownIndustryError,
    UnknownUnitError,
    account,
    inventory_from_dict,
    load_factor_set,
)
from tests.accounting.helpers import D, inventory

GOOD = Entry("fuel.diesel", D("1"), "t")


def _fails(entry: Entry, industry: str = "general", gwp: str = "AR5") -> AccountingError:
    with pytest.raises(AccountingError) as info:
        account(inventory(industry, GOOD, GOOD, entry), gwp=gwp)
    return info.value


@pytest.mark.parametrize(
    ("entry", "error", "field"),
    [
        (Entry("fuel.unobtainium", D("1"), "t"), UnknownActivityError, "activity"),
        (Entry("electricity.purchased", D("1"), "t"), UnitMismatchError, "unit"),
        (Entry("fuel.natural_gas", D("1"), "m^3"), UnitMismatchError, "unit"),
        (Entry("fuel.diesel", D("1"), "furlongs of diesel"), UnknownUnitError, "unit"),
        (Entry("fuel.diesel", D("-1"), "t"), NegativeQuantityError, "quantity"),
        (Entry("electricity.exported", D("-5"), "MWh"), NegativeQuantityError, "quantity"),
        (Entry("fuel.diesel", 1.5, "t"), InvalidQuantityError, "quantity"),  # type: ignore[arg-type]
        (Entry("fuel.diesel", D("NaN"), "t"), InvalidQuantityError, "quantity"),
        (Entry("fuel.raw_coal", D("1"), "t"), MissingParameterError, "params.cc"),
        (
            Entry("fuel.biomass", D("1"), "t", {"cc": D("0.03"), "of": D("0.9")}),
            MissingParameterError,
            "params.ncv",
        ),
        (Entry("process.purchased.ferroalloy", D("1"), "t"), ActivityNotAllowedError, "activity"),
        (Entry("fuel.diesel", D("1"), "t", {"nvc": D("43")}), InvalidParameterError, "params.nvc"),
        (Entry("fuel.diesel", D("1"), "t", {"of": D("1.2")}), InvalidParameterError, "params.of"),
        (Entry("fuel.diesel", D("1"), "t", {"ncv": 43.3}), InvalidParameterError, "params.ncv"),  # type: ignore[dict-item]
        (
            Entry("electricity.purchased", D("1"), "MWh", factor="grid.mee.atlantis.2022"),
            FactorNotFoundError,
            "factor",
        ),
        (
            Entry("electricity.purchased", D("1"), "MWh", factor="heat.default"),
            FactorKindError,
            "factor",
        ),
        (Entry("fuel.diesel", D("1"), "t", factor="heat.default"), FactorKindError, "factor"),
    ],
)
def test_bad_entry_names_index_and_field(entry, error, field):
    exc = _fails(entry)
    assert isinstance(exc, error)
    assert exc.entry == 2
    assert exc.field == field
    assert "entry 2" in str(exc) and field in str(exc)
    assert exc.to_dict()["code"] == error.code


def test_missing_steel_parameter():
    exc = _fails(Entry("process.purchased.ferroalloy", D("1"), "t"), industry="iron_steel")
    assert isinstance(exc, MissingParameterError) and exc.field == "params.ef"


def test_abatement_pair_is_required_together():
    entry = Entry("process.n2o.adipic_acid", D("1"), "t", {"abatement_efficiency": D("0.9")})
    exc = _fails(entry, industry="chemicals")
    assert isinstance(exc, MissingParameterError) and exc.field == "params.abatement_utilisation"


def test_unknown_gwp_set():
    with pytest.raises(UnknownGwpSetError) as info:
        account(inventory("general", GOOD), gwp="AR7")
    assert info.value.field == "gwp" and info.value.entry is None


def test_gas_missing_from_gwp_set_names_entry():
    exc = _fails(Entry("fugitive.nf3", D("1"), "kg"), gwp="SAR")
    assert isinstance(exc, GasNotInGwpSetError) and exc.entry == 2 and exc.field == "gwp"


def test_unknown_factor_set():
    with pytest.raises(UnknownFactorSetError):
        load_factor_set("no-such-set")
    with pytest.raises(UnknownFactorSetError):
        account(inventory("general", GOOD), "no-such-set")


def test_inventory_header_errors():
    with pytest.raises(UnknownIndustryError) as info:
        Inventory("e", "shipbuilding", date(2025, 1, 1), date(2025, 1, 31), ())
    assert info.value.field == "industry"
    with pytest.raises(InventoryFormatError) as info:
        Inventory("e", "cement", date(2025, 2, 1), date(2025, 1, 31), ())
    assert info.value.field == "period_end"


def test_reader_errors_name_entry_and_field():
    doc = {
        "enterprise_id": "e",
        "industry": "general",
        "period_start": "2025-01-01",
        "period_end": "2025-01-31",
        "entries": [
            {"activity": "fuel.diesel", "quantity": "1", "unit": "t"},
            {"activity": "fuel.diesel", "quantity": "1,5", "unit": "t"},
        ],
    }
    with pytest.raises(InventoryFormatError) as info:
        inventory_from_dict(doc)
    assert (info.value.entry, info.value.field) == (1, "quantity")
    doc["entries"][1] = {"activity": "fuel.diesel", "quantity": "1"}
    with pytest.raises(InventoryFormatError) as info:
        inventory_from_dict(doc)
    assert (info.value.entry, info.value.field) == (1, "unit")
    doc["entries"][1]["unit"] = "t"
    doc["period_start"] = "June"
    with pytest.raises(InventoryFormatError) as info:
        inventory_from_dict(doc)
    assert info.value.field == "period_start"

"""Signed records aggregate into the same inventory, exactly, in any order."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from accounting import account, load_factor_set
from accounting.from_records import RecordQuantity, inventory_from_records

GRID = "88.118.8/SRC-GRID"
GAS = "88.118.8/SRC-GAS"


def hourly(
    activity: str,
    source: str,
    unit: str,
    scaled: list[int],
    decimals: int,
    attributes: dict[str, str] | None = None,
) -> list[RecordQuantity]:
    return [RecordQuantity(activity, source, q, decimals, unit, attributes) for q in scaled]


def test_records_sum_exactly_into_entries() -> None:
    # 720 hourly readings of 1234.567 kWh, and 30 daily readings of 2.05 (10^4 Nm3) of gas.
    records = hourly("electricity.purchased", GRID, "kWh", [1_234_567] * 720, 3)
    records += hourly(
        "fuel.natural_gas", GAS, "10^4 Nm3", [205] * 30, 2, {"params": {"ncv": "389.31"}}
    )
    random.Random(7).shuffle(records)
    inventory = inventory_from_records(
        "E", "automotive", date(2025, 6, 1), date(2025, 6, 30), records
    )
    by_code = {e.code: e for e in inventory.entries}
    assert by_code["electricity.purchased"].quantity == Decimal("1234.567") * 720
    assert by_code["fuel.natural_gas"].quantity == Decimal("2.05") * 30
    assert by_code["fuel.natural_gas"].params == {"ncv": Decimal("389.31")}
    assert [e.code for e in inventory.entries] == sorted(by_code)


def test_thirty_digit_readings_sum_without_rounding() -> None:
    # The largest reading ingestion takes: just under 10^12 kWh at 18 decimals, 30 digits.
    # Two of them and one of 10^-18 kWh: the sum has 31 digits, past Python's default 28.
    largest = 10**30 - 1
    records = hourly("electricity.purchased", GRID, "kWh", [largest, largest, 1], 18)
    inventory = inventory_from_records(
        "E", "automotive", date(2025, 6, 1), date(2025, 6, 30), records
    )
    (entry,) = inventory.entries
    assert entry.quantity == Decimal(f"{2 * largest + 1}E-18")  # the constructor is exact
    assert entry.quantity == Decimal("1999999999999.999999999999999999")


def test_same_records_in_any_order_give_the_same_digits() -> None:
    records = hourly("electricity.purchased", GRID, "MWh", list(range(1, 500)), 4)
    shuffled = records[:]
    random.Random(3).shuffle(shuffled)
    factor_set = load_factor_set()
    totals = {
        account(
            inventory_from_records("E", "automotive", date(2025, 6, 1), date(2025, 6, 30), rs),
            factor_set,
        ).total
        for rs in (records, shuffled)
    }
    assert len(totals) == 1
    # sum(1..499) = 124,750 scaled by 10^-4 MWh, times the default grid factor.
    expected_mwh = Decimal(124_750) / Decimal(10_000)
    (line,) = account(
        inventory_from_records("E", "automotive", date(2025, 6, 1), date(2025, 6, 30), records),
        factor_set,
    ).lines
    assert line.entry.quantity == expected_mwh

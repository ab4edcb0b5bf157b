"""Scope 2 both ways (``accounting.scope2``): the market-based figure prices the purchased MWh
no valid certificate covers at the grid factor (no residual mix is published for China), never
counts certificates beyond consumption, and grades only when the ruleset says market."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from accounting import account, load_factor_set
from accounting.from_records import RecordQuantity, inventory_from_records
from accounting.grading import parse_ruleset
from accounting.grading.rulesets import RulesetFormatError, load_ruleset
from accounting.grid import select_grid_factor
from accounting.result import Result
from accounting.scope2 import Scope2Error, scope2

HUZHOU = "330502"
# 1,250.5 kWh and 3.75 MWh bought, 0.5 MWh exported: 5.0005 MWh purchased in all.
PURCHASED_KWH, PURCHASED_MWH, EXPORTED_MWH = Decimal("1250.5"), Decimal("3.75"), Decimal("0.5")


def _result() -> Result:
    factor_set = load_factor_set("cn-ghg-v2")
    grid = select_grid_factor(factor_set, HUZHOU, 2025)
    records = [
        RecordQuantity("electricity.purchased", "S-A", 12505, 1, "kWh"),
        RecordQuantity("electricity.purchased", "S-B", 375, 2, "MWh"),
        RecordQuantity("electricity.exported", "S-B", 5, 1, "MWh"),
        RecordQuantity("fuel.natural_gas", "S-C", 12, 0, "wan_Nm3"),
    ]
    inventory = inventory_from_records(
        "E",
        "aluminium",
        date(2025, 6, 1),
        date(2025, 6, 30),
        records,
        factor_choices=grid.factor_choices(),
    )
    return account(inventory, factor_set, "AR5")


def _grid_factor() -> Decimal:
    return select_grid_factor(load_factor_set("cn-ghg-v2"), HUZHOU, 2025).factor.value


def test_location_based_is_the_purchased_electricity_category() -> None:
    result = _result()
    figures = scope2(result.lines, Decimal(0))
    purchased = PURCHASED_KWH / 1000 + PURCHASED_MWH
    assert figures.purchased_mwh == purchased
    assert figures.location == result.by_category["purchased_electricity"]
    assert figures.location == purchased * _grid_factor()  # exported is in neither figure
    assert figures.market == figures.location  # no certificate: the grid factor throughout


def test_market_based_prices_the_uncovered_rest_at_the_grid_factor() -> None:
    figures = scope2(_result().lines, Decimal(2))
    uncovered = PURCHASED_KWH / 1000 + PURCHASED_MWH - 2
    assert (figures.covered_mwh, figures.market) == (Decimal(2), uncovered * _grid_factor())
    block = figures.to_dict(["0x02", "0x01"])
    assert block["certificates"] == {"claims": ["0x01", "0x02"], "claimedMWh": "2", "usedMWh": "2"}
    assert block["residualFactor"]["value"] == str(_grid_factor())


def test_certificates_beyond_consumption_are_not_counted() -> None:
    figures = scope2(_result().lines, Decimal(9))
    assert figures.covered_mwh == PURCHASED_KWH / 1000 + PURCHASED_MWH
    assert (figures.claimed_mwh, figures.market) == (Decimal(9), Decimal(0))


def test_the_grade_uses_the_basis_the_ruleset_states() -> None:
    result = _result()
    location = scope2(result.lines, Decimal(2), "location")
    market = scope2(result.lines, Decimal(2), "market")
    assert location.graded_total(result.total) == result.total
    expected = result.total - 2 * _grid_factor()  # two MWh covered, priced at zero
    assert market.graded_total(result.total) == expected
    with pytest.raises(Scope2Error):
        scope2(result.lines, Decimal(0), "residual")


def test_rulesets_say_location_unless_they_state_market() -> None:
    shipped = load_ruleset("zj-huzhou-2021")
    assert shipped.scope2_basis == "location"
    document = dict(shipped.document)
    assert parse_ruleset({**document, "scope2Basis": "market"}).scope2_basis == "market"
    with pytest.raises(RulesetFormatError):
        parse_ruleset({**document, "scope2Basis": "both"})

"""Every bad grading input gives an AccountingError with a machine-readable code and field."""

from __future__ import annotations

import pytest

from accounting import (
    AccountingError,
    ArithmeticLimitError,
    GradingInput,
    grade,
    industry_average_from_population,
    load_ruleset,
    population_averages,
    ruleset_for,
)
from accounting.grading import IndustryAverage
from tests.accounting.helpers import D

RS = "zj-huzhou-2021"


def _error(call) -> AccountingError:
    with pytest.raises(AccountingError) as info:
        call()
    return info.value


@pytest.mark.parametrize(
    ("added_value", "code"),
    [
        (None, "missing_added_value"),
        (D(0), "invalid_added_value"),
        (D("-0.01"), "invalid_added_value"),
        (D("NaN"), "invalid_added_value"),
        (D("Infinity"), "invalid_added_value"),
        (1000.0, "invalid_added_value"),
        ("1000", "invalid_added_value"),
    ],
)
def test_bad_added_value(added_value, code):
    error = _error(lambda: grade(D(1), added_value, "cement", 2025, RS))
    assert (error.code, error.field) == (code, "added_value_wan_yuan")
    assert error.to_dict()["code"] == code


@pytest.mark.parametrize(
    ("emissions", "code"),
    [
        (D("-1"), "negative_emissions"),
        (None, "invalid_emissions"),
        (D("NaN"), "invalid_emissions"),
        (1.5, "invalid_emissions"),
    ],
)
def test_bad_emissions(emissions, code):
    error = _error(lambda: grade(emissions, D(1), "cement", 2025, RS))
    assert (error.code, error.field) == (code, "emissions_t")


@pytest.mark.parametrize("output", [D(0), D("-5"), D("sNaN"), 5.0])
def test_bad_product_output(output):
    error = _error(lambda: grade(D(1), D(1), "cement", 2025, RS, product_output_t=output))
    assert (error.code, error.field) == ("invalid_product_output", "product_output_t")


def test_unknown_industry_average():
    # 2024 is within the ruleset's validity but it ships averages for 2025 only.
    error = _error(lambda: grade(D(1), D(1), "cement", 2024, RS))
    assert (error.code, error.field) == ("unknown_industry_average", "industry")
    assert "population" in error.message  # says what to do instead


@pytest.mark.parametrize(
    ("industry", "year", "field"),
    [("general", 2025, "industry"), ("textiles", 2025, "industry"), ("cement", 2020, "year")],
)
def test_ruleset_not_applicable(industry, year, field):
    error = _error(lambda: grade(D(1), D(1), industry, year, RS))
    assert (error.code, error.field) == ("ruleset_not_applicable", field)


def test_ruleset_not_applicable_beats_a_supplied_average():
    average = industry_average_from_population("general", 2025, [(D(1), D(1))])
    error = _error(lambda: grade(D(1), D(1), "general", 2025, RS, industry_average=average))
    assert error.code == "ruleset_not_applicable"


def test_unknown_ruleset():
    error = _error(lambda: load_ruleset("zj-nowhere-1999"))
    assert (error.code, error.field) == ("unknown_ruleset", "ruleset")
    assert _error(lambda: grade(D(1), D(1), "cement", 2025, "nope")).code == "unknown_ruleset"


@pytest.mark.parametrize(("region", "year"), [("cn-js-nanjing", 2025), ("cn-zj-huzhou", 2026)])
def test_no_ruleset_for_region_and_year(region, year):
    error = _error(lambda: ruleset_for(region, year))
    assert (error.code, error.field) == ("ruleset_not_applicable", "region")


def test_bad_populations():
    empty = _error(lambda: industry_average_from_population("cement", 2025, []))
    assert (empty.code, empty.field) == ("invalid_industry_average", "population")
    # All-zero emissions: average 0, K undefined.
    zero = _error(lambda: industry_average_from_population("cement", 2025, [(D(0), D(5))]))
    assert zero.code == "invalid_industry_average"
    member = _error(
        lambda: industry_average_from_population("cement", 2025, [(D(1), D(1)), (D(1), None)])
    )
    assert (member.code, member.entry) == ("missing_added_value", 1)
    batch = _error(lambda: population_averages([GradingInput("cement", D(1), D(-1))], 2025))
    assert (batch.code, batch.entry) == ("invalid_added_value", 0)


def test_hand_built_average_must_be_consistent():
    with pytest.raises(AccountingError) as info:
        IndustryAverage("cement", 2025, "ruleset", D(1))  # no provenance
    assert info.value.code == "invalid_industry_average"
    with pytest.raises(AccountingError):
        IndustryAverage("cement", 2025, "statistics", D(1))


def test_figures_beyond_the_precision_are_refused_not_rounded():
    # 2000 + 1e-60 has 64 significant digits: comparing it with an edge would need rounding.
    emissions = D("2000." + "0" * 59 + "1")
    with pytest.raises(ArithmeticLimitError):
        grade(emissions, D(1000), "cement", 2025, RS)

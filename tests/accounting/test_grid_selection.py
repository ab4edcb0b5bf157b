"""The grid-factor selection rule of cn-ghg-v2, one test per branch, and rulesets chosen by a
region's division code. Each case states its province, period year and the published value."""

from __future__ import annotations

import pytest

from accounting import load_factor_set
from accounting.grading import load_ruleset, ruleset_for
from accounting.grading.rulesets import RulesetNotApplicableError
from accounting.grid import GridOverrideError, override_grid_factor, select_grid_factor
from accounting.regions import read_region
from tests.accounting.helpers import D
from verifier.trust import load_default_reference

V2 = load_factor_set("cn-ghg-v2")


def test_v2_is_a_new_published_version_and_v1_is_untouched() -> None:
    published = load_default_reference().factor_sets
    assert published[("cn-ghg-v2", "2.0.0")] == V2.digest
    v1 = load_factor_set("cn-ghg-v1")
    assert published[("cn-ghg-v1", "1.0.0")] == v1.digest
    assert "grid_selection" not in v1.document
    # Every v1 factor is in v2 with the same value and status: old figures keep their digits.
    for factor_id, factor in v1.factors.items():
        assert V2.factors[factor_id].value == factor.value
        assert V2.factors[factor_id].provenance.status == factor.provenance.status


@pytest.mark.parametrize(
    ("region", "year", "factor_id", "value", "level", "data_year"),
    [
        # Province published for the data year: Yunnan 2023 (公告2025年第47号), a 2025 period.
        ("530100", 2025, "grid.mee.province.yunnan.2023", "0.1333", "province", 2023),
        # A period of a published year uses that year: Yunnan 2022 (公告2024年第33号).
        ("云南省", 2022, "grid.mee.province.yunnan.2022", "0.1073", "province", 2022),
        # Tibet has no provincial factor: its regional grid, Southwest 2022.
        ("540000", 2022, "grid.mee.region.southwest.2022", "0.2268", "region", 2022),
        # Tibet in 2023: neither province nor Southwest published, so the national average.
        ("540100", 2025, "grid.mee.national.2023", "0.5306", "national", 2023),
        # Inner Mongolia spans two grids: no regional step, but its own 2021 factor exists.
        (
            "Inner Mongolia",
            2021,
            "grid.mee.province.inner_mongolia.2021",
            "0.7025",
            "province",
            2021,
        ),
        # A period before the first data year uses the first: Zhejiang 2021.
        ("330502", 2019, "grid.mee.province.zhejiang.2021", "0.5422", "province", 2021),
    ],
)
def test_each_branch_of_the_rule(
    region: str, year: int, factor_id: str, value: str, level: str, data_year: int
) -> None:
    chosen = select_grid_factor(V2, region, year)
    assert (chosen.factor.id, chosen.factor.value, chosen.level) == (factor_id, D(value), level)
    assert chosen.data_year == data_year and chosen.period_year == year
    assert chosen.factor_choices() == {
        "electricity.purchased": factor_id,
        "electricity.exported": factor_id,
    }
    recorded = chosen.to_dict()
    assert recorded["factor"] == factor_id and recorded["source"]["notice"].startswith("公告")


@pytest.mark.parametrize("region", [None, "", "Atlantis", "710000", "999999"])
def test_no_province_means_the_sets_default(region: str | None) -> None:
    chosen = select_grid_factor(V2, region, 2025)
    assert chosen.level == "default" and chosen.factor.id == "grid.mee.national.2022"
    assert chosen.factor.value == D("0.5366") and chosen.data_year is None


def test_a_set_without_the_rule_keeps_its_default() -> None:
    chosen = select_grid_factor(load_factor_set("cn-ghg-v1"), "530100", 2025)
    assert (chosen.level, chosen.factor.id) == ("default", "grid.mee.national.2022")


def test_filled_gaps_carry_their_notice_and_status() -> None:
    jiangsu_2022 = V2.factors["grid.mee.province.jiangsu.2022"]
    assert jiangsu_2022.value == D("0.5978") and jiangsu_2022.provenance.status == "secondary"
    assert jiangsu_2022.provenance.notice == "公告2024年第33号"
    east_2021 = V2.factors["grid.mee.region.east.2021"]
    assert east_2021.value == D("0.5992") and east_2021.provenance.notice == "公告2024年第12号"
    assert "grid.mee.province.tibet.2022" not in V2.factors  # not found in any source


def test_override_needs_a_reason_and_a_grid_factor() -> None:
    chosen = select_grid_factor(V2, "530100", 2025)
    with pytest.raises(GridOverrideError) as missing:
        override_grid_factor(chosen, V2, "grid.mee.national.2023", "  ")
    assert missing.value.field == "gridFactorReason"
    with pytest.raises(GridOverrideError) as wrong:
        override_grid_factor(chosen, V2, "heat.default", "supplier figure")
    assert wrong.value.field == "gridFactor"
    done = override_grid_factor(chosen, V2, "grid.mee.national.2023", "supplier figure")
    assert done.level == "override" and done.factor.value == D("0.5306")
    assert done.to_dict()["override"] == {
        "reason": "supplier figure",
        "ruleChoice": "grid.mee.province.yunnan.2023",
    }


@pytest.mark.parametrize(
    ("text", "code", "province"),
    [
        ("530100", "5301", "53"),
        ("530102", "530102", "53"),
        ("330500", "3305", "33"),
        ("330000", "33", "33"),
        ("Yunnan", "53", "53"),
        ("广西壮族自治区", "45", "45"),
        ("cn-zj-huzhou", "3305", "33"),
    ],
)
def test_region_texts(text: str, code: str, province: str) -> None:
    region = read_region(text)
    assert region is not None and (region.code, region.province) == (code, province)


@pytest.mark.parametrize("region", ["330502", "330500", "cn-zj-huzhou", "330523"])
def test_huzhou_codes_select_the_huzhou_ruleset(region: str) -> None:
    assert ruleset_for(region, 2025).id == "zj-huzhou-2021"


@pytest.mark.parametrize("region", ["330000", "330100", "530100", "Hebei", ""])
def test_outside_huzhou_no_ruleset_applies(region: str) -> None:
    with pytest.raises(RulesetNotApplicableError, match="not gradable"):
        ruleset_for(region, 2025)
    assert not load_ruleset("zj-huzhou-2021").covers(region)

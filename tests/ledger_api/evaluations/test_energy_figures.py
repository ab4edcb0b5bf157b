"""Energy (综合能耗, GB/T 2589-2020) and benchmark standing (对标) through the real ledger: an
aluminium smelter's signed readings of grid electricity, natural gas and diesel, evaluated,
anchored and proven; then the operator as the adversary, editing its own database before
anchoring, each dishonest energy figure caught at a named check.

Expected numbers are worked out here from the readings and the standard's coefficients:
GB/T 2589-2020 Table A.1 natural gas 1.2143 kgce/m³ (12.143 tce per 10⁴ m³), diesel
1.4571 kgce/kg, electricity equal value 0.1229 kgce/kWh; equivalent value: the national
average coal consumption of power supply of 2022 (the latest year the coefficient set lists
before 2025), 300.7 gce/kWh. Benchmark levels of electrolytic aluminium (2021 list): AC power
13 000 kWh/t (benchmark), 13 350 kWh/t (baseline).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from accounting.energy import load_energy_set
from anchoring.devchain import DevChain
from tests.conftest import LedgerServer
from tests.ledger_api.evaluations.adversary import proof, rewrite_entry, verify
from tests.ledger_api.evaluations.energy_case import (
    ADDED_VALUE,
    ENTERPRISE,
    GAS,
    GRID,
    OUTPUT_T,
    doctored_set,
    evaluate,
    recompute_with,
    smelter_ledger,
)
from tests.verifier.failures import failed
from verifier.checks.figure import parse_figure_bundle, verify_figure
from verifier.trust import load_default_reference

ANCHORING: dict[str, Any] = {}
DAYS = 7  # one evaluated day per case: a period is evaluated once unless superseded

# Every day: 8 hours of each of READINGS, in turn.
ELECTRICITY_MWH = Decimal("12.5") * 8
GAS_10K_M3 = Decimal("0.25") * 8
DIESEL_T = Decimal("0.5") * 8
EQUIVALENT_2022 = Decimal("300.7") / 1000  # tce/MWh
EQUAL = Decimal("0.1229")  # tce/MWh
NATURAL_GAS = Decimal("1.2143") * 10  # tce per 10⁴ m³
DIESEL = Decimal("1.4571")  # tce/t
AC_BENCHMARK, AC_BASELINE = Decimal(13_000), Decimal(13_350)


def expected_total(electricity: Decimal) -> Decimal:
    return ELECTRICITY_MWH * electricity + GAS_10K_M3 * NATURAL_GAS + DIESEL_T * DIESEL


def three(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.001')):f}"


@pytest.fixture(scope="module")
def ledger(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LedgerServer]:
    """One server whose smelter reported DAYS days of readings, all anchored, and one more."""
    tmp = tmp_path_factory.mktemp("energy")
    with smelter_ledger(dev_chain, w3, operator_account, tmp, DAYS) as (server, worker):
        ANCHORING["worker"] = worker
        yield server


@pytest.fixture(scope="module")
def made(ledger: LedgerServer) -> dict[str, str]:
    """One evaluation per case, the dishonest ones rewritten, then one anchoring round."""
    cases = {
        "honest": evaluate(ledger, 1),
        "equal": evaluate(ledger, 2, energyBasis="equal"),
        "doctored": evaluate(ledger, 3),
        "lowered": evaluate(ledger, 4),
        "flipped": evaluate(ledger, 5),
        "legacy": evaluate(ledger, 6),
        "inflated": evaluate(ledger, 7),
    }

    def lowered(entry: dict[str, Any]) -> None:
        for block in ("exact", "reported"):
            entry["energy"]["figures"][block]["total"] = "50"

    def legacy(entry: dict[str, Any]) -> None:
        del entry["energy"], entry["benchmark"]

    rewrite_entry(ledger, cases["doctored"], recompute_with(doctored_set()))
    rewrite_entry(ledger, cases["lowered"], lowered)
    rewrite_entry(ledger, cases["flipped"], lambda e: e["benchmark"].update(standing="benchmark"))
    rewrite_entry(ledger, cases["legacy"], legacy)
    official = dict(load_energy_set().document)
    rewrite_entry(ledger, cases["inflated"], recompute_with(official, ADDED_VALUE * 2))
    ANCHORING["worker"].run_once()
    return cases


def test_energy_block_is_worked_out_from_the_standard(
    ledger: LedgerServer, made: dict[str, str]
) -> None:
    answer = ledger.get(f"/v1/evaluations/{made['honest']}").json()
    entry = answer["entry"]
    energy, benchmark = entry["energy"], entry["benchmark"]
    assert answer["benchmark"] == benchmark
    assert answer["energy"] == {
        "totalTce": energy["figures"]["reported"]["total"],
        "basis": "equivalent",
        **energy["figures"]["reported"]["intensity"],
    }
    total = expected_total(EQUIVALENT_2022)
    reported = energy["figures"]["reported"]
    assert energy["basis"] == "equivalent"
    assert energy["electricity"]["coefficient"] == "electricity.equivalent.2022"
    assert reported["total"] == three(total) == "60.184"
    assert reported["byCarrier"] == {
        "diesel": three(DIESEL_T * DIESEL),
        "electricity": three(ELECTRICITY_MWH * EQUIVALENT_2022),
        "natural_gas": three(GAS_10K_M3 * NATURAL_GAS),
    }
    assert reported["bySource"] == {
        GAS: three(DIESEL_T * DIESEL + GAS_10K_M3 * NATURAL_GAS),
        GRID: three(ELECTRICITY_MWH * EQUIVALENT_2022),
    }
    assert reported["intensity"] == {
        "product": three(total / OUTPUT_T),
        "addedValue": three(total / ADDED_VALUE),
    }
    ac_kwh_per_t = ELECTRICITY_MWH * 1000 / OUTPUT_T  # 13 333.33… kWh/t
    assert AC_BENCHMARK < ac_kwh_per_t <= AC_BASELINE
    assert benchmark["product"] == "aluminium_ac"
    assert (benchmark["benchmark"], benchmark["baseline"]) == ("13000", "13350")
    assert benchmark["intensity"]["reported"] == three(ac_kwh_per_t)
    assert benchmark["standing"] == "between"
    equal = ledger.get(f"/v1/evaluations/{made['equal']}").json()["entry"]["energy"]
    assert equal["figures"]["reported"]["total"] == three(expected_total(EQUAL)) == "42.404"


def test_energy_figures_verify_against_the_chain(
    ledger: LedgerServer, made: dict[str, str]
) -> None:
    for figure in (
        "energy.total",
        f"energy.bySource.{GAS}",
        "energy.intensity.product",
        "benchmark.standing",
    ):
        bundle = proof(ledger, made["honest"], figure)
        result = verify(ledger, bundle)
        assert result.valid, (figure, failed(result), result.failure)
    equal = proof(ledger, made["equal"], "energy.total")
    assert equal.figure.value == "42.404" and verify_figure(equal, None).valid
    assert "energy" not in proof(ledger, made["honest"], "total").to_json()


def test_an_energy_figure_without_its_sets_fails_figures(
    ledger: LedgerServer, made: dict[str, str]
) -> None:
    data = proof(ledger, made["honest"], "energy.total").to_json()
    del data["energy"]
    result = verify_figure(parse_figure_bundle(data), None)
    assert failed(result) == ("figures", "FigureMismatch")


def test_a_coefficient_set_with_other_numbers_under_the_official_id_fails_factor_set(
    ledger: LedgerServer, made: dict[str, str]
) -> None:
    data = proof(ledger, made["doctored"], "energy.total").to_json()
    # The ledger serves the shipped set, which the doctored entry does not name...
    assert failed(verify_figure(parse_figure_bundle(data), None)) == (
        "factor-set",
        "EnergySetMismatch",
    )
    # ...and serving the doctored document it was computed with is not the published one.
    data["energy"]["coefficientSet"] = doctored_set()
    result = verify(ledger, parse_figure_bundle(data))
    assert failed(result) == ("factor-set", "EnergySetUnpublished")
    assert "gbt2589-2020 1.0.0" in result.failure.reason


def test_a_lowered_energy_figure_fails_recomputation(
    ledger: LedgerServer, made: dict[str, str]
) -> None:
    result = verify(ledger, proof(ledger, made["lowered"], "energy.total"))
    assert failed(result) == ("figures", "EnergyMismatch")
    assert "energy.figures.exact.total" in result.failure.reason


def test_a_flipped_standing_fails_recomputation(ledger: LedgerServer, made: dict[str, str]) -> None:
    """Between the levels, shown at the benchmark."""
    result = verify(ledger, proof(ledger, made["flipped"], "benchmark.standing"))
    assert failed(result) == ("figures", "BenchmarkMismatch")
    assert "benchmark.standing: recomputed 'between', stated 'benchmark'" in result.failure.reason


def test_energy_per_wan_yuan_on_another_added_value_than_the_grades_fails(
    ledger: LedgerServer, made: dict[str, str]
) -> None:
    """Consistent in itself, halving tce per 万元, but not the added value the rating uses."""
    result = verify(ledger, proof(ledger, made["inflated"], "energy.intensity.addedValue"))
    assert failed(result) == ("figures", "EnergyMismatch")
    assert "energy.denominators.addedValueWanYuan is 40" in result.failure.reason


def test_a_level_set_other_than_the_published_fails_factor_set(
    ledger: LedgerServer, made: dict[str, str]
) -> None:
    data = proof(ledger, made["honest"], "benchmark.standing").to_json()
    levels = data["energy"]["benchmarkLevels"]
    for product in levels["products"]:
        if product["id"] == "aluminium_ac":
            product["benchmark"] = "13500"  # every smelter at the benchmark
            product["baseline"] = "14000"
    result = verify_figure(parse_figure_bundle(data), None)
    assert failed(result) == ("factor-set", "BenchmarkLevelsMismatch")
    honest = parse_figure_bundle(proof(ledger, made["honest"], "benchmark.standing").to_json())
    published = load_default_reference()
    unpublished = replace(published, level_sets={})
    result = verify_figure(honest, None, reference=unpublished)
    assert failed(result) == ("factor-set", "BenchmarkLevelsUnpublished")


def test_entries_without_energy_still_verify(ledger: LedgerServer, made: dict[str, str]) -> None:
    assert verify(ledger, proof(ledger, made["legacy"], "total")).valid
    response = ledger.get(
        f"/v1/evaluations/{made['legacy']}/proof", params={"figure": "energy.total"}
    )
    assert response.status_code == 422
    assert (response.json()["error"]["code"], response.json()["error"]["field"]) == (
        "unknown_figure",
        "figure",
    )


def test_an_unknown_energy_basis_is_refused(ledger: LedgerServer) -> None:
    body = {"enterprise": ENTERPRISE, "periodStart": "2025-06-07", "periodEnd": "2025-06-07"}
    response = ledger.post("/v1/evaluations", json={**body, "energyBasis": "calorific"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "energyBasis"


def test_the_report_shows_energy_and_standing_in_both_languages(
    ledger: LedgerServer, made: dict[str, str]
) -> None:
    response = ledger.get(f"/v1/evaluations/{made['honest']}/report")
    assert response.status_code == 200, response.text
    html = response.text
    total = three(expected_total(EQUIVALENT_2022))
    assert f'<td class="num" id="energy-total">{total}</td>' in html
    assert "等价值" in html and "equivalent value" in html
    assert "介于标杆水平与基准水平之间" in html and "between the benchmark and the baseline" in html
    assert "13000 / 13350 kWh/t" in html
    assert '<tr data-carrier="natural_gas"><td>天然气' in html
    legacy = ledger.get(f"/v1/evaluations/{made['legacy']}/report")
    assert legacy.status_code == 200 and 'id="energy"' not in legacy.text

"""Evaluations follow the enterprise's registered region: the grid factor of its province and
the grading ruleset of its city, or a stored "not gradable" answer. Real server, real chain.
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import pytest

from accounting import account
from accounting.factors import parse_factor_set
from accounting.figures import figures
from accounting.from_records import RecordQuantity, inventory_from_records
from ledger_api.commands.serve import build_worker
from tests.conftest import LedgerServer
from tests.ledger_api.evaluations.helpers import anchored_hours
from verifier.checks.grid_choice import check_grid_choice
from verifier.errors import VerificationFailure
from verifier.formats.entry import EvaluationEntry
from verifier.trust import load_default_reference

JUNE_2025_CST = 1_748_707_200  # 2025-06-01T00:00:00+08:00
HOURS = 24
MWH = Decimal("1.000")  # each hourly reading
YUNNAN = "88.118.8/ENT-AL-YUNNAN"  # registered at 530100, Kunming, Yunnan
HUZHOU = "88.118.8/ENT-AL-HUZHOU"  # registered at 330502, Wuxing district, Huzhou
# MEE/NBS 2023 provincial factors (公告2025年第47号): the latest data year for a 2025 period.
YUNNAN_2023, ZHEJIANG_2023 = Decimal("0.1333"), Decimal("0.4974")
ALUMINIUM_AVERAGE_2025 = Decimal("25")  # zj-huzhou-2021's illustrative average


def _day(enterprise: str, **more: str) -> dict[str, str]:
    body = {"enterprise": enterprise, "periodStart": "2025-06-01", "periodEnd": "2025-06-01"}
    return {**body, "addedValue": "2", **more}


@pytest.fixture
def firms(ledger: LedgerServer) -> LedgerServer:
    for enterprise, region in ((YUNNAN, "530100"), (HUZHOU, "330502")):
        source = enterprise.replace("/ENT-", "/SRC-")
        anchored_hours(ledger, enterprise, source, "aluminium", JUNE_2025_CST, HOURS, 1_000, region)
    return ledger


def test_yunnan_firm_gets_yunnan_factor_and_a_stored_not_gradable_answer(
    firms: LedgerServer,
) -> None:
    response = firms.post("/v1/evaluations", json=_day(YUNNAN))
    assert response.status_code == 201, response.text
    result = response.json()
    emissions = HOURS * MWH * YUNNAN_2023  # 24 MWh × 0.1333 = 3.1992 t
    exact = result["entry"]["accounting"]["figures"]["exact"]["total"]
    assert Decimal(exact) == emissions and result["total"] == "3.199"
    grid = result["gridFactor"]
    assert grid["factor"] == "grid.mee.province.yunnan.2023" and grid["level"] == "province"
    assert (grid["periodYear"], grid["dataYear"], grid["province"]) == (2025, 2023, "53")
    assert grid["source"]["notice"] == "公告2025年第47号" and grid["override"] is None
    entry = result["entry"]
    assert entry["accounting"]["factorChoices"]["electricity.purchased"] == grid["factor"]
    assert entry["accounting"]["factorsUsed"] == ["grid.mee.province.yunnan.2023"]
    # Yunnan has no published industry average: stored with L, no grade, and the reason.
    assert result["grade"] is None and entry["rating"] is None
    grading = result["grading"]
    assert grading["status"] == "not_gradable" and grading["code"] == "no_ruleset_for_region"
    assert grading["reason"] == "not gradable: no published average for this industry and region"
    assert Decimal(grading["L"]["exact"]) == emissions / 2  # 1.5996 t/万元
    history = firms.get(f"/v1/enterprises/{YUNNAN}/ratings").json()
    assert [h["evaluation"] for h in history] == [result["identifier"]]

    report = firms.get(f"/v1/evaluations/{result['identifier']}/report")
    assert report.status_code == 200
    assert "不可评级" in report.text and "grid.mee.province.yunnan.2023" in report.text
    assert "公告2025年第47号" in report.text and "CLCE2;" in report.text

    build_worker(firms.settings()).run_once()
    bundle = firms.get(
        f"/v1/evaluations/{result['identifier']}/proof", params={"figure": "total"}
    ).json()
    # What carbon-verify recomputes: the bundle's factor set is the published cn-ghg-v2 and
    # carries the chosen factor, and the entry's factor choices reproduce its figures.
    factor_set = parse_factor_set(bundle["factorSet"])
    published = load_default_reference().factor_sets[(factor_set.id, factor_set.version)]
    assert factor_set.digest == published and factor_set.get(grid["factor"]) is not None
    quantities = [
        RecordQuantity(
            r["activity"], r["source"], int(r["quantity"]), int(r["decimals"]), r["unit"]
        )
        for r in (signed["message"] for signed in bundle["records"])
    ]
    inventory = inventory_from_records(
        YUNNAN,
        "aluminium",
        date(2025, 6, 1),
        date(2025, 6, 1),
        quantities,
        factor_choices=bundle["entry"]["accounting"]["factorChoices"],
    )
    recomputed = figures(account(inventory, factor_set, "AR5"))
    assert recomputed == bundle["entry"]["accounting"]["figures"]
    # carbon-verify's figures check also recomputes the choice from the rule, and refuses an
    # entry that used another factor without saying it was overridden.
    entry = EvaluationEntry.model_validate(bundle["entry"])
    assert "rule's province choice" in str(check_grid_choice(entry, factor_set))
    forged = copy.deepcopy(bundle["entry"])
    national = "grid.mee.national.2023"
    forged["accounting"]["factorChoices"] = dict.fromkeys(
        forged["accounting"]["factorChoices"], national
    )
    forged["accounting"]["gridFactor"]["factor"] = national
    with pytest.raises(VerificationFailure) as refused:
        check_grid_choice(EvaluationEntry.model_validate(forged), factor_set)
    assert refused.value.code == "GridFactorMismatch"


def test_huzhou_firm_is_graded_under_its_city_ruleset_and_marked_indicative(
    firms: LedgerServer,
) -> None:
    result = firms.post("/v1/evaluations", json=_day(HUZHOU)).json()
    emissions = HOURS * MWH * ZHEJIANG_2023  # 11.9376 t
    k = emissions / 2 / ALUMINIUM_AVERAGE_2025  # L 5.9688, K 0.238752 → grade 1
    rating = result["entry"]["rating"]
    assert result["gridFactor"]["factor"] == "grid.mee.province.zhejiang.2023"
    assert rating["ruleset"]["id"] == "zj-huzhou-2021" and Decimal(rating["K"]["exact"]) == k
    assert rating["grade"] == 1
    grading = result["grading"]
    assert grading["status"] == "indicative" and grading["rulesetSelection"] == "region"
    assert "illustrative" in grading["indicativeReasons"][0]
    report = firms.get(f"/v1/evaluations/{result['identifier']}/report").text
    assert "Indicative grade" in report and "CLCE2;" in report and "s=indicative" in report
    assert "illustrative placeholder values" in report  # the average's source, not "ruleset"


@pytest.mark.parametrize(
    ("more", "code", "field"),
    [
        ({"ruleset": "zj-huzhou-2021"}, "ruleset_not_applicable", "ruleset"),
        ({"gridFactor": "grid.mee.national.2023"}, "invalid_grid_override", "gridFactorReason"),
        (
            {"gridFactor": "heat.default", "gridFactorReason": "supplier contract"},
            "invalid_grid_override",
            "gridFactor",
        ),
        (
            {"factorChoices": {"electricity.purchased": "grid.mee.national.2023"}},
            "invalid_grid_override",
            "factorChoices.electricity.purchased",
        ),
    ],
)
def test_wrong_region_ruleset_and_unexplained_overrides_are_refused(
    firms: LedgerServer, more: dict[str, object], code: str, field: str
) -> None:
    response = firms.post("/v1/evaluations", json={**_day(YUNNAN), **more})
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["field"]) == (422, code, field)
    assert firms.get(f"/v1/enterprises/{YUNNAN}/ratings").json() == []


def test_an_override_with_a_reason_is_recorded_as_one(firms: LedgerServer) -> None:
    reason = "green-power contract covers none of June; auditor asked for the national figure"
    body = _day(YUNNAN, gridFactor="grid.mee.national.2023", gridFactorReason=reason)
    result = firms.post("/v1/evaluations", json=body).json()
    grid = result["gridFactor"]
    assert grid["level"] == "override" and grid["factor"] == "grid.mee.national.2023"
    assert grid["override"] == {"reason": reason, "ruleChoice": "grid.mee.province.yunnan.2023"}
    exact = result["entry"]["accounting"]["figures"]["exact"]["total"]
    assert Decimal(exact) == HOURS * MWH * Decimal("0.5306")  # 12.7344 t
    report = firms.get(f"/v1/evaluations/{result['identifier']}/report").text
    assert "override" in report and reason in report

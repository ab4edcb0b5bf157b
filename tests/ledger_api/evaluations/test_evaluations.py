"""The evaluation flow over real HTTP: records → anchored entry → rating → figure proofs."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from ledger_api.commands.serve import build_worker
from tests.conftest import LedgerServer
from tests.ledger_api.evaluations.helpers import anchored_hours
from verifier.formats.figure import FigureProofBundle

ENTERPRISE = "88.118.8/ENT-AL-EVAL"
GRID = "88.118.8/SRC-AL-EVAL-GRID"
JUNE_2025_CST = 1_748_707_200  # 2025-06-01T00:00:00+08:00
READINGS = 720  # 30 days of hourly readings

# 720 readings of 10.000 MWh at the MEE 2022 national grid factor 0.5366 tCO2/MWh: the firm has
# no registered region, so the factor set's default applies (test_regions.py has the rule).
EMISSIONS = Decimal("10.000") * READINGS * Decimal("0.5366")  # 3863.52 t
ADDED_VALUE = Decimal("200")  # 万元
L = EMISSIONS / ADDED_VALUE  # 19.3176 t/万元
ALUMINIUM_AVERAGE_2025 = Decimal("25")  # the shipped ruleset's (illustrative) average
K = L / ALUMINIUM_AVERAGE_2025  # 0.772704 → grade 2 (0.6 < K <= 0.8)


def evaluation_body(**changes: object) -> dict[str, object]:
    body = {
        "enterprise": ENTERPRISE,
        "periodStart": "2025-06-01",
        "periodEnd": "2025-06-30",
        "addedValue": str(ADDED_VALUE),
        "ruleset": "zj-huzhou-2021",
    }
    return {**body, **changes}


@pytest.fixture
def month(ledger: LedgerServer) -> LedgerServer:
    """A month of signed, anchored grid readings of one aluminium smelter."""
    anchored_hours(ledger, ENTERPRISE, GRID, "aluminium", JUNE_2025_CST, READINGS, 10_000)
    return ledger


def test_evaluation_grades_and_its_figures_are_provable(month: LedgerServer) -> None:
    response = month.post("/v1/evaluations", json=evaluation_body())
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["total"] == "3863.520" and not result["anchored"]
    rating = result["entry"]["rating"]
    assert rating["grade"] == 2 and rating["level"] == "high"  # L > 2.0 t/万元
    assert Decimal(rating["L"]["exact"]) == L and Decimal(rating["K"]["exact"]) == K
    assert result["entry"]["records"]["count"] == READINGS
    assert result["entry"]["records"]["devices"][0]["firstSeq"] == 1

    identifier = result["identifier"]
    pending = month.get(f"/v1/evaluations/{identifier}/proof")
    assert (pending.status_code, pending.json()["error"]["code"]) == (409, "not_anchored")
    build_worker(month.settings()).run_once()

    for figure, value in [
        ("total", "3863.520"),
        (f"bySource.{GRID}", "3863.520"),
        ("rating.grade", "2"),
        ("byCategory.purchased_electricity", "3863.520"),
    ]:
        body = month.get(f"/v1/evaluations/{identifier}/proof", params={"figure": figure})
        assert body.status_code == 200, body.text
        bundle = FigureProofBundle.model_validate(body.json())
        assert (bundle.figure.path, bundle.figure.value) == (figure, value)
        assert len(bundle.records) == READINGS
        assert sum(len(b.records) for b in bundle.batches) == READINGS

    report = month.get(f"/v1/evaluations/{identifier}/report")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert "碳效评价报告" in report.text and "3863.520" in report.text
    assert "<svg" in report.text and identifier in report.text

    ratings = month.get(f"/v1/enterprises/{ENTERPRISE}/ratings").json()
    assert [r["grade"] for r in ratings] == [2]
    figures = month.get(f"/v1/enterprises/{ENTERPRISE}/figures").json()
    assert figures[0]["total"] == "3863.520"


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"periodStart": "2025-08-01", "periodEnd": "2025-08-31"}, 422, "no_data"),
        ({"addedValue": None}, 422, "missing_added_value"),
        ({"ruleset": "nowhere-1999"}, 422, "unknown_ruleset"),
        ({"periodStart": "2021-06-01", "periodEnd": "2021-06-30"}, 422, "no_data"),
        ({"periodEnd": "2025-05-01"}, 422, "period_reversed"),
        ({"enterprise": "88.118.8/NOBODY"}, 404, "enterprise_not_found"),
        ({"addedValue": 12.5}, 422, "invalid_request"),
    ],
)
def test_bad_evaluations_record_nothing(
    month: LedgerServer, changes: dict[str, object], status: int, code: str
) -> None:
    body = {k: v for k, v in evaluation_body(**changes).items() if v is not None}
    response = month.post("/v1/evaluations", json=body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert month.get(f"/v1/enterprises/{ENTERPRISE}/ratings").json() == []


def test_unknown_figure_is_422(month: LedgerServer) -> None:
    identifier = month.post("/v1/evaluations", json=evaluation_body()).json()["identifier"]
    build_worker(month.settings()).run_once()
    response = month.get(f"/v1/evaluations/{identifier}/proof", params={"figure": "byGas.SF6"})
    assert (response.status_code, response.json()["error"]["code"]) == (422, "unknown_figure")


def test_ruleset_gaps_are_clear_errors(ledger: LedgerServer) -> None:
    june_2024_cst = 1_717_171_200  # 2024-06-01T00:00:00+08:00: the ruleset has no 2024 average
    anchored_hours(
        ledger,
        "88.118.8/ENT-AL-2024",
        "88.118.8/SRC-AL-2024",
        "aluminium",
        june_2024_cst,
        24,
        1_000,
    )
    anchored_hours(
        ledger, "88.118.8/ENT-GEN", "88.118.8/SRC-GEN", "general", JUNE_2025_CST, 24, 1_000
    )
    cases = [
        ("88.118.8/ENT-AL-2024", "2024-06-01", "unknown_industry_average"),
        ("88.118.8/ENT-GEN", "2025-06-01", "ruleset_not_applicable"),
    ]
    for enterprise, day, code in cases:
        body = evaluation_body(enterprise=enterprise, periodStart=day, periodEnd=day)
        response = ledger.post("/v1/evaluations", json=body)
        assert (response.status_code, response.json()["error"]["code"]) == (422, code)
        ratings = ledger.get(f"/v1/enterprises/{enterprise}/ratings").json()
        assert ratings == []


def test_evaluate_command(month: LedgerServer) -> None:
    def run(first: str, last: str) -> subprocess.CompletedProcess[str]:
        command = [
            str(Path(sys.executable).parent / "carbon-ledger"),
            "evaluate",
            ENTERPRISE,
            "--from",
            first,
            "--to",
            last,
            "--added-value",
            "200",
            "--ruleset",
            "zj-huzhou-2021",
            "--api",
            month.base_url,
        ]
        env = {**os.environ, "CARBON_API_KEY": month.token}
        return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)

    done = run("2025-06-01", "2025-06-30")
    assert done.returncode == 0, done.stderr
    assert "total 3863.520 tCO2e" in done.stdout
    # No region registered: the factor set's default grid factor, and the placeholder average
    # makes the grade indicative.
    assert "grid factor grid.mee.national.2022 = 0.5366" in done.stdout
    assert "INDICATIVE grade 2" in done.stdout
    bad = run("2025-08-01", "2025-08-31")  # July holds the reading closing June
    assert bad.returncode == 1 and "no_data" in bad.stderr and "Traceback" not in bad.stderr

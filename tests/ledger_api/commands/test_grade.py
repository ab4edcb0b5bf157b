"""``carbon-ledger grade``: the ledger's grading, offline, on the exact grade edges, and clear
refusals of bad input. The Huzhou ruleset's aluminium average for 2025 is 25 t/万元, so with an
added value of 1 万元, K = emissions ÷ 25 and the edges K = 0.6, 0.8, 1.2, 2.0 sit at emissions
15, 20, 30 and 50 t."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from accounting.grading import grade
from ledger_api.cli import app

RUNNER = CliRunner()
BASE = ["grade", "--industry", "aluminium", "--year", "2025", "--added-value", "1"]
TINY = "0.000000000001"  # the smallest step the command's decimals allow (12 places)


def run(*args: str) -> tuple[int, str, str]:
    result = RUNNER.invoke(app, [*BASE, *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("emissions", "grade_expected"),
    [
        ("15", 1),  # K = 15 / 25 = 0.6: the upper edge of grade 1 is inclusive
        (f"{Decimal(15) + Decimal(TINY)}", 2),
        ("20", 2),  # K = 0.8
        (f"{Decimal(20) + Decimal(TINY)}", 3),
        ("30", 3),  # K = 1.2
        (f"{Decimal(30) + Decimal(TINY)}", 4),
        ("50", 4),  # K = 2.0
        (f"{Decimal(50) + Decimal(TINY)}", 5),
    ],
)
def test_grades_on_the_edges_as_the_ledger_does(emissions: str, grade_expected: int) -> None:
    code, out, _ = run("--emissions", emissions, "--ruleset", "zj-huzhou-2021", "--json")
    assert code == 0
    shown = json.loads(out)
    ledger = grade(Decimal(emissions), Decimal(1), "aluminium", 2025, "zj-huzhou-2021")
    assert shown["rating"] == ledger.to_dict() and shown["rating"]["grade"] == grade_expected
    # The shipped average is a placeholder: the grade is labelled indicative.
    assert shown["status"] == "indicative" and "illustrative" in shown["indicativeReasons"][0]


def test_region_code_finds_its_ruleset_and_the_text_names_the_status() -> None:
    code, out, _ = run("--emissions", "20", "--region", "330502")
    assert code == 0
    assert "zj-huzhou-2021" in out and "INDICATIVE grade 2" in out and "K            0.8000" in out


def test_a_stated_average_with_its_source() -> None:
    # K = 20 / (1 × 16) = 1.25 → grade 4; the stated average is not a placeholder.
    args = ["--emissions", "20", "--ruleset", "zj-huzhou-2021", "--average", "16"]
    code, out, _ = run(*args, "--average-source", "NBS yearbook table 9-3", "--json")
    shown = json.loads(out)
    assert code == 0 and shown["rating"]["grade"] == 4 and shown["status"] == "graded"
    assert shown["rating"]["K"]["exact"] == "1.25"
    assert "NBS yearbook table 9-3" in shown["rating"]["industry_average"]["provenance"]["document"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--emissions", "1e5", "--ruleset", "zj-huzhou-2021"], "not a plain decimal"),
        (["--emissions", "-5", "--ruleset", "zj-huzhou-2021"], "not a plain decimal"),
        (["--emissions", "NaN", "--ruleset", "zj-huzhou-2021"], "not a plain decimal"),
        (["--emissions", "5"], "name a --ruleset"),
        (["--emissions", "5", "--ruleset", "zj-huzhou-2021", "--region", "330502"], "not both"),
        (["--emissions", "5", "--ruleset", "nowhere-1999"], "unknown ruleset"),
        (["--emissions", "5", "--region", "530100"], "not gradable"),
        (["--emissions", "5", "--ruleset", "zj-huzhou-2021", "--average", "3"], "average-source"),
        (
            ["--emissions", "5", "--ruleset", "zj-huzhou-2021", "--average", "0"],
            "--average-source",
        ),
    ],
)
def test_bad_input_exits_2_with_a_message(args: list[str], message: str) -> None:
    code, out, err = run(*args)
    assert code == 2 and out == "" and message in err and "Traceback" not in err


def test_zero_added_value_and_unknown_industry_are_refused() -> None:
    tail = ["--emissions", "5", "--ruleset", "zj-huzhou-2021"]
    zero = ["grade", "--industry", "aluminium", "--year", "2025", "--added-value", "0", *tail]
    refused = RUNNER.invoke(app, zero)
    assert refused.exit_code == 2 and "added value" in refused.stderr
    other = ["grade", "--industry", "shipbuilding", "--year", "2025", "--added-value", "1", *tail]
    refused = RUNNER.invoke(app, other)
    assert refused.exit_code == 2 and "does not cover industry" in refused.stderr

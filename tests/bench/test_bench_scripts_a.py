"""Every benchmark script stays runnable: this half of them at their smallest sizes (the cases
are in helpers.py), and the check that no script is left without a case."""

from __future__ import annotations

import pytest

from tests.bench.helpers import CASES, Case, bench_scripts, cases, run_case


@pytest.mark.parametrize("case", cases(1))
def test_bench_script_runs(case: Case) -> None:
    run_case(case)


def test_every_bench_script_has_a_case() -> None:
    scripts = bench_scripts()
    covered = {case.script for case in CASES}
    missing = [script for script in scripts if script not in covered]
    assert missing == [], f"no case in tests/bench/helpers.py for {', '.join(missing)}"
    gone = sorted(covered - set(scripts))
    assert gone == [], f"cases of scripts that are gone: {', '.join(gone)}"
    assert {case.half for case in CASES} <= {1, 2}, "a case's half names no test file"

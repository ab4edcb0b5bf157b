"""Every benchmark script stays runnable: the other half of them at their smallest sizes (the
cases are in helpers.py; a file each, so two workers run them at once)."""

from __future__ import annotations

import pytest

from tests.bench.helpers import Case, cases, run_case


@pytest.mark.parametrize("case", cases(2))
def test_bench_script_runs(case: Case) -> None:
    run_case(case)

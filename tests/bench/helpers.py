"""Every benchmark script at its smallest: the arguments that still take it through its whole
path, what its JSON lines must say, and the run itself.

A script is run as ``make bench`` runs it (``python bench/<script>``, from the repository root)
in a session of its own, with none of the caller's ``CARBON_*`` settings: a bench starts its
own chain, deployment and server, and must not be pointed at a developer's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium_executable

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / "bench"
#: Seconds a script may take on a box the rest of the suite keeps busy; it takes 1 to 30 alone.
TIMEOUT_S = 300.0
#: Seconds a timed-out script gets, after SIGINT, to stop the chain and server it started.
STOP_GRACE_S = 20.0


@dataclass(frozen=True)
class Case:
    """One run of one script.

    ``names``: the ``bench`` (or ``benchmark``) of each JSON line it prints, in order; the last
    line of its output is the last of them. ``expect``: fields those lines must hold, by name,
    each worked out from the arguments. ``figures``: fields of the last line that must be
    numbers, for a part that would otherwise be left out silently (a browser, an alert).
    ``half``: the test file that runs it (each file runs on its own xdist worker).
    """

    script: str
    args: tuple[str, ...]
    names: tuple[str, ...]
    half: int
    expect: dict[str, dict[str, Any]] = field(default_factory=dict)
    figures: tuple[str, ...] = ()
    browser: bool = False

    @property
    def id(self) -> str:
        return " ".join((self.script, *self.args))


def _offline_cases() -> list[Case]:
    """Scripts without a ledger server (bench_anchor starts a chain for its gas figures)."""
    leaves = 1_000
    # A tree of n leaves has 2n - 1 nodes of 32 bytes; the serialised tree is exactly those.
    tree_bytes = 32 * (2 * leaves - 1)
    meters, seconds = 2, 60
    return [
        Case(
            "bench_accounting.py",
            ("--entries", "600"),
            ("accounting",),
            1,
            {"accounting": {"entries": 600}},
        ),
        Case(
            "bench_anchor.py",
            ("--leaves", str(leaves), "--gas-sizes", "1,10"),
            ("tree_build_persist", "anchor_gas"),
            1,
            {"tree_build_persist": {"leaves": leaves, "tree_bytes": tree_bytes}},
        ),
        Case(
            "bench_gateway.py",
            ("--meters", str(meters), "--seconds", str(seconds), "--batch", "50"),
            ("gateway",),
            1,
            # Every meter read once a second: one reading each a second (the first round opens).
            {"gateway": {"meters": meters, "readings": meters * seconds}},
        ),
        Case(
            "bench_grading.py",
            ("--enterprises", "60"),
            ("grading",),
            1,
            {"grading": {"enterprises": 60}},
        ),
        Case(
            "bench_merkle.py",
            ("--leaves", str(leaves), "--standard"),
            ("merkle",),
            1,
            {"merkle": {"leaves": leaves, "bytes": tree_bytes}},
            figures=("standard_of_s",),
        ),
        Case(
            "bench_signatures.py",
            ("--records", "200", "--reference-records", "50"),
            ("signatures",),
            1,
            {"signatures": {"records": 200, "reference_records": 50}},
        ),
        Case(
            "bench_startup.py",
            ("--runs", "1"),
            ("startup",),
            1,
            {"startup": {"runs": 1, "failed": []}},
        ),
    ]


def _ledger_cases() -> list[Case]:
    """Scripts that start a chain, a deployment and a ledger server of their own."""
    terminals, per_terminal = 2, 100
    ingested = terminals * per_terminal
    # The soak offers rate x duration records: 200/s for 0.05 min = 600, 300 per terminal,
    # three whole batches of 100 each.
    soak_records = 200 * 3
    return [
        Case(
            "bench_figure.py",
            ("--records", "100", "--batch", "50"),
            ("figure",),
            1,
            {"figure": {"records": 100}},
        ),
        Case(
            "bench_ingest.py",
            ("--terminals", str(terminals), "--records", str(per_terminal), "--batch", "50"),
            ("ingest_http",),
            1,
            {"ingest_http": {"records": ingested, "clients": terminals, "database": "sqlite"}},
        ),
        # The in-process path on PostgreSQL: the other database and the other measure in one
        # run (one API process: the server only seeds the ledger here).
        Case(
            "bench_ingest.py",
            (
                *("--terminals", str(terminals), "--records", str(per_terminal), "--batch", "50"),
                *("--in-process", "--database", "postgres", "--api-workers", "1"),
            ),
            ("ingest_in_process",),
            2,
            {"ingest_in_process": {"records": ingested, "database": "postgres"}},
        ),
        Case(
            "bench_monitor.py",
            ("--terminals", str(terminals), "--records", str(per_terminal), "--seconds", "2"),
            ("monitor",),
            2,
            {"monitor": {"backlog_records": ingested}},
            figures=("alert_latency_s",),
        ),
        Case(
            "bench_soak.py",
            (
                *("--minutes", "0.05", "--rate", "200", "--terminals", "2"),
                *("--batch", "100", "--anchor-interval", "1"),
            ),
            ("soak",),
            1,
            {
                "soak": {
                    "records_posted": soak_records,
                    "accepted": soak_records,
                    "lost_or_duplicated": False,
                    "all_batches_on_chain": True,
                }
            },
        ),
        Case(
            "bench_verify.py",
            ("--runs", "10", "--online-runs", "2", "--leaves", "4"),
            ("verify",),
            2,
            {"verify": {"runs": 10, "online_runs": 2, "leaves": 4}},
        ),
    ]


def _browser_cases() -> list[Case]:
    """Scripts that also verify in Chromium and under node."""
    meters, readings = 2, 10
    return [
        Case(
            "bench_browser_verify.py",
            ("--days", "1"),
            ("browser_verify",),
            2,
            # One day of five-minute readings.
            {"browser_verify": {"records": 24 * 12}},
            figures=("js_node_s", "chromium_offline_s"),
            browser=True,
        ),
        Case(
            "bench_register_proof.py",
            (
                *("--meters", str(meters), "--readings", str(readings)),
                *("--batch", "50", "--browser", "1"),
            ),
            ("register_proof",),
            2,
            {
                "register_proof": {
                    "meters": meters,
                    "readings_per_meter": readings,
                    # Each meter's readings and the one that closes the period.
                    "records": meters * (readings + 1),
                    "rounds": 1,
                }
            },
            figures=("node_online_s", "chromium_offline_s", "chromium_online_s"),
            browser=True,
        ),
    ]


CASES: list[Case] = [*_offline_cases(), *_ledger_cases(), *_browser_cases()]


def cases(half: int) -> list[Any]:
    """The cases one test file runs, as pytest parameters named after their command lines."""
    return [pytest.param(case, id=case.id) for case in CASES if case.half == half]


def bench_scripts() -> list[str]:
    return sorted(path.name for path in BENCH_DIR.glob("bench_*.py"))


def run_case(case: Case) -> list[dict[str, Any]]:
    """Run the case's script; fail unless it exits 0 with its JSON lines last. Returns them."""
    if case.browser:
        chromium_executable()  # skips without one, fails in CI
    out, err, code = _run(case)
    shown = f"$ {case.id}\n--- stdout\n{out[-3000:]}\n--- stderr\n{err[-3000:]}"
    assert code == 0, f"exit code {code}\n{shown}"
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("{"), f"the last line is not a JSON object\n{shown}"
    try:
        reports = [json.loads(line) for line in lines if line.startswith("{")]
    except json.JSONDecodeError as error:
        raise AssertionError(f"{error}\n{shown}") from None
    names = tuple(report.get("bench", report.get("benchmark")) for report in reports)
    assert names == case.names, shown
    by_name = dict(zip(names, reports, strict=True))
    for name, fields in case.expect.items():
        assert {key: by_name[name].get(key) for key in fields} == fields, shown
    for key in case.figures:
        assert isinstance(reports[-1].get(key), int | float), f"{key} missing\n{shown}"
    return reports


def _run(case: Case) -> tuple[str, str, int]:
    """stdout, stderr and exit code of the case's script run from the repository root."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CARBON_")}
    with subprocess.Popen(
        [sys.executable, str(BENCH_DIR / case.script), *case.args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            out, err = process.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            out, err = _stop(process)
            pytest.fail(f"{case.id} still ran after {TIMEOUT_S:.0f} s\n{err[-3000:]}")
    return out, err, process.returncode


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGINT first, so the script's own clean-up stops the chain and server it started (they
    run in sessions of their own, out of reach of a kill of its group); then SIGKILL."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        return process.communicate(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.communicate()

"""The browser verifier's code run by node for the tests (one node process per call, JSON in
on stdin and out on stdout), and the agreement of its verdicts with ``carbon-verify``."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from verifier.checks.kernel import VerificationResult
from verifier.rpc import JsonRpcReader

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / "web-verifier" / "cli.mjs"

Change = Callable[[dict[str, Any]], None]


def run_node(args: Sequence[str], payload: Any) -> Any:
    """``node ARGS`` from the repository root, so that imports find node_modules, with
    ``payload`` as JSON on stdin; what it prints, parsed. Without node or the npm dependencies
    the test fails rather than skips: nothing else checks the browser's code."""
    node = shutil.which("node")
    if node is None or not (REPO / "node_modules" / "@noble" / "curves").is_dir():
        pytest.fail("node and the npm dependencies are needed (make setup)")
    done = subprocess.run(
        [node, *args],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
        timeout=300,
    )
    return json.loads(done.stdout)


def run_js(rpc_url: str, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each case (``kind``, ``bundle``, ``online``) through ``web-verifier/cli.mjs``: its
    result as the browser shows it, in order."""
    results: list[dict[str, Any]] = run_node([str(CLI)], {"rpc": rpc_url, "cases": cases})
    return results


def assert_agree(
    kind: str,
    cases: list[tuple[str, Any, bool]],
    python: Callable[[Any, JsonRpcReader | None], VerificationResult],
    rpc_url: str,
) -> dict[str, tuple[Any, ...]]:
    """Verify every (name, bundle, online) case in Python and in node; the verdicts, failed
    checks and failure names must be the same. Returns the Python verdicts by name."""
    rpc = JsonRpcReader(rpc_url)
    expected = {n: verdict(python(b, rpc if online else None)) for n, b, online in cases}
    js = run_js(
        rpc_url, [{"kind": kind, "bundle": b.to_json(), "online": on} for _, b, on in cases]
    )
    got = {
        name: (verdict(r), r.get("reason") or r.get("error"))
        for (name, _, _), r in zip(cases, js, strict=True)
    }
    differ = {n: (expected[n], *got[n]) for n in expected if got[n][0] != expected[n]}
    assert not differ
    return expected


def verdict(result: VerificationResult | dict[str, Any]) -> tuple[Any, ...]:
    """Valid or not, the failed check, the failure's name, and every check's name and status
    in order."""
    if isinstance(result, dict):
        checks = tuple((c["name"], c["status"]) for c in result.get("checks", ()))
        return result.get("valid"), result.get("failedCheck"), result.get("failure"), checks
    code = None if result.failure is None else result.failure.code
    checks = tuple((c.name, c.status.value) for c in result.checks)
    return result.valid, result.failed_check, code, checks

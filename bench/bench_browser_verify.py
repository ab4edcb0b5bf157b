"""The browser verifier (web-verifier/) on a one-month figure proof: 8,640 five-minute grid
readings of one terminal for June 2025, built through the real API, verified by the JS checks
under node (target <= 5 s, JSON parse included, against the chain), then in Chromium on the
ledger's /verify page (file read to verdict, offline: the page may reach only the configured
public chain endpoint), beside carbon-verify on the same bundle. Prints one JSON line.

    python bench/bench_browser_verify.py [--days 30]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import BenchLedger, emit, grid_readings, ledger

from devtools.seeding import register
from ledger_api.commands.serve import build_worker
from ledger_api.core.config import Settings
from terminal.client import SignedRecord, Terminal
from verifier.checks.figure import parse_figure_bundle, verify_figure
from verifier.protocol.typed_data import Domain
from verifier.rpc import JsonRpcReader

REPO = Path(__file__).resolve().parents[1]
ENTERPRISE = "88.118.8/ENT-AL-BROWSER"
GRID = "88.118.8/SRC-AL-BROWSER-GRID"
START = int((datetime(2025, 6, 1, tzinfo=UTC) - timedelta(hours=8)).timestamp())  # +08:00
STEP = 300  # five minutes
# Times node over the whole check run, JSON parse included, for one bundle file.
NODE_TIMER = """
import { readFileSync } from 'node:fs';
import { verify } from './web-verifier/src/verify.mjs';
const [path, rpcUrl] = process.argv.slice(1);
const text = readFileSync(path, 'utf8');
const started = performance.now();
const result = await verify('figure', JSON.parse(text), { rpcUrl });
const ms = performance.now() - started;
process.stdout.write(JSON.stringify({ valid: result.valid, failure: result.failure, ms }));
"""


def _readings(terminal: Terminal, domain: Domain, count: int) -> list[SignedRecord]:
    """``count`` readings from START, and one more that closes the period."""
    seqs = range(1, count + 2)
    return grid_readings(terminal, domain, (ENTERPRISE, GRID), START, STEP, seqs, _quantity)


def _quantity(seq: int) -> int:
    return 800 + seq % 64


def _build(bench: BenchLedger, days: int) -> bytes:
    terminal = Terminal.create()
    register(bench.server, ENTERPRISE, [GRID], terminal, industry="aluminium")
    records = _readings(terminal, bench.ledger_client().domain(), days * 288)
    with bench.client(timeout=300) as http:
        for i in range(0, len(records), 2_000):
            body = {"records": [r.to_json() for r in records[i : i + 2_000]]}
            assert http.post("/v1/activity-batches", json=body).status_code == 201
    worker = build_worker(Settings(data_dir=bench.data_dir, rpc_url=bench.rpc_url))
    worker.run_once()
    end = (datetime(2025, 6, 1) + timedelta(days=days - 1)).date().isoformat()
    body = {"enterprise": ENTERPRISE, "periodStart": "2025-06-01", "periodEnd": end}
    body |= {"addedValue": "5000", "ruleset": "zj-huzhou-2021"}
    response = bench.post("/v1/evaluations", json=body, timeout=600)
    assert response.status_code == 201, response.text
    worker.run_once()
    url = f"/v1/evaluations/{response.json()['identifier']}/proof"
    proof = bench.get(url, params={"figure": "total"}, timeout=600)
    assert proof.status_code == 200, proof.text
    return proof.content


def node_verify(path: Path, rpc_url: str) -> dict[str, object]:
    """The JS checks of the figure bundle at ``path`` under node: validity and milliseconds."""
    done = subprocess.run(
        ["node", "--input-type=module", "-e", NODE_TIMER, str(path), rpc_url],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
        timeout=300,
    )
    return json.loads(done.stdout)


def chromium_verify(base_url: str, path: Path) -> float | None:
    """Seconds from choosing the file on /verify to the page's verdict (against the chain when
    the ledger names a public endpoint, offline otherwise); None without a system Chromium."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        page = browser.new_page()
        page.goto(f"{base_url}/verify")
        start = time.perf_counter()
        page.set_input_files("[data-role='file']", str(path))
        verdict = "main.state-valid, main.state-invalid, main.state-undecided"
        page.wait_for_selector(verdict, timeout=300_000)
        seconds = time.perf_counter() - start
        shown = page.locator("[data-role='reason']").text_content()
        assert page.locator("main.state-valid").count() == 1, shown
        browser.close()
    return round(seconds, 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    with ledger() as bench, tempfile.TemporaryDirectory() as tmp:
        text = _build(bench, args.days)
        path = Path(tmp) / "figure.json"
        path.write_bytes(text)
        js = node_verify(path, bench.rpc_url)
        assert js["valid"], js
        chromium_s = chromium_verify(bench.base_url, path)
        start = time.perf_counter()
        python = verify_figure(parse_figure_bundle(json.loads(text)), JsonRpcReader(bench.rpc_url))
        python_s = round(time.perf_counter() - start, 3)
        assert python.valid, python.failure
        emit(
            "browser_verify",
            records=len(json.loads(text)["records"]),
            bundle_bytes=len(text),
            js_node_s=round(float(js["ms"]) / 1000, 3),  # type: ignore[arg-type]
            target_js_s=5.0,
            chromium_offline_s=chromium_s,
            python_s=python_s,
        )


if __name__ == "__main__":
    main()

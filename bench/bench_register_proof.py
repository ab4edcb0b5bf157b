"""The register form of a figure proof: its size, build and verify time against the number of
readings per meter (docs/figure-proof-format.md section 11).

For each ``--readings`` count, a fresh ledger: ``--meters`` terminals each sign that many
one-minute grid readings from 2025-03-01 with a cumulative register, the meter replaced
(register epoch +1) half-way, plus one reading after the period; all are ingested through the
API and anchored, the period evaluated and the entry anchored. Then the proof of ``total`` is
fetched with ``form=registers`` (build) and verified against the chain (verify: JSON parse,
bundle parse and every check). Prints one JSON line per count.

With ``--browser N``, the same bundle is also verified N times by the JS checks of
web-verifier/: under node against the chain, and in Chromium on the ledger's /verify page
offline and against the chain (a second server process of the same ledger naming the chain as
its public endpoint), each run followed by the Python checks as the baseline of its ratio.

    python bench/bench_register_proof.py [--meters 100] [--readings 100,1000] [--batch 2000]
                                         [--browser 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ParamSpec, TypeVar

from bench_browser_verify import chromium_verify, node_verify
from common import BenchLedger, emit, ledger

from devtools.local_server import start_server
from devtools.seeding import grid_record, register, sign_registry
from ledger_api.commands.serve import build_worker
from ledger_api.core.config import Settings
from terminal.client import RegisterMeter, SignedRecord, Terminal
from verifier.checks.figure import parse_figure_bundle, verify_figure
from verifier.protocol.typed_data import Domain
from verifier.rpc import JsonRpcReader

ENTERPRISE = "88.118.8/ENT-AL-REGBENCH"
GRID = "88.118.8/SRC-AL-REGBENCH-GRID"
START = datetime(2025, 3, 1, tzinfo=UTC) - timedelta(hours=8)  # 2025-03-01T00:00+08:00
MINUTE = 60
_P = ParamSpec("_P")
_T = TypeVar("_T")


def _closing_start(count: int) -> int:
    """The next local midnight after the last reading: the reading there closes the period."""
    last = START + timedelta(minutes=count) + timedelta(hours=8)
    midnight = datetime.combine(
        (last - timedelta(seconds=1)).date() + timedelta(days=1), datetime.min.time(), UTC
    ) - timedelta(hours=8)
    return int(midnight.timestamp())


def _readings(terminal: Terminal, domain: Domain, count: int) -> list[SignedRecord]:
    """``count`` readings with a register replaced at the middle one, and the closing one."""
    meter, first = RegisterMeter(10_000_000), int(START.timestamp())
    signed = []
    for seq in range(1, count + 2):
        if seq == count // 2 + 1:
            meter.replace(0)
        start = first + (seq - 1) * MINUTE if seq <= count else _closing_start(count)
        record = grid_record(terminal, (ENTERPRISE, GRID), seq, start, MINUTE, 160 + seq % 16)
        signed.append(terminal.sign_reading(domain, record, meter))
    return signed


def _ingest(bench: BenchLedger, records: list[SignedRecord], batch: int) -> None:
    with bench.client(timeout=300) as http:
        for i in range(0, len(records), batch):
            body = {"records": [r.to_json() for r in records[i : i + batch]]}
            response = http.post("/v1/activity-batches", json=body)
            if response.status_code != 201:
                # The ledger's directory goes with the run: keep what its server said.
                log = bench.server.log_file.read_text(errors="replace")[-4000:]
                raise AssertionError(f"batch at {i}: {response.text}\n{log}")


def _evaluate(bench: BenchLedger, count: int) -> str:
    last = START + timedelta(minutes=count) + timedelta(hours=8)
    body = {
        "enterprise": ENTERPRISE,
        "periodStart": "2025-03-01",
        "periodEnd": (last - timedelta(seconds=1)).date().isoformat(),
        "addedValue": "5000",
        "ruleset": "zj-huzhou-2021",
    }
    response = bench.post("/v1/evaluations", json=body, timeout=1800)
    assert response.status_code == 201, response.text
    return response.json()["identifier"]


def _timed(fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> tuple[_T, float]:
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, round(time.perf_counter() - start, 3)


def _cli_verify(path: Path, rpc_url: str) -> float:
    """``carbon-verify figure`` in a fresh process, start-up included: what a reader waits."""
    command = [str(Path(sys.executable).parent / "carbon-verify"), "figure", str(path)]
    start = time.perf_counter()
    done = subprocess.run([*command, "--rpc", rpc_url], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return round(time.perf_counter() - start, 3)


def _terminals(bench: BenchLedger, meters: int) -> list[Terminal]:
    terminals = [Terminal.create() for _ in range(meters)]
    register(bench.server, ENTERPRISE, [GRID], terminals[0], industry="aluminium")
    details = {"sources": [GRID], "metadata": None, "firstSeq": 1}
    operations = [("device.registered", t.address, details) for t in terminals[1:]]
    for i in range(0, len(operations), 50):
        answer = sign_registry(bench.server, ENTERPRISE, operations[i : i + 50])
        assert answer.status_code == 201, answer.text
    return terminals


def _build(
    bench: BenchLedger, meters: int, readings: int, batch: int
) -> tuple[bytes, int, dict[str, float]]:
    """Sign, ingest, anchor and evaluate; then fetch the register proof of ``total``: the
    bundle, the number of records and the seconds each step took."""
    terminals = _terminals(bench, meters)
    domain = bench.ledger_client().domain()
    signed, sign_s = _timed(lambda: [_readings(t, domain, readings) for t in terminals])
    # Interleaved as terminals would send them: every meter's minute, minute by minute.
    records = [r for minute in zip(*signed, strict=True) for r in minute]
    _, ingest_s = _timed(_ingest, bench, records, batch)
    # The default tree size cap (25,000 leaves): a proof's paths are as deep as one tree,
    # however many readings the period holds.
    worker = build_worker(Settings(data_dir=bench.data_dir, rpc_url=bench.rpc_url))
    _, anchor_s = _timed(worker.run_once)
    identifier, evaluate_s = _timed(_evaluate, bench, readings)
    worker.run_once()
    url = f"/v1/evaluations/{identifier}/proof"
    params = {"figure": "total", "form": "registers"}
    response, build_s = _timed(lambda: bench.get(url, params=params, timeout=600))
    assert response.status_code == 200, response.text
    seconds = {"sign_s": sign_s, "ingest_s": ingest_s, "anchor_s": anchor_s}
    return response.content, len(records), seconds | {"evaluate_s": evaluate_s, "build_s": build_s}


def _python_verify(text: bytes, rpc_url: str | None) -> float:
    """JSON parse, bundle parse and every check in this process; offline without ``rpc_url``."""
    start = time.perf_counter()
    bundle = parse_figure_bundle(json.loads(text))
    result = verify_figure(bundle, JsonRpcReader(rpc_url) if rpc_url else None)
    assert result.valid, result.failure
    return time.perf_counter() - start


def _js_seconds(name: str, bench: BenchLedger, public: str, path: Path) -> float:
    if name == "node_online":
        node = node_verify(path, bench.rpc_url)
        assert node["valid"], node
        return float(node["ms"]) / 1000  # type: ignore[arg-type]
    seconds = chromium_verify(public if name == "chromium_online" else bench.base_url, path)
    assert seconds is not None, "--browser needs Debian's chromium"
    return seconds


def _browser(bench: BenchLedger, path: Path, rounds: int) -> dict[str, object]:
    """The JS checks on the same bundle under node (online) and in Chromium on /verify, offline
    and online, each followed by the Python checks in this process, with or without the chain
    as the JS run had it: alternately, so both see the same load."""
    env = {**bench.server.env, "CARBON_PUBLIC_RPC_URL": bench.rpc_url}
    public = start_server(bench.data_dir, env)  # the same ledger, naming a public endpoint
    rpc = bench.rpc_url
    chain = {"node_online": rpc, "chromium_offline": None, "chromium_online": rpc}
    times: dict[str, list[float]] = {}
    try:
        for _ in range(rounds):
            for name in ("node_online", "chromium_offline", "chromium_online"):
                js_s = _js_seconds(name, bench, public.base_url, path)
                python_s = _python_verify(path.read_bytes(), chain[name])
                times.setdefault(f"{name}_s", []).append(js_s)
                times.setdefault(f"python_{name}_s", []).append(python_s)
    finally:
        public.stop()
    return _medians(times)


def _medians(times: dict[str, list[float]]) -> dict[str, object]:
    """Median seconds of each measure, and each JS figure's ratio to its own Python baseline."""
    figures: dict[str, object] = {k: round(statistics.median(v), 3) for k, v in times.items()}
    for name in ("node_online", "chromium_offline", "chromium_online"):
        ratios = [a / b for a, b in zip(times[f"{name}_s"], times[f"python_{name}_s"], strict=True)]
        figures[f"{name}_ratio"] = round(statistics.median(ratios), 2)
    figures["rounds"] = len(times["node_online_s"])
    return figures


def run(meters: int, readings: int, batch: int, save: str | None = None, browser: int = 0) -> None:
    with ledger() as bench:
        text, records, seconds = _build(bench, meters, readings, batch)
        path = Path(save) if save else bench.data_dir / "register-proof.json"
        path.write_bytes(text)
        cli_s = _cli_verify(path, bench.rpc_url)
        data, json_s = _timed(json.loads, text)
        bundle, parse_s = _timed(parse_figure_bundle, data)
        online, online_s = _timed(verify_figure, bundle, JsonRpcReader(bench.rpc_url))
        assert online.valid, online.failure
        assert not bundle.records and bundle.registers is not None
        in_browser = _browser(bench, path, browser) if browser else {}
        emit(
            "register_proof",
            meters=meters,
            readings_per_meter=readings,
            records=records,
            figure=f"total = {bundle.figure.value}",
            register_readings=sum(
                2 + 2 * len(d.changes) + (d.before is not None) + (d.after is not None)
                for d in bundle.registers.devices
            ),
            register_batches=len(bundle.registers.batches),
            bundle_bytes=len(text),
            target_bundle_bytes=1_000_000,
            **seconds,
            target_build_s=10.0,
            verify_s=round(json_s + parse_s + online_s, 3),
            verify_checks_online_s=online_s,
            cli_verify_s=cli_s,
            target_verify_s=2.0,
            load_average=[round(x, 2) for x in os.getloadavg()],
            **in_browser,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--meters", type=int, default=100)
    parser.add_argument("--readings", default="100,1000", help="readings per meter, comma list")
    parser.add_argument("--batch", type=int, default=2_000, help="records per POST")
    parser.add_argument("--save", help="write the last bundle to this file")
    parser.add_argument(
        "--browser",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="also verify with the JS checks under node and in Chromium, ROUNDS times each",
    )
    args = parser.parse_args()
    for count in (int(x) for x in args.readings.split(",")):
        run(args.meters, count, args.batch, args.save, args.browser)


if __name__ == "__main__":
    main()

"""Verifying one record proof bundle as the ledger serves it: offline (target <= 2 ms) and
online against the chain. Prints one JSON line.

A real ledger (dev chain, deployment, ``carbon-ledger serve``) stores ``--leaves`` signed
readings of one registered terminal, anchors them in one tree with its registry events, and
serves the proof of one reading: a bundle with its authorisation and the enterprise's signed
registry chain, as any verifier receives it. Offline time is also given as a ratio to a bare
signature recovery measured in the same process, since the box is shared.

    python bench/bench_verify.py [--runs N] [--online-runs M] [--leaves L]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from common import BenchLedger, emit, grid_readings, ledger

from devtools.seeding import register
from ledger_api.commands.serve import build_worker
from ledger_api.core.config import Settings
from terminal.client import SignedRecord, Terminal
from verifier.checks.record import parse_bundle, verify_record
from verifier.protocol.typed_data import record_digest, recover_signer
from verifier.rpc import JsonRpcReader

ENTERPRISE = "88.118.8/BENCH-VERIFY"
GRID = f"{ENTERPRISE}/SRC-GRID"
START = 1_735_689_600  # 2025-01-01T00:00:00Z


def _median_us(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm caches (trust file, lazily built tables) outside the measurement
    times = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1000


def _served_bundle(bench: BenchLedger, leaves: int) -> tuple[dict[str, Any], SignedRecord]:
    """The ledger's proof of the first of ``leaves`` anchored readings, and that reading."""
    terminal = Terminal.create()
    register(bench.server, ENTERPRISE, [GRID], terminal, industry="aluminium")
    client = bench.ledger_client()
    domain = client.domain()
    readings = grid_readings(
        terminal, domain, (ENTERPRISE, GRID), START, 900, range(1, leaves + 1), lambda s: 1_000 + s
    )
    for i in range(0, leaves, 1_000):
        client.submit(readings[i : i + 1_000])
    settings = Settings(data_dir=bench.data_dir, rpc_url=bench.rpc_url)
    build_worker(settings).run_once()
    digest = "0x" + record_digest(domain, readings[0].record).hex()
    response = bench.get(f"/v1/records/{digest}/proof")
    assert response.status_code == 200, response.text
    return response.json(), readings[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--online-runs", type=int, default=50)
    parser.add_argument("--leaves", type=int, default=1024, help="readings anchored with it")
    args = parser.parse_args()
    with ledger() as bench:
        data, reading = _served_bundle(bench, args.leaves)
        domain = bench.ledger_client().domain()
        text = json.dumps(data)
        bundle = parse_bundle(data)
        rpc = JsonRpcReader(bench.rpc_url)
        assert verify_record(bundle, None).valid and verify_record(bundle, rpc).valid
        digest = record_digest(domain, reading.record)
        verify_us = _median_us(lambda: verify_record(bundle, None), args.runs)
        recover_us = _median_us(lambda: recover_signer(digest, reading.signature), args.runs)
        parse_us = _median_us(
            lambda: verify_record(parse_bundle(json.loads(text)), None), args.runs
        )
        online_us = _median_us(lambda: verify_record(bundle, rpc), args.online_runs)
    emit(
        "verify",
        runs=args.runs,
        leaves=args.leaves,
        bundle_bytes=len(text.encode()),
        proof_nodes=len(data["proof"]),
        registry_events=len(data.get("registry") or ()),
        offline_verify_median_ms=round(verify_us / 1000, 4),
        offline_parse_and_verify_median_ms=round(parse_us / 1000, 4),
        recover_signer_median_ms=round(recover_us / 1000, 4),
        offline_verify_per_recover=round(verify_us / recover_us, 2),
        target_offline_ms=2.0,
        online_runs=args.online_runs,
        online_verify_median_ms=round(online_us / 1000, 3),
    )


if __name__ == "__main__":
    main()

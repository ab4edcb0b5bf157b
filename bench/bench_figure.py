"""A figure proof over 100,000 records, built through the real API and verified.

One device's one-minute grid readings from 2025-03-01 (100,000 of them end on 2025-05-10) are
signed, ingested and anchored; the period is evaluated and the entry anchored; then the proof of
``total`` is fetched (build, target <= 10 s) and verified against the chain (verify, target
<= 10 s: JSON parse, bundle parse and all twelve checks). Prints one JSON line.

    python bench/bench_figure.py [--records N] [--batch B]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import ParamSpec, TypeVar

from common import BenchLedger, emit, grid_readings, ledger

from devtools.seeding import register
from ledger_api.commands.serve import build_worker
from ledger_api.core.config import Settings
from terminal.client import SignedRecord, Terminal
from verifier.checks.figure import parse_figure_bundle, verify_figure
from verifier.protocol.typed_data import ActivityRecord, Domain
from verifier.rpc import JsonRpcReader

ENTERPRISE = "88.118.8/ENT-AL-BENCH"
GRID = "88.118.8/SRC-AL-BENCH-GRID"
START = datetime(2025, 3, 1, tzinfo=UTC) - timedelta(hours=8)  # 2025-03-01T00:00+08:00
MINUTE = 60
_P = ParamSpec("_P")
_T = TypeVar("_T")


def _closing(terminal: Terminal, domain: Domain, count: int) -> SignedRecord:
    """The reading after the evaluated period (the next local midnight's minute): without one,
    the period is open and the ledger does not evaluate it."""
    last = START + timedelta(minutes=count) + timedelta(hours=8)
    midnight = datetime.combine(
        (last - timedelta(seconds=1)).date() + timedelta(days=1), datetime.min.time(), UTC
    ) - timedelta(hours=8)
    return terminal.sign(
        domain,
        ActivityRecord(
            enterprise=ENTERPRISE,
            source=GRID,
            device=terminal.address,
            seq=count + 1,
            activity="electricity.purchased",
            quantity=160,
            decimals=3,
            unit="MWh",
            period_start=int(midnight.timestamp()),
            period_end=int(midnight.timestamp()) + MINUTE,
        ),
    )


def _readings(terminal: Terminal, domain: Domain, count: int) -> list[SignedRecord]:
    first = int(START.timestamp())
    seqs = range(1, count + 1)
    readings = grid_readings(terminal, domain, (ENTERPRISE, GRID), first, MINUTE, seqs, _quantity)
    return [*readings, _closing(terminal, domain, count)]


def _quantity(seq: int) -> int:
    return 160 + seq % 16


def _ingest(bench: BenchLedger, records: list[SignedRecord], batch: int) -> None:
    with bench.client(timeout=300) as http:
        for i in range(0, len(records), batch):
            body = {"records": [r.to_json() for r in records[i : i + batch]]}
            response = http.post("/v1/activity-batches", json=body)
            assert response.status_code == 201, response.text


def _evaluate(bench: BenchLedger, count: int) -> str:
    last = START + timedelta(minutes=count) + timedelta(hours=8)  # the local date of the end
    body = {
        "enterprise": ENTERPRISE,
        "periodStart": "2025-03-01",
        "periodEnd": (last - timedelta(seconds=1)).date().isoformat(),
        "addedValue": "5000",
        "ruleset": "zj-huzhou-2021",
    }
    response = bench.post("/v1/evaluations", json=body, timeout=600)
    assert response.status_code == 201, response.text
    return response.json()["identifier"]


def _timed(fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> tuple[_T, float]:
    """``fn(*args)`` and the seconds it took."""
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, round(time.perf_counter() - start, 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2_000, help="records per POST")
    args = parser.parse_args()
    with ledger() as bench:
        terminal = Terminal.create()
        register(bench.server, ENTERPRISE, [GRID], terminal, industry="aluminium")
        domain = bench.ledger_client().domain()
        records, sign_s = _timed(_readings, terminal, domain, args.records)
        _, ingest_s = _timed(_ingest, bench, records, args.batch)
        settings = Settings(
            data_dir=bench.data_dir, rpc_url=bench.rpc_url, anchor_max_batch=args.records + 16
        )
        worker = build_worker(settings)  # every record (and the registry events) in one tree
        _, anchor_s = _timed(worker.run_once)
        identifier, evaluate_s = _timed(_evaluate, bench, args.records)
        worker.run_once()
        url = f"/v1/evaluations/{identifier}/proof"
        response, build_s = _timed(lambda: bench.get(url, params={"figure": "total"}, timeout=600))
        assert response.status_code == 200, response.text
        text = response.content
        data, json_s = _timed(json.loads, text)
        bundle, parse_s = _timed(parse_figure_bundle, data)
        offline, offline_s = _timed(verify_figure, bundle, None)
        online, online_s = _timed(verify_figure, bundle, JsonRpcReader(bench.rpc_url))
        assert offline.valid and online.valid, (offline.failure, online.failure)
        assert len(bundle.records) == args.records
        emit(
            "figure",
            records=args.records,
            batches=len(bundle.batches),
            figure=f"total = {bundle.figure.value}",
            bundle_bytes=len(text),
            sign_s=sign_s,
            ingest_s=ingest_s,
            anchor_s=anchor_s,
            evaluate_s=evaluate_s,
            build_s=build_s,
            target_build_s=10.0,
            verify_s=round(json_s + parse_s + online_s, 3),
            verify_json_s=json_s,
            verify_parse_s=parse_s,
            verify_checks_online_s=online_s,
            verify_checks_offline_s=offline_s,
            target_verify_s=10.0,
        )


if __name__ == "__main__":
    main()

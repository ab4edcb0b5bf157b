"""The monitoring worker: records folded per second from a stored backlog (target: keeps up
with 5,000 records/s), the seconds from a triggering reading's 201 to its signed webhook
(target: under 10 s), and the worker's resident memory over a run of continuous ingestion
(target: flat)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from common import BenchLedger, emit, grid_readings, ledger
from standardwebhooks import Webhook

from devtools.seeding import register
from ledger_api.core.db import make_engine
from ledger_api.monitoring.energy import tce_per_unit
from ledger_api.monitoring.worker import FACTOR_SET, MonitorWorker
from terminal.client import SignedRecord, Terminal

START = 1_767_225_600  # 2026-01-01T00:00:00Z


class Hooks:
    """A receiver that verifies each signature and notes when each message arrived."""

    def __init__(self) -> None:
        self.secret = ""
        self.arrived: list[tuple[float, dict[str, Any]]] = []
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                hooks.arrived.append(
                    (time.monotonic(), Webhook(hooks.secret).verify(body, headers))
                )
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/hook"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


def _streams(
    bench: BenchLedger, terminals: int, per: int
) -> tuple[list[list[SignedRecord]], list[tuple[Terminal, str, str]]]:
    domain = bench.ledger_client().domain()
    streams, who = [], []
    for t in range(terminals):
        terminal = Terminal.create()
        enterprise, source = f"88.118.8/BENCH-MON-{t}", f"88.118.8/BENCH-MON-{t}-SRC"
        register(bench.server, enterprise, [source], terminal)
        for kind, params in (
            ("energy_threshold", {"per": "reading", "limitTce": "1000"}),
            ("energy_band", {"k": "3"}),
            ("data_quality", {"maxSilenceS": 86_400}),
        ):
            body = {"enterprise": enterprise, "kind": kind, "params": params}
            assert bench.post("/v1/monitor-rules", json=body).status_code == 201
        # One-minute readings of 0.1 MWh: far under the limit, so the backlog raises nothing.
        streams.append(
            grid_readings(
                terminal, domain, (enterprise, source), START, 60, range(1, per + 1), lambda s: 100
            )
        )
        who.append((terminal, enterprise, source))
    return streams, who


def _post(bench: BenchLedger, records: list[SignedRecord], batch: int = 2_000) -> None:
    with bench.client(timeout=300) as http:
        for i in range(0, len(records), batch):
            answer = http.post(
                "/v1/activity-batches",
                json={"records": [r.to_json() for r in records[i : i + batch]]},
            )
            assert answer.status_code == 201, answer.text


def _fold_rate(bench: BenchLedger, streams: list[list[SignedRecord]]) -> tuple[int, float]:
    with ThreadPoolExecutor(len(streams)) as pool:
        list(pool.map(lambda s: _post(bench, s), streams))
    worker = MonitorWorker(make_engine(bench.server.database_url), 8, 20_000)
    # The unit registry loads once, when a worker starts: not part of the rate.
    tce_per_unit(FACTOR_SET, "iron_steel", "electricity.purchased", "MWh", "", 2026)
    total, started = 0, time.perf_counter()
    while (done := worker.run_once().records) > 0:
        total += done
    return total, total / (time.perf_counter() - started)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _watch_run(
    bench: BenchLedger, who: list[tuple[Terminal, str, str]], per: int, seconds: float, hooks: Hooks
) -> dict[str, Any]:
    """The worker process under continuous ingestion; then one reading above the limit."""
    env = {**bench.server.env, "CARBON_MONITOR_INTERVAL_S": "1"}
    command = [str(Path(sys.executable).parent / "carbon-ledger"), "monitor", "--watch"]
    worker = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    domain = bench.ledger_client().domain()
    rss, seq, posted = [], per + 1, 0
    try:
        time.sleep(3)
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            batch = [
                grid_readings(t, domain, (e, s), START, 60, range(seq, seq + 500), lambda _: 100)
                for t, e, s in who
            ]
            with ThreadPoolExecutor(len(batch)) as pool:
                list(pool.map(lambda b: _post(bench, b), batch))
            seq, posted = seq + 500, posted + 500 * len(who)
            rss.append(_rss_kb(worker.pid))
        terminal, enterprise, source = who[0]
        [trigger] = grid_readings(
            terminal, domain, (enterprise, source), START, 60, range(seq, seq + 1), lambda _: 10**10
        )
        _post(bench, [trigger])
        posted_at = time.monotonic()
        deadline = posted_at + 60
        while (
            not any(p["type"] == "alert.raised" for _, p in hooks.arrived)
            and time.monotonic() < deadline
        ):
            time.sleep(0.02)
        raised = [t for t, p in hooks.arrived if p["type"] == "alert.raised"]
        latency = raised[0] - posted_at if raised else None
    finally:
        worker.kill()
        worker.wait()
    return {
        "watch_seconds": seconds,
        "watch_records": posted,
        "ingest_records_per_s": round(posted / seconds),
        "alert_latency_s": round(latency, 2) if latency is not None else None,
        # Resident memory at each quarter of the run: flat once the first rounds are done.
        "rss_mb_quarters": [
            round(rss[min(len(rss) - 1, len(rss) * q // 4)] / 1024, 1) for q in range(5)
        ]
        if rss
        else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--terminals", type=int, default=4)
    parser.add_argument("--records", type=int, default=25_000, help="backlog per terminal")
    parser.add_argument("--seconds", type=float, default=60, help="continuous ingestion")
    args = parser.parse_args()
    hooks = Hooks()
    with ledger(CARBON_WEBHOOK_ALLOW_PRIVATE="true") as bench:
        streams, who = _streams(bench, args.terminals, args.records)
        answer = bench.post("/v1/webhook-subscriptions", json={"url": hooks.url})
        hooks.secret = answer.json()["secret"]
        folded, rate = _fold_rate(bench, streams)
        watched = _watch_run(bench, who, args.records, args.seconds, hooks)
    emit(
        "monitor",
        backlog_records=folded,
        fold_records_per_s=round(rate),
        target_records_per_s=5000,
        target_alert_latency_s=10,
        cpus=os.cpu_count(),
        **watched,
    )


if __name__ == "__main__":
    main()

"""The gateway's own throughput: readings signed into its outbox, and a backlog drained.

One hour of 100 cumulative meters read once a second (360,000 readings) goes through the
gateway's recorder (meter logic, EIP-712 signing, one SQLite transaction per group, fsync'd)
and is then drained by its forwarder in batches to a loopback sink that parses every batch and
answers as the ledger does. Bare signing of the same records in the same run is the yardstick:
the ratio says what the outbox and the meter logic cost on top. The ledger's own ingestion
rate is bench_ingest.py's; the sink isolates the gateway. Prints one JSON line.

    python bench/bench_gateway.py [--meters 100] [--seconds 3600]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from terminal.client import Terminal
from terminal.gateway.config import parse
from terminal.gateway.daemon import Recorder
from terminal.gateway.forwarder import Forwarder, Ledger
from terminal.gateway.health import Metrics, configure_logging
from terminal.gateway.meters import Sample
from terminal.gateway.outbox import Outbox
from verifier.protocol.registers import register_attributes
from verifier.protocol.typed_data import ActivityRecord, Domain, attributes_hash

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit

DOMAIN = Domain(1337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
START = 1_767_225_600  # 2026-01-01T00:00:00Z
SINK = """
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer = json.dumps({"accepted": len(body["records"]), "duplicates": 0}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def _config(meters: int) -> dict:
    points = [
        {
            "name": f"m{i}",
            "topic": f"plant/m{i}",
            "source": f"88.118.8/BENCH-SRC-{i}",
            "activity": "electricity.purchased",
            "unit": "kWh",
            "decimals": 2,
            "kind": "cumulative",
            "time_key": "t",
        }
        for i in range(meters)
    ]
    return {
        "ledger": {"url": "http://127.0.0.1:1", "api_key_file": "key"},
        "terminal": {"enterprise": "88.118.8/BENCH"},
        "mqtt": {"client_id": "bench", "points": points},
    }


class Clock:
    """Wall and CPU seconds of this process: on a shared box the CPU figure is the steady one."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def rates(self, count: int) -> tuple[float, float]:
        wall = time.perf_counter() - self.wall
        return count / wall, count / (time.process_time() - self.cpu)


def bare_signing(terminals: list[Terminal], count: int) -> tuple[float, float]:
    """Readings/s of signing alone: the record, its attributes' hash and the signature."""
    clock = Clock()
    for n in range(count):
        attributes = register_attributes(1_000 + n, 0)
        record = ActivityRecord(
            enterprise="88.118.8/BENCH",
            source="88.118.8/BENCH-SRC-0",
            device=terminals[n % len(terminals)].address,
            seq=n + 1,
            activity="electricity.purchased",
            quantity=1,
            decimals=2,
            unit="kWh",
            period_start=START + n,
            period_end=START + n + 1,
            attributes_hash=attributes_hash(attributes),
        )
        terminals[n % len(terminals)].sign(DOMAIN, record, attributes)
    return clock.rates(count)


def record_hour(outbox: Outbox, config_points: list, seconds: int) -> tuple[float, float]:
    """Readings/s through the recorder: every meter read once a second for ``seconds``."""
    recorder = Recorder(outbox, config_points, Metrics())
    for t in range(seconds + 1):  # the first round is each meter's opening
        for point in config_points:
            recorder.submit(Sample(point.name, START + t, Decimal(100 + t) / 100), None)
    recorder.queue.put(None)
    clock = Clock()
    recorder.run()  # in this thread, so the CPU clock sees it
    return clock.rates(outbox.depth)


def drain(outbox: Outbox, batch: int) -> tuple[float, float, int]:
    """Wall and CPU seconds to forward the whole outbox to the sink; the records it took."""
    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    try:
        port = int(sink.stdout.readline())  # type: ignore[union-attr]
        metrics = Metrics()
        forwarder = Forwarder(
            outbox, Ledger(f"http://127.0.0.1:{port}", "bench", metrics, 60), metrics, batch
        )
        forwarder.resumed = True  # the sink keeps no sequence to resume from
        total = outbox.depth
        wall, cpu = time.perf_counter(), time.process_time()
        while outbox.depth:
            forwarder._once()
        return time.perf_counter() - wall, time.process_time() - cpu, total
    finally:
        sink.terminate()
        sink.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--meters", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=3_600)
    parser.add_argument("--batch", type=int, default=5_000)
    args = parser.parse_args()
    configure_logging("WARNING")  # the one JSON line, not a hundred meters' first readings
    config = parse(_config(args.meters), Path("."))
    terminals = {p.name: Terminal.create() for p in config.points}
    sign_rate, sign_cpu = bare_signing(list(terminals.values()), 20_000)
    with tempfile.TemporaryDirectory() as tmp:
        outbox = Outbox(Path(tmp) / "outbox.sqlite3", terminals, "88.118.8/BENCH", 10**7)
        outbox.set_domain(DOMAIN)
        for terminal in terminals.values():
            outbox.resume(terminal.address, None)
        record_rate, record_cpu = record_hour(outbox, config.points, args.seconds)
        readings = outbox.depth
        drain_s, drain_cpu_s, drained = drain(outbox, args.batch)
    assert drained == readings == args.meters * args.seconds
    emit(
        "gateway",
        meters=args.meters,
        readings=readings,
        bare_signing_per_s=round(sign_rate),
        bare_signing_per_cpu_s=round(sign_cpu),
        recorded_per_s=round(record_rate),
        recorded_per_cpu_s=round(record_cpu),
        recorded_vs_bare_signing=round(record_cpu / sign_cpu, 2),
        drain_s=round(drain_s, 1),
        drain_cpu_s=round(drain_cpu_s, 1),
        drained_per_s=round(drained / drain_s),
    )


if __name__ == "__main__":
    main()

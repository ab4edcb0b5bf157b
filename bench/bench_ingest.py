"""Ingestion through the HTTP batch API, end to end (verify + store), against the target of
15,000 signed records/s with two API processes (0.44 of a bare signature-recovery loop in this
process, measured in the same run), on SQLite or on PostgreSQL (``--database postgres``).

With ``--in-process``, the same records go through the ingest service called in this process
against the server's database instead: its CPU a record (``time.process_time``, median over
the batches; the allowance charge left out), free of HTTP, the clients and the other process.

The clients' request bodies are JSON-encoded before the timed window (as ``bench_soak.py``
does), so the window measures the server and the transport, not the clients' encoding, which
shares the same cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from common import BenchLedger, cpu_s, database, emit, ledger
from sqlmodel import Session

from devtools.local_server import ServerProcess
from devtools.seeding import register, signed_readings
from ledger_api.activity.schemas import SignedRecordIn
from ledger_api.activity.service import ingest
from ledger_api.core.db import make_engine
from terminal.client import SignedRecord, Terminal
from verifier.protocol.typed_data import record_digest, recover_signer


def sign_all(server: ServerProcess, terminals: int, per_terminal: int) -> list[list[SignedRecord]]:
    client = server.ledger_client()
    domain = client.domain()
    streams = []
    for t in range(terminals):
        terminal = Terminal.create()
        enterprise, source = f"88.118.8/BENCH-{t}", f"88.118.8/BENCH-{t}-SRC"
        register(server, enterprise, [source], terminal)
        # One-minute readings, so even 100,000 of them end before today.
        seqs = range(1, per_terminal + 1)
        streams.append(signed_readings(terminal, domain, enterprise, source, seqs, step=60))
    return streams


def recovery_rate(records: list[SignedRecord], server: ServerProcess) -> float:
    domain = server.ledger_client().domain()
    digests = [(record_digest(domain, r.record), r.signature) for r in records]
    start = time.perf_counter()
    for digest, signature in digests:
        recover_signer(digest, signature)
    return len(digests) / (time.perf_counter() - start)


def encode_bodies(stream: list[SignedRecord], batch: int) -> list[bytes]:
    """The stream's request bodies, batch by batch, as a client sends them."""
    return [
        json.dumps({"records": [r.to_json() for r in stream[i : i + batch]]}).encode()
        for i in range(0, len(stream), batch)
    ]


def post_bodies(server: ServerProcess, bodies: list[bytes]) -> None:
    headers = {"content-type": "application/json"}
    with server.client(timeout=120) as http:
        for body in bodies:
            response = http.post("/v1/activity-batches", content=body, headers=headers)
            assert response.status_code == 201, response.text


def ingest_cpu_us(bench: BenchLedger, streams: list[list[SignedRecord]], batch: int) -> list[float]:
    """CPU-µs a record of ``ingest()`` in this process, batch by batch in the order stored,
    each stream in turn (each batch one storing transaction, as a request's)."""
    url = bench.server.env.get("CARBON_DATABASE_URL") or f"sqlite:///{bench.data_dir}/ledger.sqlite"
    engine, domain = make_engine(url), bench.ledger_client().domain()
    per_record = []
    for stream in streams:
        items = [SignedRecordIn.model_validate(r.to_json()) for r in stream]
        for i in range(0, len(items), batch):
            part = items[i : i + batch]
            start = time.process_time()
            with Session(engine) as session:
                outcome = ingest(session, part, domain, lambda _: None)
            per_record.append((time.process_time() - start) / len(part) * 1e6)
            assert len(outcome.stored) == len(part)
    engine.dispose()
    return per_record


def over_http(
    bench: BenchLedger, streams: list[list[SignedRecord]], batch: int, baseline: float
) -> dict[str, object]:
    """Every stream posted by its own client thread at once: the rate, and the CPU the
    server's processes spent a record, which moves far less than the rate on a shared box."""
    bodies = [encode_bodies(stream, batch) for stream in streams]
    total = sum(len(s) for s in streams)
    server_cpu, start = cpu_s(bench.server.process.pid), time.perf_counter()
    with ThreadPoolExecutor(len(streams)) as pool:
        list(pool.map(lambda b: post_bodies(bench.server, b), bodies))
    rate = total / (time.perf_counter() - start)
    server_cpu = cpu_s(bench.server.process.pid) - server_cpu
    return {
        "records": total,
        "records_per_s": round(rate),
        "bare_recover_per_s": round(baseline),
        "ratio_to_recover": round(rate / baseline, 3),
        "server_cpu_us_per_record": round(server_cpu / total * 1e6, 1),
    }


def in_process(
    bench: BenchLedger, streams: list[list[SignedRecord]], batch: int, baseline: float
) -> dict[str, object]:
    per_batch = ingest_cpu_us(bench, streams, batch)
    cpu_us = statistics.median(per_batch)
    # The table grows as the batches go in: each quarter's median shows what size costs.
    n = len(per_batch)
    quarters = [per_batch[q * n // 4 : (q + 1) * n // 4] for q in range(4)]
    return {
        "records": sum(len(s) for s in streams),
        "ingest_cpu_us_per_record": round(cpu_us, 1),
        "ingest_cpu_us_by_quarter": [round(statistics.median(q), 1) for q in quarters if q],
        "bare_recover_us": round(1e6 / baseline, 1),
        "recover_share": round(1e6 / baseline / cpu_us, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--terminals", type=int, default=4)
    parser.add_argument("--records", type=int, default=10_000, help="per terminal")
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--api-workers", type=int, default=2, help="CARBON_API_WORKERS")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--in-process", action="store_true", help="call ingest() here instead")
    args = parser.parse_args()
    with (
        database(args.database, "bench_ingest") as settings,
        ledger(CARBON_API_WORKERS=str(args.api_workers), **settings) as bench,
    ):
        streams = sign_all(bench.server, args.terminals, args.records)
        baseline = recovery_rate(streams[0], bench.server)
        measure = in_process if args.in_process else over_http
        figures = measure(bench, streams, args.batch, baseline)
    if args.in_process:
        emit("ingest_in_process", batch=args.batch, database=args.database, **figures)
        return
    emit(
        "ingest_http",
        batch=args.batch,
        clients=args.terminals,
        api_workers=args.api_workers,
        database=args.database,
        **figures,
        target_records_per_s=15_000,  # two API processes; and a ratio of 0.44
        target_ratio_to_recover=0.44,
    )


if __name__ == "__main__":
    main()

"""Soak: ingestion at the 5,000 records/s target over HTTP for --minutes (default 10) with the
anchoring worker running beside the server; then zero lost or duplicated records, every batch
root on chain, and flat memory in both processes.

Not part of `make bench` (it lasts as long as it is told to): run it on its own, or through
`CARBON_BENCH_SOAK=1 make bench`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from common import BenchLedger, cpu_s, database, emit, family, ledger
from eth_account import Account

from anchoring.anchor_contract import AnchorContract
from anchoring.connection import connect
from anchoring.devchain import DEV_CHAIN_ID
from devtools.postgres import libpq_url
from devtools.seeding import PERIOD_START, register, signed_readings
from terminal.client import Terminal
from verifier.protocol.typed_data import Domain

TARGET_RATE = 5_000
SAMPLE_EVERY_S = 10.0
FLAT_GROWTH = 0.05  # "memory flat": under 5 % growth between the end of warm-up and the end
MAX_MINUTE_READINGS = (int(time.time()) - PERIOD_START) // 60 - 10  # periods must be past


@dataclass(frozen=True)
class Stream:
    """One terminal's pre-signed records, as ready-to-send batch bodies."""

    enterprise: str
    address: str
    token: str
    bodies: list[bytes]
    records: int


@dataclass
class Tally:
    """What the 2xx answers said, summed over the client threads."""

    accepted: int = 0
    duplicates: int = 0
    digest_sum: int = 0  # order-free checksum of every digest answered as stored
    statuses: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    max_lag_s: float = 0.0  # how far the clients fell behind the schedule: the server's backlog
    last_answer: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Sample:
    elapsed_s: float
    accepted: int
    server_rss_mb: float
    worker_rss_mb: float
    server_anon_mb: float  # the heap part of RSS, without mapped files (SQLite's -shm, libraries)
    worker_anon_mb: float
    anchored_leaves: int
    confirmed_batches: int


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident set size (or its ``RssAnon`` part) of a process tree from /proc, summed (pages
    shared between the workers count once per worker); psutil is not a dependency."""
    total_kb = 0
    for member in family(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    total_kb += int(line.split()[1])
    return round(total_kb / 1024, 1)


def read_only(db: str) -> Any:
    """A DB-API connection of its own to the ledger's database: a SQLite file or a PostgreSQL
    URL. Callers wrap it in closing() (sqlite3's own context manager only commits)."""
    if db.startswith("postgresql"):
        import psycopg

        return psycopg.connect(libpq_url(db), autocommit=True)
    # Read-only: WAL lets it read beside the server's and worker's writes without their lock.
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)


def anchored_so_far(db: str) -> tuple[int, int]:
    """(leaves, batches) confirmed on chain; the sum over batches is cheap at millions of rows,
    unlike a join over the leaf table, and the registry's few kind-3 leaves don't matter here."""
    with contextlib.closing(read_only(db)) as conn:
        leaves, batches = conn.execute(
            "SELECT coalesce(sum(leaf_count), 0), count(*) FROM anchor_batch"
            " WHERE status = 'confirmed'"
        ).fetchone()
    return int(leaves), int(batches)


def sign_chunk(
    key: bytes, chain_id: int, contract: str, enterprise: str, first: int, last: int, batch: int
) -> list[bytes]:
    """Sign readings first..last of one terminal and encode them as batch bodies (in a child
    process, so both cores sign)."""
    terminal = Terminal(key)
    domain = Domain(chain_id, contract)
    source = f"{enterprise}-SRC"
    bodies = []
    for start in range(first, last + 1, batch):
        seqs = range(start, min(start + batch, last + 1))
        records = signed_readings(terminal, domain, enterprise, source, seqs, step=60)
        bodies.append(json.dumps({"records": [r.to_json() for r in records]}).encode())
    return bodies


def prepare(bench: BenchLedger, terminals: int, per_terminal: int, batch: int) -> list[Stream]:
    """Register each enterprise with one terminal and one terminal principal (its own API key,
    so each has its own rate-limit allowance), then pre-sign its whole stream."""
    domain = bench.ledger_client().domain()
    keys = [bytes(Account.create().key) for _ in range(terminals)]
    setups = []
    for t, key in enumerate(keys):
        terminal = Terminal(key)
        enterprise = f"88.118.8/SOAK-{t}"
        register(bench.server, enterprise, [f"{enterprise}-SRC"], terminal)
        answer = bench.post(
            "/v1/principals",
            json={
                "name": f"soak-terminal-{t}",
                "role": "terminal",
                "enterprise": enterprise,
                "device": terminal.address,
            },
        )
        assert answer.status_code == 201, answer.text
        setups.append((enterprise, terminal.address, answer.json()["key"]["token"]))
    # Chunks of whole batches, many per terminal, so both pool processes stay busy.
    chunk = batch * max(1, 50_000 // batch)
    with ProcessPoolExecutor(os.cpu_count() or 2) as pool:
        futures = [
            [
                pool.submit(
                    sign_chunk,
                    key,
                    domain.chain_id,
                    domain.verifying_contract,
                    setups[t][0],
                    first,
                    min(first + chunk - 1, per_terminal),
                    batch,
                )
                for first in range(1, per_terminal + 1, chunk)
            ]
            for t, key in enumerate(keys)
        ]
        return [
            Stream(*setups[t], bodies=[b for f in fs for b in f.result()], records=per_terminal)
            for t, fs in enumerate(futures)
        ]


def post_paced(
    bench: BenchLedger, stream: Stream, t0: float, interval_s: float, offset_s: float, tally: Tally
) -> None:
    """Send one terminal's batches in order, batch k at t0 + offset + k × interval (at once
    when behind). Batches of one device go one after another: seqs must rise."""
    headers = {"Content-Type": "application/json"}
    with bench.client(token=stream.token, timeout=120) as http:
        for k, body in enumerate(stream.bodies):
            delay = t0 + offset_s + k * interval_s - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif -delay > tally.max_lag_s:
                with tally.lock:
                    tally.max_lag_s = max(tally.max_lag_s, -delay)
            answer = _post_until_answered(http, body, headers, tally)
            payload = answer.json()
            stored = [int(r["digest"], 16) for r in payload["records"] if r["status"] == "stored"]
            with tally.lock:
                tally.statuses[answer.status_code] += 1
                tally.accepted += payload["accepted"]
                tally.duplicates += payload["duplicates"]
                tally.digest_sum = (tally.digest_sum + sum(stored)) % 2**256
                tally.last_answer = time.monotonic()


def _post_until_answered(
    http: httpx.Client, body: bytes, headers: dict[str, str], tally: Tally
) -> httpx.Response:
    """POST until a 2xx; a retry after a lost answer is safe because stored records come back
    as duplicates, and any 4xx other than 429 is a bench bug worth stopping for."""
    while True:
        try:
            answer = http.post("/v1/activity-batches", content=body, headers=headers)
        except httpx.TransportError:
            answer = None
        if answer is not None and answer.status_code in (200, 201):
            return answer
        if answer is not None and answer.status_code < 500 and answer.status_code != 429:
            raise RuntimeError(f"batch refused: {answer.status_code} {answer.text[:500]}")
        with tally.lock:
            tally.retries += 1
            if answer is not None:
                tally.statuses[answer.status_code] += 1
        time.sleep(float(answer.headers.get("Retry-After", 1)) if answer is not None else 1)


def start_worker(bench: BenchLedger, interval_s: float) -> subprocess.Popen[bytes]:
    """`carbon-ledger anchor --watch` as its own process, configured exactly like the server."""
    exe = str(Path(sys.executable).parent / "carbon-ledger")
    with (bench.data_dir / "worker.log").open("ab") as log:
        return subprocess.Popen(
            [exe, "anchor", "--watch", "--interval", str(interval_s)],
            env=bench.server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def sample_until(
    stop: threading.Event,
    samples: list[Sample],
    t0: float,
    tally: Tally,
    server_pid: int,
    worker_pid: int,
    db: str,
) -> None:
    """A sample every 10 s on the clock of t0, and a last one when told to stop."""
    while True:
        leaves, batches = anchored_so_far(db)
        sample = Sample(
            round(time.monotonic() - t0, 1),
            tally.accepted,
            rss_mb(server_pid),
            rss_mb(worker_pid),
            rss_mb(server_pid, "RssAnon"),
            rss_mb(worker_pid, "RssAnon"),
            leaves,
            batches,
        )
        if samples and sample.elapsed_s - samples[-1].elapsed_s < 1:
            return  # the window ended just after a regular sample
        samples.append(sample)
        print(
            f"# t={sample.elapsed_s:6.1f}s accepted={sample.accepted:>9,} "
            f"server={sample.server_rss_mb:6.1f}MB (heap {sample.server_anon_mb:6.1f}) "
            f"worker={sample.worker_rss_mb:6.1f}MB (heap {sample.worker_anon_mb:6.1f}) "
            f"anchored={sample.anchored_leaves:>9,} in {sample.confirmed_batches} batches",
            file=sys.stderr,
            flush=True,
        )
        if stop.is_set():
            return
        stop.wait(SAMPLE_EVERY_S - (time.monotonic() - t0) % SAMPLE_EVERY_S)


def wait_anchored(db: str, worker: subprocess.Popen[bytes], log: Path, timeout_s: float) -> float:
    """Seconds until no leaf is left outside a confirmed batch."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if worker.poll() is not None:
            tail = log.read_text()[-2000:]
            raise RuntimeError(f"anchoring worker exited with {worker.returncode}: {tail}")
        with contextlib.closing(read_only(db)) as conn:
            # Both use an index: a join over millions of leaves each second would not.
            (loose,) = conn.execute("SELECT count(*) FROM leaf WHERE batch_id IS NULL").fetchone()
            (open_batches,) = conn.execute(
                "SELECT count(*) FROM anchor_batch WHERE status != 'confirmed'"
            ).fetchone()
        if loose == 0 and open_batches == 0:
            return time.monotonic() - start
        time.sleep(1)
    raise TimeoutError(f"leaves still unanchored after {timeout_s:.0f} s")


def integrity(
    db: str, bench: BenchLedger, streams: list[Stream], tally: Tally
) -> dict[str, object]:
    """Count what the database holds against what the clients were told, and every confirmed
    batch against the contract."""
    with contextlib.closing(read_only(db)) as conn:
        (rows,) = conn.execute("SELECT count(*) FROM activity_record").fetchone()
        (distinct,) = conn.execute("SELECT count(DISTINCT digest) FROM activity_record").fetchone()
        (anchored_records,) = conn.execute(
            "SELECT count(*) FROM leaf JOIN anchor_batch ON anchor_batch.id = leaf.batch_id"
            " WHERE leaf.kind = 1 AND anchor_batch.status = 'confirmed'"
        ).fetchone()
        (unleafed,) = conn.execute(
            "SELECT count(*) FROM activity_record"
            " LEFT JOIN leaf ON leaf.hash = activity_record.leaf_hash WHERE leaf.id IS NULL"
        ).fetchone()
        per_device = {
            address: (n, first, last)
            for address, n, first, last in conn.execute(
                "SELECT device.address, count(*), min(seq), max(seq) FROM activity_record"
                " JOIN device ON device.id = activity_record.device_id GROUP BY device.address"
            )
        }
        digest_sum = 0
        for (digest,) in conn.execute("SELECT digest FROM activity_record"):
            digest_sum = (digest_sum + int(digest, 16)) % 2**256
        batches = conn.execute(
            "SELECT anchor_batch.id, root, leaf_count, chain_batch_id, status,"
            " (SELECT count(*) FROM leaf WHERE leaf.batch_id = anchor_batch.id)"
            " FROM anchor_batch ORDER BY anchor_batch.id"
        ).fetchall()
    contract = AnchorContract(connect(bench.rpc_url, DEV_CHAIN_ID), bench.deployment.address)
    off_chain = 0
    miscounted = 0
    for _id, root, leaf_count, chain_batch_id, status, assigned in batches:
        on_chain = contract.batch_of(bytes.fromhex(root[2:]))
        if status != "confirmed" or on_chain is None or on_chain.batch_id != chain_batch_id:
            off_chain += 1
        elif on_chain.leaf_count != leaf_count or assigned != leaf_count:
            miscounted += 1
    sent = {s.address: s.records for s in streams}
    gaps = sum(per_device.get(a, (0, 0, 0)) != (n, 1, n) for a, n in sent.items())
    return {
        "records_posted": sum(sent.values()),
        "accepted": tally.accepted,
        "duplicates_answered": tally.duplicates,
        "activity_rows": rows,
        "distinct_digests": distinct,
        "anchored_records": anchored_records,
        "records_without_leaf": unleafed,
        "devices_with_gaps": gaps,
        "digest_checksum_matches": digest_sum == tally.digest_sum,
        "batches": len(batches),
        "chain_batch_count": contract.batch_count(),
        "batches_not_on_chain": off_chain,
        "batches_miscounted": miscounted,
    }


def slope_mb_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB), in MB per minute."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / n
    mean_m = sum(m for _, m in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    cov = sum((t - mean_t) * (m - mean_m) for t, m in points)
    return cov / var * 60 if var else 0.0


def memory(samples: list[Sample], warmup_s: float, who: str) -> dict[str, float | bool]:
    """Start (end of warm-up), end, growth and least-squares slope of RSS and its heap part."""
    steady = [s for s in samples if s.elapsed_s >= warmup_s]
    figures: dict[str, float | bool] = {}
    for kind, prefix in (("rss", ""), ("anon", "anon_")):
        attr = f"{who}_{kind}_mb"
        start, end = getattr(steady[0], attr), getattr(steady[-1], attr)
        figures |= {
            f"{prefix}start_mb": start,
            f"{prefix}end_mb": end,
            f"{prefix}peak_mb": max(getattr(s, attr) for s in samples),
            f"{prefix}growth_pct": round((end - start) / start * 100, 2),
            f"{prefix}slope_mb_per_min": round(
                slope_mb_per_min([(s.elapsed_s, getattr(s, attr)) for s in steady]), 3
            ),
        }
    figures["flat"] = float(figures["growth_pct"]) < FLAT_GROWTH * 100
    return figures


def records_per_terminal(total: int, terminals: int, batch: int) -> int:
    """Records per terminal, in whole batches, adding up to at least ``total``."""
    per = -(-total // terminals)
    return -(-per // batch) * batch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=TARGET_RATE, help="records/s to offer")
    parser.add_argument("--terminals", type=int, default=8)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--anchor-interval", type=float, default=5.0)
    parser.add_argument("--api-workers", type=int, default=2, help="CARBON_API_WORKERS")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    duration_s = args.minutes * 60
    # One minute of warm-up out of ten; a short trial run keeps its last four fifths.
    warmup_s = min(60.0, duration_s / 5)
    each = records_per_terminal(round(args.rate * duration_s), args.terminals, args.batch)
    if each > MAX_MINUTE_READINGS:
        parser.error(
            f"{each:,} one-minute readings per terminal would end in the future: "
            f"use more than {args.terminals} terminals"
        )
    with (
        database(args.database, "bench_soak") as db_env,
        ledger(CARBON_API_WORKERS=str(args.api_workers), **db_env) as bench,
    ):
        db = db_env.get("CARBON_DATABASE_URL") or str(bench.data_dir / "ledger.sqlite")
        worker = start_worker(bench, args.anchor_interval)
        try:
            signing_start = time.perf_counter()
            streams = prepare(bench, args.terminals, each, args.batch)
            signing_s = time.perf_counter() - signing_start
            total = sum(s.records for s in streams)
            print(
                f"# pre-signed {total:,} records in {signing_s:.1f} s "
                f"({total / signing_s:,.0f}/s on {os.cpu_count()} processes)",
                file=sys.stderr,
                flush=True,
            )
            tally, samples, stop = Tally(), [], threading.Event()
            interval_s = args.batch * args.terminals / args.rate
            cpu_before = {p: cpu_s(p) for p in (bench.server.process.pid, worker.pid)}
            client_before = time.process_time()
            t0 = time.monotonic()
            sampler = threading.Thread(
                target=sample_until,
                args=(stop, samples, t0, tally, bench.server.process.pid, worker.pid, db),
                daemon=True,  # a failing client must not leave it sampling forever
            )
            sampler.start()
            # Staggered, so the terminals' batches arrive evenly rather than eight at a time.
            with ThreadPoolExecutor(len(streams)) as clients:
                posted = [
                    clients.submit(
                        post_paced, bench, s, t0, interval_s, i * interval_s / len(streams), tally
                    )
                    for i, s in enumerate(streams)
                ]
                for future in posted:
                    future.result()  # a client's failure ends the soak with its error
            window_s = tally.last_answer - t0
            cpu = {
                "server": cpu_s(bench.server.process.pid) - cpu_before[bench.server.process.pid],
                "worker": cpu_s(worker.pid) - cpu_before[worker.pid],
                "client": time.process_time() - client_before,
            }
            stop.set()
            sampler.join()
            drain_s = wait_anchored(db, worker, bench.data_dir / "worker.log", timeout_s=600)
            checks = integrity(db, bench, streams, tally)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    rate = tally.accepted / window_s
    lost_or_duplicated = (
        checks["activity_rows"] != tally.accepted
        or checks["anchored_records"] != tally.accepted
        or checks["records_posted"] != tally.accepted
        or checks["distinct_digests"] != checks["activity_rows"]
        or checks["records_without_leaf"] != 0
        or checks["devices_with_gaps"] != 0
        or not checks["digest_checksum_matches"]
    )
    chain_ok = (
        checks["batches_not_on_chain"] == 0
        and checks["batches_miscounted"] == 0
        and checks["chain_batch_count"] == checks["batches"]
    )
    server_mem = memory(samples, warmup_s, "server")
    worker_mem = memory(samples, warmup_s, "worker")
    emit(
        "soak",
        minutes=args.minutes,
        database=args.database,
        api_workers=args.api_workers,
        terminals=args.terminals,
        batch=args.batch,
        target_records_per_s=args.rate,
        records_per_s=round(rate),
        window_s=round(window_s, 1),
        presign_s=round(signing_s, 1),
        anchor_drain_s=round(drain_s, 1),
        cpu_s_in_window={k: round(v, 1) for k, v in cpu.items()},
        statuses={str(k): v for k, v in sorted(tally.statuses.items())},
        retries=tally.retries,
        max_schedule_lag_s=round(tally.max_lag_s, 2),
        **checks,
        lost_or_duplicated=lost_or_duplicated,
        all_batches_on_chain=chain_ok,
        warmup_s=warmup_s,
        server_rss=server_mem,
        worker_rss=worker_mem,
        sample_columns=[
            "elapsed_s",
            "accepted",
            "server_rss_mb",
            "worker_rss_mb",
            "server_anon_mb",
            "worker_anon_mb",
            "anchored_leaves",
        ],
        samples=[
            [
                s.elapsed_s,
                s.accepted,
                s.server_rss_mb,
                s.worker_rss_mb,
                s.server_anon_mb,
                s.worker_anon_mb,
                s.anchored_leaves,
            ]
            for s in samples
        ],
    )
    print(
        f"# {tally.accepted:,} records in {window_s:.0f} s = {rate:,.0f}/s (target {args.rate:,}); "
        f"{checks['batches']} batches anchored, last one {drain_s:.0f} s after the window; "
        f"lost or duplicated: {'YES' if lost_or_duplicated else 'none'}; "
        f"all roots on chain: {'yes' if chain_ok else 'NO'}\n"
        f"# server RSS {server_mem['start_mb']} → {server_mem['end_mb']} MB "
        f"({server_mem['growth_pct']:+} %, {server_mem['slope_mb_per_min']:+} MB/min); "
        f"worker RSS {worker_mem['start_mb']} → {worker_mem['end_mb']} MB "
        f"({worker_mem['growth_pct']:+} %, {worker_mem['slope_mb_per_min']:+} MB/min)",
        file=sys.stderr,
    )
    return 1 if lost_or_duplicated or not chain_ok else 0


if __name__ == "__main__":
    sys.exit(main())

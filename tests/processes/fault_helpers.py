"""Fault injection for real-process tests: killing workers, stalling the chain, reading state.

Everything here observes the ledger from the outside (its database through its own URL, SQLite
or PostgreSQL, the chain, the child's log) so the processes under test run exactly the code
that ships.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar

from sqlalchemy import make_url
from web3 import Web3

from anchoring.anchor_contract import AnchorContract
from tests.conftest import query

T = TypeVar("T")

CLI = Path(sys.executable).parent / "carbon-ledger"
# Generous: a busy 2-core machine runs the server, the worker, ganache and pytest at once.
DEADLINE_S = 90.0


def wait_for(
    probe: Callable[[], T | None], what: str, timeout_s: float = DEADLINE_S, every_s: float = 0.05
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(every_s)


def kill9(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL one child we started and reap it: no handler, no cleanup, like a power cut."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def ledger_env(data_dir: Path, rpc_url: str, database_url: str | None = None) -> dict[str, str]:
    """The settings of a ledger process that reads nothing else (no stray config file); on
    ``database_url`` if given, else on the environment's database or the data dir's SQLite."""
    env = {
        "CARBON_DATA_DIR": str(data_dir),
        "CARBON_RPC_URL": rpc_url,
        "CARBON_CONFIG": str(data_dir / "none.toml"),
        # A killed worker's anchoring lease must run out quickly so its restart can reconcile.
        "CARBON_ANCHOR_LEASE_S": "2",
    }
    if database_url is not None:
        env["CARBON_DATABASE_URL"] = database_url
    return env


def start_anchor(
    data_dir: Path,
    rpc_url: str,
    *args: str,
    log_name: str = "anchor.log",
    database_url: str | None = None,
) -> subprocess.Popen[bytes]:
    """``carbon-ledger anchor ARGS`` as a child process, its output appended to a log file;
    pass the server's ``database_url`` so the worker anchors that server's ledger."""
    env = {**os.environ, **ledger_env(data_dir, rpc_url, database_url)}
    # A test that sets its own lease (the scale-out stand-by needs one longer than its start)
    # keeps it.
    env["CARBON_ANCHOR_LEASE_S"] = os.environ.get("CARBON_ANCHOR_LEASE_S", "2")
    with (data_dir / log_name).open("ab") as log:
        return subprocess.Popen(
            [str(CLI), "anchor", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def run_anchor(data_dir: Path, rpc_url: str, *args: str, database_url: str | None = None) -> None:
    """One anchoring round to completion; fails the test with the worker's log if it fails."""
    process = start_anchor(data_dir, rpc_url, *args, database_url=database_url)
    try:
        code = process.wait(timeout=DEADLINE_S)
    except subprocess.TimeoutExpired:
        kill9(process)
        raise
    log = (data_dir / "anchor.log").read_text(errors="replace")
    assert code == 0, f"carbon-ledger anchor exited with {code}:\n{log[-3000:]}"


# --- the database, read from outside the server ------------------------------------------------


def children(pid: int) -> list[int]:
    """The ids of the running processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def scalar(database_url: str, sql: str, **params: object) -> int:
    return int(query(database_url, sql, **params)[0][0])  # type: ignore[call-overload]


def writer_busy(database_url: str) -> bool:
    """Whether another connection is inside a write transaction right now (we never wait)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_write_locked(Path(str(url.database)))
    # A transaction is given an id at its first write or row lock, and keeps it to its end.
    [(busy,)] = query(
        database_url,
        "select exists (select 1 from pg_stat_activity where datname = current_database()"
        " and backend_type = 'client backend' and backend_xid is not null"
        " and pid <> pg_backend_pid())",
    )
    return bool(busy)


def _sqlite_write_locked(path: Path) -> bool:
    db = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        return True
    finally:
        db.close()


@dataclass(frozen=True)
class BatchRow:
    id: int
    status: str
    root: str
    leaf_count: int
    chain_batch_id: int | None


def batch_rows(database_url: str) -> list[BatchRow]:
    rows = query(
        database_url,
        "select id, status, root, leaf_count, chain_batch_id from anchor_batch order by id",
    )
    return [BatchRow(*row) for row in rows]  # type: ignore[arg-type]


def assert_fully_anchored(
    database_url: str, w3: Web3, contract_address: str, accepted: int
) -> None:
    """The ledger's end-to-end invariant after any fault, once anchoring has caught up.

    accepted records == stored records == activity leaves, every leaf in exactly one confirmed
    batch, and the chain holds each batch root exactly once and nothing else.
    """
    assert scalar(database_url, "select count(*) from activity_record") == accepted
    assert scalar(database_url, "select count(*) from leaf where kind = 1") == accepted
    assert scalar(database_url, "select count(*) from leaf where batch_id is null") == 0
    # Each record's leaf is the one the worker batched (no orphan, no stand-in).
    assert (
        scalar(
            database_url,
            "select count(*) from activity_record r join leaf l on l.hash = r.leaf_hash"
            " where l.batch_id is not null",
        )
        == accepted
    )
    batches = batch_rows(database_url)
    assert batches and {b.status for b in batches} == {"confirmed"}
    per_batch = dict(query(database_url, "select batch_id, count(*) from leaf group by batch_id"))
    assert per_batch == {b.id: b.leaf_count for b in batches}
    contract = AnchorContract(w3, contract_address)
    assert contract.batch_count() == len(batches)
    for b in batches:
        onchain = contract.batch_of(bytes.fromhex(b.root[2:]))
        assert onchain is not None, f"batch {b.id} root {b.root} is not on chain"
        assert (onchain.batch_id, onchain.leaf_count) == (b.chain_batch_id, b.leaf_count)
    # No root anchored twice: one Anchored event per stored batch, all roots distinct.
    events = contract.contract.events.Anchored().get_logs(from_block=0)
    roots = ["0x" + e["args"]["root"].hex() for e in events]
    assert sorted(roots) == sorted(b.root for b in batches)


# --- a JSON-RPC relay that can stall the worker at a chosen call -------------------------------


class RpcGate:
    """A loopback JSON-RPC relay to ``upstream`` that stalls every call of the held methods.

    A stalled call is never forwarded: the node never sees it, and the caller waits until it
    is killed. That pins a worker between two of its steps without touching its code.
    """

    def __init__(self, upstream: str, hold: Iterable[str]) -> None:
        self.upstream = upstream
        self.hold = frozenset(hold)
        self.held = threading.Event()
        self.forwarded: list[str] = []
        self._closing = threading.Event()
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                calls = json.loads(body)
                methods = [c["method"] for c in (calls if isinstance(calls, list) else [calls])]
                if gate.hold.intersection(methods):
                    gate.held.set()
                    gate._closing.wait()
                    return  # the connection drops without an answer
                gate.forwarded.extend(methods)
                request = urllib.request.Request(
                    gate.upstream, data=body, headers={"Content-Type": "application/json"}
                )
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        status, answer = response.status, response.read()
                except urllib.error.HTTPError as exc:
                    status, answer = exc.code, exc.read()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep the test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        """Stop relaying; stalled calls are dropped unanswered, never forwarded. Idempotent."""
        if self._closing.is_set():
            return
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

"""Faults, tested with real processes: SIGKILLed servers and workers, a chain that goes away, a
locked database. After each, the ledger's invariant holds: every accepted record is stored
once, becomes one leaf, and (once anchoring catches up) sits in exactly one batch whose root is
on chain exactly once.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from web3 import Web3

from anchoring.anchor_contract import AnchorContract
from anchoring.connection import connect
from anchoring.deployment import deploy
from anchoring.devchain import DEV_CHAIN_ID, DevChain
from anchoring.operator import dev_account
from devtools.local_server import ServerProcess, free_port, start_server
from devtools.postgres import libpq_url
from devtools.seeding import register, signed_readings
from terminal.client import SignedRecord, Terminal
from tests.conftest import LedgerServer, server_env
from tests.processes.fault_helpers import (
    DEADLINE_S,
    RpcGate,
    assert_fully_anchored,
    batch_rows,
    kill9,
    query,
    run_anchor,
    scalar,
    start_anchor,
    wait_for,
    writer_busy,
)
from verifier.protocol.typed_data import Domain

ENTERPRISE = "88.118.8/ENT-FAULT-01"
SOURCE = "88.118.8/SRC-FAULT-01-GRID"
MINUTE = 60  # short reading periods, so thousands of readings stay in the past


def records_stored(server: ServerProcess) -> int:
    return scalar(server.database_url, "select count(*) from activity_record")


def same_ledger(env: dict[str, str]) -> dict[str, str]:
    """The settings a server was started with that name its ledger: a restart with them serves
    the same chain and database."""
    names = ("CARBON_RPC_URL", "CARBON_CONFIG", "CARBON_DATABASE_URL")
    return {name: env[name] for name in names if name in env}


def readings(terminal: Terminal, domain: Domain, first: int, count: int) -> list[SignedRecord]:
    return signed_readings(
        terminal, domain, ENTERPRISE, SOURCE, range(first, first + count), step=MINUTE
    )


def ledger_domain(server: ServerProcess) -> Domain:
    client = server.ledger_client()
    try:
        return client.domain()
    finally:
        client.close()


def post_batch(server: ServerProcess, records: list[SignedRecord]) -> httpx.Response:
    """One attempt, no retries: the test decides what happens after a failure."""
    body = {"records": [r.to_json() for r in records]}
    return server.post("/v1/activity-batches", json=body, timeout=DEADLINE_S)


@pytest.fixture
def terminal(ledger: LedgerServer) -> Terminal:
    terminal = Terminal.create()
    register(ledger.server, ENTERPRISE, [SOURCE], terminal)
    return terminal


# --- 1. the API process is SIGKILLed while a large batch is in flight --------------------------

API_BATCH = 5_000


def kill_while_writing(server: ServerProcess, request: Future[httpx.Response]) -> None:
    """SIGKILL the server while it is inside a write transaction (SQLite: holds the database's
    write lock)."""

    def in_transaction() -> bool:
        return request.done() or writer_busy(server.database_url)

    wait_for(in_transaction, "the server to start writing the batch", every_s=0.002)
    assert not request.done(), "the batch was answered before we saw its transaction"
    kill9(server.process)


def kill_after(server: ServerProcess, delay_s: float) -> None:
    time.sleep(delay_s)  # where the kill lands is the variable under test, not an assertion
    kill9(server.process)


def test_api_killed_mid_batch_stores_all_or_nothing_and_one_copy_after_resend(
    ledger: LedgerServer, terminal: Terminal, w3: Web3
) -> None:
    domain = ledger_domain(ledger.server)
    env = same_ledger(ledger.env)
    next_seq = 1
    # An undisturbed batch first: it warms the server up and times a whole request, so the
    # delayed kills below spread over parsing, signature checks and the transaction.
    started = time.monotonic()
    response = post_batch(ledger.server, readings(terminal, domain, next_seq, API_BATCH))
    full_request_s = time.monotonic() - started
    assert (response.status_code, response.json()["accepted"]) == (201, API_BATCH)
    next_seq += API_BATCH
    accepted = API_BATCH

    server = ledger.server
    kill_points: list[str | float] = ["in_transaction", 0.2, 0.5, 0.8]
    cut_mid_request = 0
    try:
        for point in kill_points:
            batch = readings(terminal, domain, next_seq, API_BATCH)
            next_seq += API_BATCH
            with ThreadPoolExecutor(1) as pool:
                request = pool.submit(post_batch, server, batch)
                if point == "in_transaction":
                    kill_while_writing(server, request)
                else:
                    assert isinstance(point, float)
                    kill_after(server, point * full_request_s)
                try:
                    answered = request.result(timeout=DEADLINE_S).status_code
                except httpx.TransportError:
                    answered = None  # the kill cut the request: its fate is unknown to us
            cut_mid_request += answered is None
            # All or nothing: before anyone resends, the batch is wholly stored or absent.
            stored = records_stored(ledger.server)
            assert stored in (accepted, accepted + API_BATCH), (point, stored)
            assert answered is None or stored == accepted + API_BATCH
            if point == "in_transaction":
                assert stored == accepted, "a transaction cut by SIGKILL must roll back"

            server = start_server(ledger.data_dir, env)
            # The terminal's retry: the same batch again, until it gets an answer.
            client = server.ledger_client(retries=5, backoff_s=0.5)
            try:
                result = client.submit(batch)
                assert result["accepted"] + result["duplicates"] == API_BATCH
                assert result["accepted"] == accepted + API_BATCH - stored
                again = client.submit(batch)
                assert (again["accepted"], again["duplicates"]) == (0, API_BATCH)
            finally:
                client.close()
            accepted += API_BATCH
            assert records_stored(ledger.server) == accepted
    finally:
        server.stop()
    # The first kill is pinned inside the transaction, so at least that one cut a request.
    assert cut_mid_request >= 1

    db = ledger.server.database_url
    run_anchor(ledger.data_dir, ledger.env["CARBON_RPC_URL"], database_url=db)
    assert_fully_anchored(db, w3, ledger.deployment.address, accepted)


# --- 2. the anchoring worker is SIGKILLed between its steps ------------------------------------

FIRST_ROUND = 40
SECOND_ROUND = 60
MAX_BATCH = 25  # the second round makes three batches; the kill lands in the first of them


def _miner(w3: Web3, on: bool) -> None:
    w3.provider.make_request("miner_start" if on else "miner_stop", [])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kill_point",
    [
        "pending",  # batch and tree committed, nothing signed
        "sent_unbroadcast",  # signed tx committed, never reached the node
        "sent_in_mempool",  # broadcast, not mined yet
        "sent_mined",  # mined on chain, receipt not recorded
    ],
)
def test_worker_killed_between_steps_is_reconciled_on_restart(
    ledger: LedgerServer, terminal: Terminal, w3: Web3, kill_point: str
) -> None:
    rpc_url = ledger.env["CARBON_RPC_URL"]
    db = ledger.server.database_url
    client = ledger.ledger_client()
    domain = client.domain()
    # A batch confirmed before the crash, so reconciliation must leave it alone.
    client.submit(readings(terminal, domain, 1, FIRST_ROUND))
    run_anchor(ledger.data_dir, rpc_url, database_url=db)
    client.submit(readings(terminal, domain, 1 + FIRST_ROUND, SECOND_ROUND))
    client.close()
    anchor = AnchorContract(w3, ledger.deployment.address)

    # Each kill point is pinned, not raced: the worker is stalled at the RPC call that follows
    # the step, so it is guaranteed to be there when the SIGKILL lands.
    held = {
        "pending": "eth_call",  # its first chain call after create_batch: is the root on chain?
        "sent_unbroadcast": "eth_sendRawTransaction",
        "sent_mined": "eth_getTransactionReceipt",
    }.get(kill_point)
    gate = RpcGate(rpc_url, [held] if held else [])
    if kill_point == "sent_in_mempool":
        _miner(w3, on=False)
    try:
        worker = start_anchor(
            ledger.data_dir, gate.url, "--max-batch", str(MAX_BATCH), database_url=db
        )
        try:
            if held:
                wait_for(gate.held.is_set, f"the worker to call {held}")
            else:
                # Nothing is mined, so the worker waits for its receipt as long as we like.
                def in_mempool() -> bool:
                    rows = query(db, "select tx_hash from anchor_batch where status = 'sent'")
                    return bool(rows) and anchor.is_known(str(rows[0][0]))

                wait_for(in_mempool, "the anchor tx to reach the mempool")
        finally:
            kill9(worker)
        gate.close()
        open_batch = batch_rows(db)[-1]
        root = bytes.fromhex(open_batch.root[2:])
        [(tx_hash,)] = query(
            db, "select tx_hash from anchor_batch where id = :id", id=open_batch.id
        )
        expected = "pending" if kill_point == "pending" else "sent"
        assert open_batch.status == expected
        assert (tx_hash is None) == (kill_point == "pending")
        if kill_point == "sent_unbroadcast":
            assert not anchor.is_known(str(tx_hash))
        assert (anchor.batch_of(root) is not None) == (kill_point == "sent_mined")
    finally:
        gate.close()
        if kill_point == "sent_in_mempool":
            _miner(w3, on=True)  # mines the orphaned tx; the restart must adopt, not resend it

    run_anchor(ledger.data_dir, rpc_url, "--max-batch", str(MAX_BATCH), database_url=db)
    assert len(batch_rows(db)) == 1 + -(-SECOND_ROUND // MAX_BATCH)
    assert_fully_anchored(db, w3, ledger.deployment.address, FIRST_ROUND + SECOND_ROUND)


# --- 3. the chain goes away while ingestion and the watcher keep running -----------------------

OUTAGE_ROUND = 30


@dataclass
class ChainLedger:
    """A ledger server on a chain of its own, so the test may stop that chain at will."""

    chain: DevChain
    data_dir: Path
    server: ServerProcess
    address: str
    terminal: Terminal
    domain: Domain
    accepted: int = 0

    @property
    def log(self) -> Path:
        return self.data_dir / "anchor.log"

    def submit(self) -> None:
        """One batch; it must be accepted whatever the chain is doing."""
        batch = readings(self.terminal, self.domain, self.accepted + 1, OUTAGE_ROUND)
        response = post_batch(self.server, batch)
        assert (response.status_code, response.json()["accepted"]) == (201, OUTAGE_ROUND)
        self.accepted += OUTAGE_ROUND

    @property
    def db(self) -> str:
        return self.server.database_url

    def unanchored(self) -> int:
        return scalar(self.db, "select count(*) from leaf where batch_id is null")

    def unconfirmed(self) -> int:
        """Leaves not yet in a confirmed batch (a round cut by the outage may batch some)."""
        return scalar(
            self.db,
            "select count(*) from leaf left join anchor_batch b on b.id = leaf.batch_id"
            " where b.status is null or b.status != 'confirmed'",
        )

    def all_confirmed(self) -> bool:
        # One query, one snapshot: read as two, the batches could be read before the watcher
        # batched the last leaves and the leaves after, so a batch not yet confirmed passed.
        return self.unconfirmed() == 0

    def watch(self) -> subprocess.Popen[bytes]:
        args = ("--watch", "--interval", "1")
        return start_anchor(self.data_dir, self.chain.rpc_url, *args, database_url=self.db)

    def wait_anchored(self, watcher: subprocess.Popen[bytes], what: str) -> None:
        def done() -> bool:
            assert watcher.poll() is None, f"the watcher died:\n{self.log_tail()}"
            return self.all_confirmed()

        wait_for(done, what)

    def wait_backing_off(self, watcher: subprocess.Popen[bytes], rounds: int) -> None:
        """Until the watcher has failed ``rounds`` more rounds against the missing chain."""
        seen = self.log_tail(None).count("chain unavailable")

        def backed_off() -> bool:
            assert watcher.poll() is None, f"the watcher died in the outage:\n{self.log_tail()}"
            return self.log_tail(None).count("chain unavailable") >= seen + rounds

        wait_for(backed_off, f"the watcher to retry {rounds} times")

    def log_tail(self, chars: int | None = 3000) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return text if chars is None else text[-chars:]

    def assert_fully_anchored(self) -> None:
        w3 = connect(self.chain.rpc_url, DEV_CHAIN_ID)
        assert_fully_anchored(self.db, w3, self.address, self.accepted)


@pytest.fixture
def chain_ledger(tmp_path: Path) -> Iterator[ChainLedger]:
    chain = DevChain(data_dir=tmp_path / "own-chain", port=free_port())
    chain.up()
    data_dir = tmp_path / "ledger"
    try:
        w3 = connect(chain.rpc_url, DEV_CHAIN_ID)
        account = dev_account(0, chain.rpc_url, DEV_CHAIN_ID)
        # The server binds to the deployment record in its data dir, never asking the chain.
        record, _ = deploy(w3, account, data_dir / "deployments")
        server = start_server(data_dir, server_env(data_dir, chain.rpc_url))
        try:
            terminal = Terminal.create()
            register(server, ENTERPRISE, [SOURCE], terminal)
            domain = ledger_domain(server)
            yield ChainLedger(chain, data_dir, server, record.address, terminal, domain)
        finally:
            server.stop()
    finally:
        chain.down(timeout_s=3)


def stop_chain(chain: DevChain) -> None:
    # Clients' keep-alive connections stall ganache's clean exit, so after 3 s it is SIGKILLed:
    # a harsher outage. Its state must still come back; the final on-chain checks prove it.
    chain.down(timeout_s=3)


def test_ingestion_goes_on_while_the_chain_is_down_and_anchoring_catches_up(
    chain_ledger: ChainLedger,
) -> None:
    ledger = chain_ledger
    ledger.submit()
    run_anchor(ledger.data_dir, ledger.chain.rpc_url, database_url=ledger.db)

    stop_chain(ledger.chain)
    ledger.submit()  # ingestion never waits for the chain
    ledger.submit()
    # A one-shot round during the outage fails cleanly and touches nothing.
    batches_before = batch_rows(ledger.db)
    failed = start_anchor(ledger.data_dir, ledger.chain.rpc_url, database_url=ledger.db)
    assert failed.wait(timeout=DEADLINE_S) == 1
    assert "cannot reach the chain" in ledger.log_tail()
    assert batch_rows(ledger.db) == batches_before
    assert ledger.unanchored() == 2 * OUTAGE_ROUND

    ledger.chain.up()  # same port, same data: the chain comes back with its history
    watcher = ledger.watch()
    try:
        ledger.wait_anchored(watcher, "everything to be anchored after the outage")
    finally:
        kill9(watcher)
    ledger.assert_fully_anchored()


def test_a_running_watcher_rides_out_a_chain_outage(chain_ledger: ChainLedger) -> None:
    ledger = chain_ledger
    ledger.submit()
    watcher = ledger.watch()
    try:
        ledger.wait_anchored(watcher, "the first round to anchor")
        # A second batch anchored by the watch loop itself, so its worker (and the worker's
        # connection to the chain) is live when the chain goes away.
        ledger.submit()
        ledger.wait_anchored(watcher, "the watch loop to anchor")

        stop_chain(ledger.chain)
        ledger.submit()
        ledger.wait_backing_off(watcher, rounds=2)
        ledger.submit()
        assert ledger.unconfirmed() == 2 * OUTAGE_ROUND

        ledger.chain.up()
        ledger.wait_anchored(watcher, "everything to be anchored after the outage")
    finally:
        kill9(watcher)
    ledger.assert_fully_anchored()


def test_a_watcher_started_during_an_outage_waits_for_the_chain(
    chain_ledger: ChainLedger,
) -> None:
    ledger = chain_ledger
    stop_chain(ledger.chain)
    ledger.submit()
    watcher = ledger.watch()
    try:
        ledger.wait_backing_off(watcher, rounds=2)
        ledger.submit()
        ledger.chain.up()
        ledger.wait_anchored(watcher, "everything to be anchored after the outage")
    finally:
        kill9(watcher)
    ledger.assert_fully_anchored()


# --- 4. the database is locked by someone else while a batch comes in --------------------------


@contextmanager
def _writes_held(database_url: str) -> Iterator[None]:
    """Another client holding the ledger's storing tables against writes for the block, then
    rolling back: SQLite's whole-database write lock; on PostgreSQL an EXCLUSIVE lock on leaves
    and records (reads go on, as another API process's would)."""
    if database_url.startswith("sqlite"):
        locker = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        return
    import psycopg

    with psycopg.connect(libpq_url(database_url)) as pg:
        pg.execute("LOCK TABLE leaf, activity_record IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            pg.rollback()


def test_batch_waits_for_a_locked_database_and_is_stored_once(
    ledger: LedgerServer, terminal: Terminal, w3: Web3
) -> None:
    count = 500
    domain = ledger_domain(ledger.server)
    batch = readings(terminal, domain, 1, count)
    with ThreadPoolExecutor(1) as pool:
        with _writes_held(ledger.server.database_url):
            request = pool.submit(post_batch, ledger.server, batch)
            time.sleep(2)  # the lock's duration: the fault being injected
            # Nothing can be committed behind our lock, so no answer may have come yet
            # (an early answer would be a 5xx: the batch dropped instead of waiting).
            assert not request.done()
        response = request.result(timeout=DEADLINE_S)
    assert (response.status_code, response.json()["accepted"]) == (201, count)
    assert records_stored(ledger.server) == count

    db = ledger.server.database_url
    run_anchor(ledger.data_dir, ledger.env["CARBON_RPC_URL"], database_url=db)
    assert_fully_anchored(db, w3, ledger.deployment.address, count)

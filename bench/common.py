"""What the benchmarks share: a dev chain, a deployment and a ledger server in a temp dir."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anchoring.connection import connect
from anchoring.deployment import DeploymentRecord, deploy
from anchoring.devchain import DEV_CHAIN_ID, DevChain
from anchoring.operator import dev_account
from devtools.local_server import ServerProcess, free_port, start_server
from devtools.seeding import grid_record
from terminal.client import LedgerClient, SignedRecord, Terminal
from verifier.protocol.typed_data import Domain


@dataclass
class BenchLedger:
    base_url: str
    data_dir: Path
    rpc_url: str
    deployment: DeploymentRecord
    server: ServerProcess

    def client(self, **kwargs: Any) -> httpx.Client:
        return self.server.client(**kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.server.post(path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.server.get(path, **kwargs)

    def ledger_client(self, **kwargs: Any) -> LedgerClient:
        return self.server.ledger_client(**kwargs)


def grid_readings(
    terminal: Terminal,
    domain: Domain,
    where: tuple[str, str],
    start: int,
    step: int,
    seqs: range,
    quantity: Callable[[int], int],
) -> list[SignedRecord]:
    """Signed :func:`grid_record` readings: reading ``seq`` covers the ``step`` seconds from
    ``start + (seq - 1) * step``."""
    return [
        terminal.sign(
            domain, grid_record(terminal, where, seq, start + (seq - 1) * step, step, quantity(seq))
        )
        for seq in seqs
    ]


@contextlib.contextmanager
def dev_chain() -> Iterator[DevChain]:
    with tempfile.TemporaryDirectory() as tmp:
        chain = DevChain(data_dir=Path(tmp), port=free_port())
        chain.up()
        try:
            yield chain
        finally:
            chain.down(timeout_s=3)


@contextlib.contextmanager
def ledger(**env: str) -> Iterator[BenchLedger]:
    """A chain, a fresh deployment and a `carbon-ledger serve` process."""
    with dev_chain() as chain, tempfile.TemporaryDirectory() as tmp:
        w3 = connect(chain.rpc_url, DEV_CHAIN_ID)
        record, _ = deploy(
            w3, dev_account(0, chain.rpc_url, DEV_CHAIN_ID), Path(tmp) / "deployments"
        )
        server = start_server(
            Path(tmp),
            {"CARBON_RPC_URL": chain.rpc_url, "CARBON_CONFIG": str(Path(tmp) / "none.toml"), **env},
        )
        try:
            yield BenchLedger(server.base_url, Path(tmp), chain.rpc_url, record, server)
        finally:
            server.stop()


@contextlib.contextmanager
def database(kind: str, name: str) -> Iterator[dict[str, str]]:
    """The server's database settings: its own SQLite file (none to give), or a throwaway
    PostgreSQL cluster (fsync on, as the suite runs it) with a fresh database ``name``."""
    if kind == "sqlite":
        yield {}
        return
    from devtools.postgres import create_database, postgres_cluster

    with postgres_cluster() as base_url:
        yield {"CARBON_DATABASE_URL": create_database(base_url, name)}


def stat_fields(pid: int) -> list[str]:
    """``/proc/<pid>/stat`` after the command name (which may hold spaces): state, ppid, …"""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def family(pid: int) -> list[int]:
    """``pid`` and its descendants: with several API workers the server is a process tree."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parent = int(stat_fields(int(entry.name))[1])
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        found.append(current := todo.pop())
        todo.extend(children.get(current, []))
    return found


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process tree so far, to see who took the two cores."""
    total = 0
    for member in family(pid):
        with contextlib.suppress(OSError):
            fields = stat_fields(member)
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def emit(name: str, **figures: object) -> None:
    """One JSON line per benchmark."""
    print(json.dumps({"bench": name, **figures}), flush=True)

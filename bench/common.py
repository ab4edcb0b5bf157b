"""What the benchmarks share: a dev chain, a deployment and a ledger server in a temp dir."""

from __future__ import annotations

import contextlib
import json
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
from terminal.client import LedgerClient, SignedRecord, Terminal
from verifier.protocol.typed_data import ActivityRecord, Domain


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
    """Signed purchased-electricity readings (MWh, three decimals) of ``where`` = (enterprise,
    source): reading ``seq`` covers the ``step`` seconds from ``start + (seq - 1) * step``."""
    enterprise, source = where
    return [
        terminal.sign(
            domain,
            ActivityRecord(
                enterprise=enterprise,
                source=source,
                device=terminal.address,
                seq=seq,
                activity="electricity.purchased",
                quantity=quantity(seq),
                decimals=3,
                unit="MWh",
                period_start=start + (seq - 1) * step,
                period_end=start + seq * step,
            ),
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


def emit(name: str, **figures: object) -> None:
    """One JSON line per benchmark."""
    print(json.dumps({"bench": name, **figures}), flush=True)

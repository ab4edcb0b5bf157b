"""Real processes for the tests: a ganache dev chain on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.anchor_contract import AnchorContract
from anchoring.connection import connect
from anchoring.deployment import DeploymentRecord, deploy
from anchoring.devchain import DEV_CHAIN_ID, DevChain
from anchoring.operator import dev_account
from ledger_api.settings import Settings


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def dev_chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevChain]:
    chain = DevChain(data_dir=tmp_path_factory.mktemp("chain"), port=free_port())
    chain.up()
    yield chain
    chain.down(timeout_s=3)  # our own keep-alive connections would hold a clean shutdown


@pytest.fixture(scope="session")
def w3(dev_chain: DevChain) -> Web3:
    return connect(dev_chain.rpc_url, DEV_CHAIN_ID)


@pytest.fixture(scope="session")
def operator_account(dev_chain: DevChain) -> LocalAccount:
    return dev_account(0, dev_chain.rpc_url, DEV_CHAIN_ID)


@pytest.fixture(scope="session")
def stranger_account(dev_chain: DevChain) -> LocalAccount:
    """A funded dev account without the anchoring role."""
    return dev_account(1, dev_chain.rpc_url, DEV_CHAIN_ID)


@pytest.fixture
def deployment(w3: Web3, operator_account: LocalAccount, tmp_path: Path) -> DeploymentRecord:
    """A fresh CarbonAnchor per test, so tests never see each other's roots."""
    record, deployed = deploy(w3, operator_account, tmp_path / "deployments")
    assert deployed
    return record


@pytest.fixture
def anchor(w3: Web3, deployment: DeploymentRecord) -> AnchorContract:
    return AnchorContract(w3, deployment.address)


@dataclass
class LedgerServer:
    """A real `carbon-ledger serve` process bound to a fresh deployment and database."""

    base_url: str
    data_dir: Path
    env: dict[str, str]
    deployment: DeploymentRecord
    process: subprocess.Popen[bytes]

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'ledger.sqlite'}"

    def settings(self) -> Settings:
        return Settings(data_dir=self.data_dir, rpc_url=self.env["CARBON_RPC_URL"])


def start_server(
    data_dir: Path, rpc_url: str, **extra_env: str
) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    port = free_port()
    env = {
        **os.environ,
        "CARBON_DATA_DIR": str(data_dir),
        "CARBON_RPC_URL": rpc_url,
        "CARBON_CONFIG": str(data_dir / "none.toml"),
        **extra_env,
    }
    log = (data_dir / "server.log").open("ab")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "carbon-ledger"), "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((data_dir / "server.log").read_text())
        try:
            if httpx.get(base_url + "/v1/typed-data", timeout=1).status_code == 200:
                return process, base_url, env
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("ledger server did not start")


@pytest.fixture
def ledger(
    dev_chain: DevChain, w3: Web3, operator_account: LocalAccount, tmp_path: Path
) -> Iterator[LedgerServer]:
    record, _ = deploy(w3, operator_account, tmp_path / "deployments")
    process, base_url, env = start_server(tmp_path, dev_chain.rpc_url)
    yield LedgerServer(base_url, tmp_path, env, record, process)
    process.terminate()
    process.wait(timeout=10)

"""Real processes for the tests: a ganache dev chain on a free loopback port."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.anchor_contract import AnchorContract
from anchoring.connection import connect
from anchoring.deployment import DeploymentRecord, deploy
from anchoring.devchain import DEV_CHAIN_ID, DevChain
from anchoring.operator import dev_account


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

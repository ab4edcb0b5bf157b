"""Real processes for the tests: a ganache dev chain on a free loopback port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import Connection, Row, text
from web3 import Web3

from anchoring.anchor_contract import AnchorContract
from anchoring.connection import connect
from anchoring.deployment import DeploymentRecord, deploy
from anchoring.devchain import DEV_CHAIN_ID, DevChain
from anchoring.operator import dev_account
from devtools.local_server import ServerProcess, free_port, prefer_forked_servers, start_server
from ledger_api.core.config import Settings
from ledger_api.core.db import engine_for, make_engine
from terminal.client import LedgerClient
from tests.postgres import (
    create_database,
    fresh_database_url,
    shared_cluster,
    suite_on_postgres,
)


def pytest_configure(config: pytest.Config) -> None:
    # Most of a fresh server's start is importing it: every server of a test process is forked
    # from one parent that imported it once (devtools/server_launch.py). CARBON_TEST_FORKSERVER=0
    # starts each as a fresh `carbon-ledger serve` process instead, as the demo and benches do.
    prefer_forked_servers(os.environ.get("CARBON_TEST_FORKSERVER", "1") != "0")


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
    server: ServerProcess

    @property
    def token(self) -> str:
        """The admin key of the server."""
        return self.server.token

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.server.get(path, token, **kwargs)

    def post(self, path: str, token: str | None = None, **kwargs: Any) -> httpx.Response:
        return self.server.post(path, token, **kwargs)

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        return self.server.client(token, **kwargs)

    def ledger_client(self, token: str | None = None, **kwargs: Any) -> LedgerClient:
        return self.server.ledger_client(token, **kwargs)

    def settings(self) -> Settings:
        return Settings(
            data_dir=self.data_dir,
            rpc_url=self.env["CARBON_RPC_URL"],
            database_url=self.env.get("CARBON_DATABASE_URL"),
        )

    def sql(self, statement: str, **params: Any) -> list[Row[Any]]:
        """A read (``:name`` parameters) of the server's database, SQLite or PostgreSQL: how
        a test sees what the ledger stored."""
        return query(self.settings().effective_database_url, statement, **params)

    @contextmanager
    def tampering(self) -> Iterator[Connection]:
        """One transaction on the server's database, committed at the end, with its foreign
        keys unchecked: the operator editing the database behind the ledger's back, with
        every power its owner has. Its own connection, so the switch ends with it."""
        engine = make_engine(self.settings().effective_database_url)
        try:
            with engine.begin() as connection:
                if engine.dialect.name == "sqlite":
                    # Before the first write: SQLite ignores it inside a transaction.
                    connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
                else:
                    connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
                yield connection
        finally:
            engine.dispose()


def query(database_url: str, statement: str, **params: Any) -> list[Row[Any]]:
    """A read (``:name`` parameters) on its own connection, beside the server's writers: rows
    that compare and unpack as tuples, and name their columns (``row._mapping``)."""
    with engine_for(database_url).connect() as connection:
        return list(connection.execute(text(statement), params))


def server_env(data_dir: Path, rpc_url: str) -> dict[str, str]:
    """Settings for a server that reads nothing but these (no stray config file); on a new
    PostgreSQL database of its own when the suite runs on PostgreSQL."""
    env = {"CARBON_RPC_URL": rpc_url, "CARBON_CONFIG": str(data_dir / "none.toml")}
    if suite_on_postgres():
        env["CARBON_DATABASE_URL"] = fresh_database_url()
    return env


@pytest.fixture
def ledger(
    dev_chain: DevChain, w3: Web3, operator_account: LocalAccount, tmp_path: Path
) -> Iterator[LedgerServer]:
    record, _ = deploy(w3, operator_account, tmp_path / "deployments")
    server = start_server(tmp_path, server_env(tmp_path, dev_chain.rpc_url))
    yield LedgerServer(server.base_url, tmp_path, server.env, record, server)
    server.stop()


@pytest.fixture(scope="session")
def postgres_base_url() -> str:
    """This test process's PostgreSQL cluster (one, whatever database the suite runs on)."""
    return shared_cluster()


@pytest.fixture
def ledger_pg(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path: Path,
    postgres_base_url: str,
) -> Iterator[LedgerServer]:
    """The ledger server on a fresh PostgreSQL database instead of SQLite."""
    url = create_database(postgres_base_url, tmp_path.name.replace("-", "_").lower())
    record, _ = deploy(w3, operator_account, tmp_path / "deployments")
    env = {**server_env(tmp_path, dev_chain.rpc_url), "CARBON_DATABASE_URL": url}
    server = start_server(tmp_path, env)
    yield LedgerServer(server.base_url, tmp_path, server.env, record, server)
    server.stop()


@pytest.fixture(scope="module")
def register_ledger(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    """A ledger of one module holding the register-form case of tests/verifier/register_case.py
    (readings, anchored, evaluated), and that case."""
    from tests.verifier.register_case import register_case

    yield from register_case(dev_chain, w3, operator_account, tmp_path_factory.mktemp("ledger"))

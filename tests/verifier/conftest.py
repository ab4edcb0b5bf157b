"""Shared fixtures for the verifier tests: driving the npm reference implementation, and one
ledger server per module for the tests that play the operator against it."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from devtools.local_server import start_server
from tests.conftest import LedgerServer, server_env

REPO = Path(__file__).resolve().parents[2]
OZ_SCRIPT = Path(__file__).parent / "js" / "oz_tree.js"

RunOz = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


@pytest.fixture(scope="session")
def run_oz() -> RunOz:
    """Run cases through ``js/oz_tree.js`` (one node process per call) from the repo root, so
    ``require`` finds the pinned ``@openzeppelin/merkle-tree`` in node_modules."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not (REPO / "node_modules" / "@openzeppelin" / "merkle-tree").is_dir():
        pytest.skip("npm dependencies are not installed (npm ci)")

    def run(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        done = subprocess.run(
            [node, str(OZ_SCRIPT)],
            input=json.dumps(cases),
            capture_output=True,
            text=True,
            cwd=REPO,
            check=True,
            timeout=300,
        )
        return json.loads(done.stdout)

    return run


@pytest.fixture(scope="module")
def server(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LedgerServer]:
    tmp = tmp_path_factory.mktemp("ledger")
    record, _ = deploy(w3, operator_account, tmp / "deployments")
    process = start_server(tmp, server_env(tmp, dev_chain.rpc_url))
    yield LedgerServer(process.base_url, tmp, process.env, record, process)
    process.stop()

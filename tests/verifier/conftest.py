"""Shared fixtures for the verifier tests: driving the npm reference implementation, and one
ledger server per module for the tests that play the operator against it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.devchain import DevChain
from tests.conftest import LedgerServer
from tests.ledgers import own_ledger
from tests.verifier.js_runner import REPO, run_node

OZ_SCRIPT = Path(__file__).parent / "js" / "oz_tree.js"

RunOz = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


@pytest.fixture(scope="session")
def run_oz() -> RunOz:
    """Run cases through ``js/oz_tree.js`` (one node process per call) from the repo root, so
    ``require`` finds the pinned ``@openzeppelin/merkle-tree`` in node_modules."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    if not (REPO / "node_modules" / "@openzeppelin" / "merkle-tree").is_dir():
        pytest.skip("npm dependencies are not installed (npm ci)")

    def run(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = run_node([str(OZ_SCRIPT)], cases)
        return results

    return run


@pytest.fixture(scope="module")
def server(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LedgerServer]:
    with own_ledger(dev_chain, w3, operator_account, tmp_path_factory.mktemp("ledger")) as ledger:
        yield ledger

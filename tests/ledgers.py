"""A ledger of a test module's own: a fresh anchor deployment on the dev chain and a real
``carbon-ledger serve`` bound to it, stopped when the module is done with it.

    @pytest.fixture(scope="module")
    def server(dev_chain, w3, operator_account, tmp_path_factory):
        with own_ledger(dev_chain, w3, operator_account, tmp_path_factory.mktemp("x")) as ledger:
            yield ledger
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from devtools.local_server import start_server
from tests.conftest import LedgerServer, server_env


@contextmanager
def own_ledger(
    dev_chain: DevChain, w3: Web3, operator: LocalAccount, data_dir: Path, **env: str
) -> Iterator[LedgerServer]:
    """The server's environment is the tests' usual one plus ``env``."""
    record, _ = deploy(w3, operator, data_dir / "deployments")
    server = start_server(data_dir, server_env(data_dir, dev_chain.rpc_url) | env)
    try:
        yield LedgerServer(server.base_url, data_dir, server.env, record, server)
    finally:
        server.stop()

"""Connecting to an EVM JSON-RPC endpoint, with errors a person can act on."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlparse

if TYPE_CHECKING:
    from web3 import Web3
    from web3.providers.rpc.utils import ExceptionRetryConfiguration


class ChainUnreachable(ConnectionError):
    """Nothing answers JSON-RPC at the configured URL."""

    def __init__(self, rpc_url: str) -> None:
        super().__init__(
            f"cannot reach the chain at {rpc_url}: start the local chain with "
            "`carbon-ledger chain up`, or set CARBON_RPC_URL to a running EVM node"
        )
        self.rpc_url = rpc_url


class WrongChain(RuntimeError):
    """The endpoint serves another chain than the one configured."""


def is_loopback(rpc_url: str) -> bool:
    """Whether the endpoint is on this machine (the only place dev keys may be used)."""
    host = urlparse(rpc_url).hostname or ""
    return host in {"localhost", "::1"} or host.startswith("127.")


def _read_retries() -> ExceptionRetryConfiguration:
    """Reads retried when the connection fails under them. A node closes an idle keep-alive
    connection on its own clock (ganache after 5 s), and a request sent on it as it closes is
    reset: web3 retries only the built-in ConnectionError, not the one requests raises for
    that. Sending a transaction is never retried here: the anchoring worker decides that, from
    what it stored before sending."""
    import requests
    from web3.providers.rpc.utils import REQUEST_RETRY_ALLOWLIST, ExceptionRetryConfiguration

    writes = {"eth_sendRawTransaction", "eth_sign", "eth_signTypedData"}
    return ExceptionRetryConfiguration(
        errors=(ConnectionError, requests.ConnectionError, requests.HTTPError, requests.Timeout),
        # Two tries, 0.125 s apart: a reset keep-alive needs one more; a node that is down
        # should say so at once, not after web3's default of five tries over four seconds.
        retries=2,
        method_allowlist=[m for m in REQUEST_RETRY_ALLOWLIST if m not in writes],
    )


def connect(rpc_url: str, expected_chain_id: int | None = None, timeout_s: float = 10.0) -> Web3:
    """A Web3 client for ``rpc_url``, checked to answer and to serve ``expected_chain_id``."""
    # Imported here: web3 is a second of start-up that the API needs only without a record file.
    from web3 import Web3
    from web3.middleware import ExtraDataToPOAMiddleware

    provider = Web3.HTTPProvider(
        rpc_url,
        request_kwargs={"timeout": timeout_s},
        exception_retry_configuration=_read_retries(),
    )
    w3 = Web3(provider)
    try:
        chain_id = w3.eth.chain_id
    except Exception as exc:  # any transport failure means the same thing to the user
        raise ChainUnreachable(rpc_url) from exc
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise WrongChain(
            f"the chain at {rpc_url} has chainId {chain_id}, expected {expected_chain_id}"
        )
    # PoA chains (Clique, IBFT2, QBFT) carry extraData longer than 32 bytes.
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3

"""What the CLI commands share: turning settings into a chain client, and clean failures."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from eth_account.signers.local import LocalAccount
from rich.console import Console
from web3 import Web3

from anchoring.anchor_contract import AnchorContract, AnchorRejected
from anchoring.artifact import StaleArtifactError
from anchoring.connection import ChainUnreachable, WrongChain, connect
from anchoring.deployment import DeploymentError, DeploymentRecord, live_deployment
from anchoring.devchain import ChainError
from anchoring.operator import OperatorKeyError, dev_account, load_keystore
from ledger_api.core.config import Settings

P = ParamSpec("P")
R = TypeVar("R")

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
console = Console(highlight=False, soft_wrap=True)

# Errors that mean "the setup is wrong", each reported as one line without a traceback.
OPERATOR_ERRORS: tuple[type[Exception], ...] = (
    AnchorRejected,
    ChainError,
    ChainUnreachable,
    DeploymentError,
    OperatorKeyError,
    StaleArtifactError,
    WrongChain,
)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    err_console.print(f"[red]error:[/red] {message}", markup=True, soft_wrap=True)
    return typer.Exit(code=code)


def clean_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Report operator errors as one line on stderr with exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except OPERATOR_ERRORS as exc:
            raise fail(str(exc)) from None

    return wrapper


def chain(settings: Settings) -> Web3:
    """A client of the configured chain, checked to answer with the expected chainId."""
    return connect(settings.rpc_url, settings.chain_id, settings.rpc_timeout_s)


def operator(settings: Settings, w3: Web3) -> LocalAccount:
    """The operator account: the configured keystore, else a dev account on the dev chain."""
    if settings.keystore_path is not None:
        return load_keystore(settings.keystore_path, settings.passphrase())
    if settings.dev_accounts:
        return dev_account(0, settings.rpc_url, w3.eth.chain_id)
    raise OperatorKeyError("no operator key: set CARBON_KEYSTORE_PATH and its passphrase")


def anchor_contract(settings: Settings, w3: Web3) -> tuple[AnchorContract, DeploymentRecord]:
    """The live, code-checked anchor deployment on the configured chain."""
    record = live_deployment(w3, settings.deployments_dir)
    return AnchorContract(w3, record.address), record

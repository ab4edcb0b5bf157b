"""What the CLI commands share: turning settings into a chain client, and clean failures.

Nothing here imports the chain stack at module level: every command module imports this one,
and ``carbon-ledger --help`` or ``calc`` must not pay for web3 and the anchoring package.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer
from rich.console import Console

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount
    from web3 import Web3

    from anchoring.anchor_contract import AnchorContract
    from anchoring.deployment import DeploymentRecord
    from ledger_api.core.config import Settings

P = ParamSpec("P")
R = TypeVar("R")

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
console = Console(highlight=False, soft_wrap=True)


def operator_errors() -> tuple[type[Exception], ...]:
    """Errors that mean "the setup is wrong", each reported as one line without a traceback.

    Resolved only when a command has failed: by then the modules that raise them are loaded.
    """
    from anchoring.anchor_contract import AnchorRejected
    from anchoring.artifact import StaleArtifactError
    from anchoring.connection import ChainUnreachable, WrongChain
    from anchoring.deployment import DeploymentError
    from anchoring.devchain import ChainError
    from anchoring.operator import OperatorKeyError

    return (
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
        except (typer.Exit, typer.Abort):
            # The command's own way out; no reason to load the chain stack to classify it.
            raise
        except Exception as exc:
            if isinstance(exc, operator_errors()):
                raise fail(str(exc)) from None
            raise

    return wrapper


def chain(settings: Settings) -> Web3:
    """A client of the configured chain, checked to answer with the expected chainId."""
    from anchoring.connection import connect

    return connect(settings.rpc_url, settings.chain_id, settings.rpc_timeout_s)


def operator(settings: Settings, w3: Web3) -> LocalAccount:
    """The operator account: the configured keystore, else a dev account on the dev chain."""
    from anchoring.operator import OperatorKeyError, dev_account, load_keystore

    if settings.keystore_path is not None:
        return load_keystore(settings.keystore_path, settings.passphrase())
    if settings.dev_accounts:
        return dev_account(0, settings.rpc_url, w3.eth.chain_id)
    raise OperatorKeyError("no operator key: set CARBON_KEYSTORE_PATH and its passphrase")


def anchor_contract(settings: Settings, w3: Web3) -> tuple[AnchorContract, DeploymentRecord]:
    """The live, code-checked anchor deployment on the configured chain."""
    from anchoring.anchor_contract import AnchorContract
    from anchoring.deployment import live_deployment

    record = live_deployment(w3, settings.deployments_dir)
    return AnchorContract(w3, record.address), record

"""``carbon-ledger chain up|down|status``: the local dev chain.

The anchoring package and the settings are imported inside each command, so the CLI starts
without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ledger_api.commands.runtime import chain, clean_errors, console

if TYPE_CHECKING:
    from anchoring.devchain import DevChain

app = typer.Typer(help="Run the local dev chain (ganache from node_modules, loopback only).")


def _dev_chain() -> DevChain:
    from anchoring.devchain import DevChain
    from ledger_api.core.config import get_settings

    settings = get_settings()
    return DevChain(data_dir=settings.chain_dir, port=settings.chain_port)


@app.command()
@clean_errors
def up() -> None:
    """Start the dev chain (idempotent); its state persists in the data directory."""
    chain = _dev_chain()
    pid = chain.up()
    console.print(f"chain up: {chain.rpc_url} (pid {pid}, data {chain.data_dir})")


@app.command()
@clean_errors
def down() -> None:
    """Stop the dev chain; its state stays for the next `up`."""
    chain = _dev_chain()
    console.print("chain stopped" if chain.down() else "chain was not running")


@app.command()
@clean_errors
def status() -> None:
    """Say whether the chain answers, with which chainId, and check the recorded deployment."""
    from anchoring.deployment import live_deployment, record_path
    from anchoring.devchain import rpc_chain_id
    from ledger_api.core.config import get_settings

    settings = get_settings()
    chain_id = rpc_chain_id(settings.rpc_url)
    pid = _dev_chain().pid()
    if chain_id is None:
        console.print(f"chain down: nothing answers at {settings.rpc_url}")
        raise typer.Exit(code=1)
    local = f", dev chain pid {pid}" if pid else ""
    console.print(f"chain up: {settings.rpc_url} chainId {chain_id}{local}")
    w3 = chain(settings)
    if record_path(settings.deployments_dir, chain_id).is_file():
        record = live_deployment(w3, settings.deployments_dir)
        console.print(f"CarbonAnchor at {record.address}: code matches contracts/build")
    else:
        console.print("no CarbonAnchor deployment recorded: run `carbon-ledger deploy`")

"""``carbon-ledger demo``: the main job end to end on the local dev chain."""

from __future__ import annotations

from anchoring.anchor_contract import AnchorContract
from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from ledger_api.commands.runtime import chain, clean_errors, console, operator
from ledger_api.settings import get_settings
from verifier.keccak import keccak256


@clean_errors
def demo() -> None:
    """Bring up the dev chain, deploy, anchor a sample root and show where it landed."""
    settings = get_settings()
    dev_chain = DevChain(data_dir=settings.chain_dir, port=settings.chain_port)
    dev_chain.up()
    console.print(f"[bold]chain[/bold] {dev_chain.rpc_url} (state in {dev_chain.data_dir})")
    w3 = chain(settings)
    account = operator(settings, w3)
    record, deployed = deploy(w3, account, settings.deployments_dir)
    verb = "deployed" if deployed else "reusing"
    console.print(f"[bold]contract[/bold] {verb} CarbonAnchor at {record.address}")
    anchor = AnchorContract(w3, record.address)
    # A fresh sample root each run: the contract refuses a root it has already anchored.
    root = keccak256(b"carbon-ledger sample root %d" % anchor.batch_count())
    receipt = anchor.anchor(account, root, 1, keccak256(b"sample manifest"))
    console.print(
        f"[bold]anchor[/bold] root 0x{root.hex()} batch {receipt.batch_id}: "
        f"tx {receipt.tx_hash} block {receipt.block_number} gas {receipt.gas_used}"
    )

"""``carbon-ledger contracts build|check`` and ``carbon-ledger deploy``.

The anchoring package is imported inside each command, so the CLI starts without it.
"""

from __future__ import annotations

import typer

from ledger_api.commands.runtime import chain, clean_errors, console, operator

app = typer.Typer(help="Compile the contracts and check the committed artifacts.")


@app.command()
@clean_errors
def build() -> None:
    """Compile with the pinned solc and rewrite contracts/build/ (needs `npm ci`)."""
    from anchoring.compiler import write_artifacts

    for name, path in write_artifacts().items():
        console.print(f"built {name} -> {path}")


@app.command()
@clean_errors
def check() -> None:
    """Fail when a committed artifact is stale against its sources."""
    from anchoring.artifact import check_fresh, load_artifact

    artifact = load_artifact()
    check_fresh(artifact)
    console.print(f"{artifact.contract_name} is fresh ({artifact.artifact_hash})")


@clean_errors
def deploy() -> None:
    """Deploy CarbonAnchor, or reuse the live deployment whose code matches."""
    from anchoring.deployment import deploy as deploy_anchor
    from ledger_api.core.config import get_settings

    settings = get_settings()
    w3 = chain(settings)
    record, deployed = deploy_anchor(w3, operator(settings, w3), settings.deployments_dir)
    verb = "deployed" if deployed else "reusing"
    console.print(
        f"{verb} CarbonAnchor at {record.address} on chainId {record.chain_id} "
        f"(tx {record.tx_hash}, block {record.block_number})"
    )

"""Deploying ``CarbonAnchor`` once per chain, and finding the live deployment again."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from anchoring.artifact import Artifact, load_artifact

if TYPE_CHECKING:  # the API reads deployment records without loading web3
    from eth_account.signers.local import LocalAccount
    from web3 import Web3


class DeploymentError(RuntimeError):
    """No usable deployment at the configured place."""


@dataclass(frozen=True)
class DeploymentRecord:
    """Where the anchor contract lives on one chain and which build it runs."""

    chain_id: int
    address: str
    tx_hash: str
    block_number: int
    artifact_hash: str
    deployed_bytecode_hash: str
    admin: str
    anchorer: str

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> DeploymentRecord:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def record_path(deployments_dir: Path, chain_id: int) -> Path:
    return deployments_dir / f"{chain_id}.json"


def check_code(w3: Web3, address: str, artifact: Artifact) -> None:
    """Raise unless ``address`` runs exactly the artifact's runtime code."""
    from web3 import Web3

    code = bytes(w3.eth.get_code(Web3.to_checksum_address(address)))
    if not code:
        raise DeploymentError(f"no contract code at {address} on chainId {w3.eth.chain_id}")
    if code != artifact.deployed_bytecode:
        raise DeploymentError(
            f"the code at {address} is not {artifact.contract_name} from contracts/build"
        )


def live_deployment(w3: Web3, deployments_dir: Path, artifact: Artifact | None = None):
    """The recorded deployment on this chain, checked against the chain; raises if unusable."""
    artifact = artifact or load_artifact()
    path = record_path(deployments_dir, w3.eth.chain_id)
    if not path.is_file():
        raise DeploymentError(
            f"no deployment recorded for chainId {w3.eth.chain_id}: run `carbon-ledger deploy`"
        )
    record = DeploymentRecord.load(path)
    check_code(w3, record.address, artifact)
    return record


def deploy(
    w3: Web3, account: LocalAccount, deployments_dir: Path, artifact: Artifact | None = None
) -> tuple[DeploymentRecord, bool]:
    """Deploy unless a live deployment with matching code exists; returns (record, deployed)."""
    artifact = artifact or load_artifact()
    try:
        return live_deployment(w3, deployments_dir, artifact), False
    except DeploymentError:
        pass
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx = factory.constructor(account.address, account.address).build_transaction(
        {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address)}
    )
    tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
    if receipt["status"] != 1 or not receipt["contractAddress"]:
        raise DeploymentError(f"deployment transaction {tx_hash.to_0x_hex()} failed")
    record = DeploymentRecord(
        chain_id=w3.eth.chain_id,
        address=receipt["contractAddress"],
        tx_hash=tx_hash.to_0x_hex(),
        block_number=receipt["blockNumber"],
        artifact_hash=artifact.artifact_hash,
        deployed_bytecode_hash=artifact.deployed_bytecode_hash,
        admin=account.address,
        anchorer=account.address,
    )
    check_code(w3, record.address, artifact)
    record.save(record_path(deployments_dir, record.chain_id))
    return record, True

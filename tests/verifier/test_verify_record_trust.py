"""The trust root: the shipped code hash must be the committed build's, and a deployment's
runtime code must hash to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from web3 import Web3

from anchoring.deployment import DeploymentRecord
from verifier.protocol.keccak import keccak256
from verifier.rpc import JsonRpcReader, RpcUnavailable
from verifier.trust import TrustError, load_artifact_trust, load_default_trust

ARTIFACT = Path(__file__).resolve().parents[2] / "contracts" / "build" / "CarbonAnchor.json"


def test_shipped_hash_is_the_committed_build() -> None:
    # A rebuild of CarbonAnchor that forgets to update verifier/trusted_contracts.json fails here.
    artifact = json.loads(ARTIFACT.read_text(encoding="utf-8"))
    (entry,) = load_default_trust().entries
    assert "0x" + entry.code_hash.hex() == artifact["deployedBytecodeKeccak256"]
    assert entry.code_hash == keccak256(bytes.fromhex(artifact["deployedBytecode"][2:]))
    assert entry.compiler_version == artifact["compiler"]["version"]
    assert entry.contract_name == artifact["contractName"]


def test_artifact_trust_recomputes_the_hash(tmp_path: Path) -> None:
    (entry,) = load_artifact_trust(ARTIFACT).entries
    assert load_default_trust().find(entry.code_hash) is not None
    artifact = json.loads(ARTIFACT.read_text(encoding="utf-8"))
    artifact["deployedBytecodeKeccak256"] = "0x" + "00" * 32
    lying = tmp_path / "lying.json"
    lying.write_text(json.dumps(artifact), encoding="utf-8")
    with pytest.raises(TrustError, match="does not match"):
        load_artifact_trust(lying)
    with pytest.raises(TrustError):
        load_artifact_trust(tmp_path / "absent.json")


def test_deployed_code_hashes_to_the_trusted_hash(w3: Web3, deployment: DeploymentRecord) -> None:
    code = bytes(w3.eth.get_code(Web3.to_checksum_address(deployment.address)))
    assert load_default_trust().find(keccak256(code)) is not None


@pytest.mark.parametrize("url", ["file:///etc/hostname", "ftp://example.org/", "127.0.0.1:8545"])
def test_rpc_only_speaks_http(url: str) -> None:
    with pytest.raises(RpcUnavailable):
        JsonRpcReader(url)

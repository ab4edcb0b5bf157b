"""The committed build artifact of ``CarbonAnchor`` and checks that it is fresh.

Running the ledger never needs a compiler: it reads ``contracts/build/CarbonAnchor.json``.
The artifact records the keccak256 of every source the compiler read, so staleness is found
by hashing the sources again, without compiling.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from verifier.protocol.keccak import keccak256

REPO_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = REPO_ROOT / "contracts"
BUILD_DIR = CONTRACTS_DIR / "build"
ANCHOR_ARTIFACT = BUILD_DIR / "CarbonAnchor.json"
SOURCE_ROOTS = (REPO_ROOT, REPO_ROOT / "node_modules")


class StaleArtifactError(RuntimeError):
    """A committed artifact no longer matches its sources."""


@dataclass(frozen=True)
class Artifact:
    """A compiled contract as committed under ``contracts/build/``."""

    contract_name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    deployed_bytecode: bytes
    compiler_version: str
    settings: dict[str, Any]
    sources: dict[str, str]  # source path -> 0x keccak256 of its content
    artifact_hash: str

    @property
    def deployed_bytecode_hash(self) -> str:
        return "0x" + keccak256(self.deployed_bytecode).hex()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Artifact:
        return cls(
            contract_name=data["contractName"],
            abi=data["abi"],
            bytecode=bytes.fromhex(data["bytecode"].removeprefix("0x")),
            deployed_bytecode=bytes.fromhex(data["deployedBytecode"].removeprefix("0x")),
            compiler_version=data["compiler"]["version"],
            settings=data["compiler"]["settings"],
            sources={path: info["keccak256"] for path, info in data["sources"].items()},
            artifact_hash=artifact_hash(data),
        )


def artifact_hash(data: dict[str, Any]) -> str:
    """keccak256 of the artifact's canonical JSON: names the exact build in deployment records."""
    import rfc8785

    return "0x" + keccak256(rfc8785.dumps(data)).hex()


@lru_cache
def load_artifact(path: Path = ANCHOR_ARTIFACT) -> Artifact:
    """Load a committed artifact."""
    return Artifact.from_json(json.loads(path.read_text(encoding="utf-8")))


def resolve_source(source_path: str) -> Path:
    """Where the compiler found ``source_path``: the repo, then ``node_modules``."""
    for root in SOURCE_ROOTS:
        candidate = root / source_path
        if candidate.is_file():
            return candidate
    raise StaleArtifactError(f"source {source_path} of the artifact is missing")


def check_fresh(artifact: Artifact) -> None:
    """Raise ``StaleArtifactError`` naming the first source whose content changed."""
    for source_path, expected in sorted(artifact.sources.items()):
        actual = "0x" + keccak256(resolve_source(source_path).read_bytes()).hex()
        if actual != expected:
            raise StaleArtifactError(
                f"{artifact.contract_name} is stale: {source_path} changed since the build; "
                "run `carbon-ledger contracts build`"
            )

"""Compiles the contracts with the npm ``solc`` through py-solc-x and writes the artifacts.

py-solc-x cannot download compilers here, so it drives ``contracts/solc.js``, a small
``solc`` look-alike over the npm package that keeps stdout pure JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import solcx

from anchoring.artifact import BUILD_DIR, CONTRACTS_DIR, REPO_ROOT, artifact_hash
from verifier.protocol.keccak import keccak256

SOLC_VERSION = "0.8.26"
SOLC_WRAPPER = CONTRACTS_DIR / "solc.js"
# ganache 7.9 runs nothing newer than shanghai; solc >= 0.8.25 defaults to cancun (MCOPY).
SETTINGS: dict[str, Any] = {
    "evmVersion": "shanghai",
    "optimizer": {"enabled": True, "runs": 200},
    "metadata": {"bytecodeHash": "ipfs"},
    "outputSelection": {
        "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]}
    },
}
CONTRACTS = {"CarbonAnchor": "contracts/CarbonAnchor.sol"}


class CompilationError(RuntimeError):
    """solc reported errors."""


def compile_contracts() -> dict[str, dict[str, Any]]:
    """Compile every contract in ``CONTRACTS``; return artifact JSON documents by name."""
    version = solcx.wrapper.get_solc_version(SOLC_WRAPPER, with_commit_hash=True)
    if version.base_version != SOLC_VERSION:
        raise CompilationError(f"solc {SOLC_VERSION} required, found {version}")
    sources = {
        path: {"content": (REPO_ROOT / path).read_text(encoding="utf-8")}
        for path in CONTRACTS.values()
    }
    output = solcx.compile_standard(
        {"language": "Solidity", "sources": sources, "settings": SETTINGS},
        solc_binary=SOLC_WRAPPER,
    )
    errors = [e for e in output.get("errors", []) if e["severity"] == "error"]
    if errors:
        raise CompilationError("\n".join(e["formattedMessage"] for e in errors))
    return {
        name: _artifact(name, path, output["contracts"][path][name], str(version))
        for name, path in CONTRACTS.items()
    }


def _artifact(name: str, path: str, out: dict[str, Any], version: str) -> dict[str, Any]:
    metadata = json.loads(out["metadata"])
    settings = {k: v for k, v in SETTINGS.items() if k != "outputSelection"}
    return {
        "contractName": name,
        "sourceName": path,
        "compiler": {"version": version, "settings": settings},
        "sources": {p: {"keccak256": s["keccak256"]} for p, s in metadata["sources"].items()},
        "abi": out["abi"],
        "bytecode": "0x" + out["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + out["evm"]["deployedBytecode"]["object"],
        "deployedBytecodeKeccak256": "0x"
        + keccak256(bytes.fromhex(out["evm"]["deployedBytecode"]["object"])).hex(),
    }


def write_artifacts(build_dir: Path = BUILD_DIR) -> dict[str, Path]:
    """Compile and write one ``<Name>.json`` per contract; return the paths written."""
    build_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, data in compile_contracts().items():
        target = build_dir / f"{name}.json"
        target.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written[name] = target
    return written


__all__ = ["CompilationError", "artifact_hash", "compile_contracts", "write_artifacts"]

"""The trust root for contract code: which runtime code a ``CarbonAnchor`` may have.

A bundle names a contract address; anyone can deploy a contract there that answers
``batchOf`` with whatever a forger likes. So the verifier trusts an address only if the keccak256
of its runtime code is one it ships (``trusted_contracts.json``, one entry per published build)
or one the user chose to trust by pointing at a published build artifact (``--artifact``).
``CarbonAnchor`` has no immutables, so its runtime code equals the artifact's
``deployedBytecode`` byte for byte and one hash covers every deployment of a build.

The same holds for reference data: ``trusted_reference.json`` names, by digest, the factor sets
and rulesets published under each id and version (:class:`ReferenceRoot`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from verifier.errors import VerifierError
from verifier.protocol.keccak import keccak256

__all__ = [
    "ReferenceRoot",
    "TrustError",
    "TrustRoot",
    "TrustedCode",
    "load_artifact_trust",
    "load_default_reference",
    "load_default_trust",
    "parse_reference",
]

TRUST_FORMAT = "carbon-ledger/trusted-contracts"
_HEX32 = re.compile(r"0x[0-9a-f]{64}")
_CODE = re.compile(r"0x(?:[0-9a-fA-F]{2})+")


class TrustError(VerifierError):
    """A trust file or artifact could not be read."""

    code = "trust_error"


@dataclass(frozen=True)
class TrustedCode:
    """One accepted runtime code hash and where it comes from."""

    code_hash: bytes
    contract_name: str
    compiler_version: str
    source: str  # the artifact it was published as


@dataclass(frozen=True)
class TrustRoot:
    entries: tuple[TrustedCode, ...]

    def find(self, code_hash: bytes) -> TrustedCode | None:
        return next((e for e in self.entries if e.code_hash == code_hash), None)


def _entry(raw: Any) -> TrustedCode:
    if not isinstance(raw, dict):
        raise TrustError("each trusted contract must be an object")
    code_hash = raw.get("runtimeCodeKeccak256")
    if not isinstance(code_hash, str) or not _HEX32.fullmatch(code_hash):
        raise TrustError("runtimeCodeKeccak256 must be 0x + 64 lowercase hex digits")
    return TrustedCode(
        code_hash=bytes.fromhex(code_hash[2:]),
        contract_name=str(raw.get("contractName", "")),
        compiler_version=str(raw.get("compilerVersion", "")),
        source=str(raw.get("artifact", "")),
    )


def parse_trust(document: Any) -> TrustRoot:
    if not isinstance(document, dict) or document.get("format") != TRUST_FORMAT:
        raise TrustError(f"not a {TRUST_FORMAT} document")
    if document.get("version") != 1 or not isinstance(document.get("contracts"), list):
        raise TrustError("trusted contracts must be version 1 with a contracts list")
    entries = tuple(_entry(raw) for raw in document["contracts"])
    if not entries:
        raise TrustError("the trust root lists no contract")
    return TrustRoot(entries)


@lru_cache(maxsize=1)
def load_default_trust() -> TrustRoot:
    """The trust root shipped with the verifier (read once per process)."""
    text = resources.files("verifier").joinpath("trusted_contracts.json").read_text("utf-8")
    return parse_trust(json.loads(text))


def load_artifact_trust(path: Path) -> TrustRoot:
    """Trust exactly the build in a published artifact (``contracts/build/*.json`` shape).

    The hash is recomputed from ``deployedBytecode``; a stated ``deployedBytecodeKeccak256``
    that disagrees makes the artifact unusable rather than silently picking one of the two.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise TrustError(f"cannot read artifact {path}: {exc}") from None
    code = data.get("deployedBytecode") if isinstance(data, dict) else None
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise TrustError(f"artifact {path} has no deployedBytecode")
    code_hash = keccak256(bytes.fromhex(code[2:]))
    stated = data.get("deployedBytecodeKeccak256")
    if stated is not None and stated != "0x" + code_hash.hex():
        raise TrustError(f"artifact {path}: deployedBytecodeKeccak256 does not match its code")
    compiler = data.get("compiler")
    version = compiler.get("version", "") if isinstance(compiler, dict) else ""
    name = str(data.get("contractName", ""))
    return TrustRoot((TrustedCode(code_hash, name, str(version), str(path)),))


# --- published reference data ---------------------------------------------------------------

REFERENCE_FORMAT = "carbon-ledger/trusted-reference"


@dataclass(frozen=True)
class ReferenceRoot:
    """The factor sets and rulesets published under each ``(id, version)``, by digest.

    An entry commits to the digest of the reference data it was computed with, but anyone can
    publish a document under the official id and version with other numbers in it; only the
    digest the verifier ships says which document is the published one."""

    factor_sets: dict[tuple[str, str], str]
    rulesets: dict[tuple[str, str], str]
    # Energy coefficient sets (GB/T 2589) and benchmark level sets; optional in the document
    energy_sets: dict[tuple[str, str], str] = field(default_factory=dict)
    level_sets: dict[tuple[str, str], str] = field(default_factory=dict)


def _published(raw: Any, kind: str) -> dict[tuple[str, str], str]:
    if not isinstance(raw, list):
        raise TrustError(f"{kind} must be a list")
    found: dict[tuple[str, str], str] = {}
    for item in raw:
        digest = item.get("digest") if isinstance(item, dict) else None
        if not isinstance(digest, str) or not _HEX32.fullmatch(digest):
            raise TrustError(f"each of {kind} needs id, version and a 0x + 64 hex digest")
        found[(str(item.get("id")), str(item.get("version")))] = digest
    return found


def parse_reference(document: Any) -> ReferenceRoot:
    if not isinstance(document, dict) or document.get("format") != REFERENCE_FORMAT:
        raise TrustError(f"not a {REFERENCE_FORMAT} document")
    if document.get("version") != 1:
        raise TrustError("trusted reference data must be version 1")
    return ReferenceRoot(
        _published(document.get("factorSets"), "factorSets"),
        _published(document.get("rulesets"), "rulesets"),
        _published(document.get("energySets", []), "energySets"),
        _published(document.get("benchmarkLevels", []), "benchmarkLevels"),
    )


@lru_cache(maxsize=1)
def load_default_reference() -> ReferenceRoot:
    """The published reference data shipped with the verifier (read once per process)."""
    text = resources.files("verifier").joinpath("trusted_reference.json").read_text("utf-8")
    return parse_reference(json.loads(text))

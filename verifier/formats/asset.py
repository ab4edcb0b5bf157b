"""The asset proof bundle (``docs/asset-proof-format.md``): frozen models of what
``carbon-verify asset`` reads. Shapes only; the checks live in ``verifier.checks.asset``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from verifier.formats.figure import DomainJson
from verifier.formats.record import (
    HEX32,
    SIGNATURE,
    AnchorLocation,
    BatchJson,
    Frozen,
    LeafJson,
    RegistryProofJson,
)

__all__ = [
    "ASSET_PROOF_FORMAT",
    "ASSET_PROOF_VERSION",
    "AssetClaim",
    "AssetOperationProofJson",
    "AssetProofBundle",
    "HoldingClaim",
    "RetirementClaim",
]

ASSET_PROOF_FORMAT = "carbon-ledger/asset-proof"
ASSET_PROOF_VERSION = 2
_UINT64_MAX = (1 << 64) - 1


class HoldingClaim(Frozen):
    """``holder`` holds serials ``first..last`` of ``asset`` (as of the bundle's last op)."""

    type: Literal["holding"]
    asset: str = Field(min_length=1)
    holder: str = Field(min_length=1)
    first: int = Field(ge=0, le=_UINT64_MAX)
    last: int = Field(ge=0, le=_UINT64_MAX)


class RetirementClaim(Frozen):
    """``holder`` retired (or surrendered) serials ``first..last`` of ``asset`` by the
    operation whose EIP-712 digest is ``operation``."""

    type: Literal["retirement"]
    asset: str = Field(min_length=1)
    holder: str = Field(min_length=1)
    first: int = Field(ge=0, le=_UINT64_MAX)
    last: int = Field(ge=0, le=_UINT64_MAX)
    operation: str = Field(pattern=HEX32)


AssetClaim = Annotated[HoldingClaim | RetirementClaim, Field(discriminator="type")]


class AssetOperationProofJson(Frozen):
    """One signed operation of the lot, its kind-5 leaf and where that leaf is anchored."""

    operation: dict[str, Any]  # the EIP-712 message (AssetOperation.to_message)
    signature: str = Field(pattern=SIGNATURE)
    leaf: LeafJson
    proof: tuple[str, ...]
    batch: BatchJson
    anchor: AnchorLocation


class AssetProofBundle(Frozen):
    """Proof of a claim about a lot: the lot's whole history from its issue, in order, each
    operation anchored, and the anchored registry events naming the signers' keys — the
    programme's issuer key (``program.issuer_set``) for the issue, the enterprises' asset keys
    (``enterprise.signer_set``) for the rest. Version 2 replays under lot rules 2 (transfers
    wait for the recipient's accept); version 1 bundles are not read."""

    format: Literal["carbon-ledger/asset-proof"] = ASSET_PROOF_FORMAT
    version: Literal[2] = ASSET_PROOF_VERSION
    claim: AssetClaim
    domain: DomainJson
    operations: tuple[AssetOperationProofJson, ...] = Field(min_length=1)
    signers: tuple[RegistryProofJson, ...] = Field(min_length=1)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

"""The record proof bundle (``docs/proof-format.md``): frozen models of what a verifier reads.

A bundle holds everything needed offline, plus where the root sits on chain. The models only
check shapes; the checks that give a bundle meaning live in ``verifier.checks.record``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

HEX32 = r"^0x[0-9a-f]{64}$"
ADDRESS = r"^0x[0-9a-fA-F]{40}$"
SIGNATURE = r"^0x[0-9a-f]{130}$"

RECORD_PROOF_FORMAT = "carbon-ledger/record-proof"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class LeafJson(Frozen):
    """The ``standard-v1`` leaf ``[kind, digest, aux]`` and its double-keccak hash."""

    kind: int = Field(ge=0, le=255)
    digest: str = Field(pattern=HEX32)
    aux: str = Field(pattern=HEX32)
    hash: str = Field(pattern=HEX32)


class DeviceRange(Frozen):
    device: str = Field(pattern=ADDRESS)
    first_seq: int = Field(alias="firstSeq", ge=0)
    last_seq: int = Field(alias="lastSeq", ge=0)
    count: int = Field(ge=1)


class EnterpriseCount(Frozen):
    enterprise: str
    count: int = Field(ge=1)


class Manifest(Frozen):
    """What a batch holds, per device and per enterprise; its canonical JSON is anchored."""

    format: Literal["carbon-ledger/batch-manifest"] = "carbon-ledger/batch-manifest"
    version: Literal[1] = 1
    leaf_count: int = Field(alias="leafCount", ge=1)
    kinds: dict[str, int]
    devices: tuple[DeviceRange, ...]
    enterprises: tuple[EnterpriseCount, ...]


class BatchJson(Frozen):
    root: str = Field(pattern=HEX32)
    leaf_count: int = Field(alias="leafCount", ge=1)
    manifest_hash: str = Field(alias="manifestHash", pattern=HEX32)
    manifest: Manifest


class AnchorLocation(Frozen):
    """Where the batch root was anchored."""

    chain_id: int = Field(alias="chainId", ge=1)
    contract: str = Field(pattern=ADDRESS)
    batch_id: int = Field(alias="batchId", ge=0)
    tx_hash: str = Field(alias="txHash", pattern=HEX32)
    block_number: int = Field(alias="blockNumber", ge=0)
    block_hash: str = Field(alias="blockHash", pattern=HEX32)
    log_index: int = Field(alias="logIndex", ge=0)


class RegistryProofJson(Frozen):
    """One anchored registry event (kind-3 leaf) about the signing terminal."""

    event: dict[str, Any]
    leaf: LeafJson
    proof: tuple[str, ...]
    batch: BatchJson
    anchor: AnchorLocation


class RecordProofBundle(Frozen):
    """Proof that one signed activity record is in a batch anchored on chain."""

    format: Literal["carbon-ledger/record-proof"] = RECORD_PROOF_FORMAT
    version: Literal[1] = 1
    typed_data: dict[str, Any] = Field(alias="typedData")
    signature: str = Field(pattern=SIGNATURE)
    attributes: dict[str, Any] | None = None
    leaf: LeafJson
    proof: tuple[str, ...]
    batch: BatchJson
    anchor: AnchorLocation
    authorization: tuple[RegistryProofJson, ...] = Field(min_length=1)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

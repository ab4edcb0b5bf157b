"""The record proof bundle (``docs/proof-format.md``): frozen models of what a verifier reads.

A bundle holds everything needed offline, plus where the root sits on chain. The models only
check shapes; the checks that give a bundle meaning live in ``verifier.checks.record``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from verifier.protocol.manifest import MANIFEST_FORMAT, MAX_SECTION_PATH, SECTION_FORMAT

HEX32 = r"^0x[0-9a-f]{64}$"
ADDRESS = r"^0x[0-9a-fA-F]{40}$"
SIGNATURE = r"^0x[0-9a-f]{130}$"

RECORD_PROOF_FORMAT = "carbon-ledger/record-proof"
# v2: batches carry one manifest section and its path (``verifier.protocol.manifest``) instead
# of the whole manifest. v1 bundles are still read.
RECORD_PROOF_VERSION = 2


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
    """A v1 batch manifest (batches anchored before sections): the whole batch, per device
    and per enterprise; its canonical JSON is anchored."""

    format: Literal["carbon-ledger/batch-manifest"] = MANIFEST_FORMAT
    version: Literal[1] = 1
    leaf_count: int = Field(alias="leafCount", ge=1)
    kinds: dict[str, int]
    devices: tuple[DeviceRange, ...]
    enterprises: tuple[EnterpriseCount, ...]


class ManifestSection(Frozen):
    """One enterprise's share of a v2 batch, or (enterprise null) the leaves no enterprise
    owns, counted by kind only. Its leaf is one of the manifest tree's."""

    format: Literal["carbon-ledger/manifest-section"] = SECTION_FORMAT
    version: Literal[1] = 1
    enterprise: str | None
    leaf_count: int = Field(alias="leafCount", ge=1)
    kinds: dict[str, int]
    devices: tuple[DeviceRange, ...]


class SectionedManifest(Frozen):
    """A v2 batch manifest, whole: what the ledger stores and shows the ledger's auditors.
    Its sections' leaves make the tree whose root is anchored as the manifest hash."""

    format: Literal["carbon-ledger/batch-manifest"] = MANIFEST_FORMAT
    version: Literal[2] = 2
    sections: tuple[ManifestSection, ...] = Field(min_length=1)


def _absent(value: object) -> bool:
    return value is None


class BatchJson(Frozen):
    """A batch as a bundle states it: root, size, anchored manifest hash, and either the v1
    manifest or one v2 section with the path from its leaf to the manifest hash."""

    root: str = Field(pattern=HEX32)
    leaf_count: int = Field(alias="leafCount", ge=1)
    manifest_hash: str = Field(alias="manifestHash", pattern=HEX32)
    manifest: Manifest | None = Field(default=None, exclude_if=_absent)
    section: ManifestSection | None = Field(default=None, exclude_if=_absent)
    section_proof: tuple[str, ...] | None = Field(
        default=None, alias="sectionProof", max_length=MAX_SECTION_PATH, exclude_if=_absent
    )

    @model_validator(mode="after")
    def _one_scheme(self) -> BatchJson:
        sectioned = self.section is not None and self.section_proof is not None
        if (self.manifest is None) == (self.section is None and self.section_proof is None):
            raise ValueError("a batch states either manifest, or section with sectionProof")
        if self.manifest is None and not sectioned:
            raise ValueError("a manifest section needs its sectionProof, and the reverse")
        return self


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
    version: Literal[1, 2] = RECORD_PROOF_VERSION
    typed_data: dict[str, Any] = Field(alias="typedData")
    signature: str = Field(pattern=SIGNATURE)
    attributes: dict[str, Any] | None = None
    leaf: LeafJson
    proof: tuple[str, ...]
    batch: BatchJson
    anchor: AnchorLocation
    authorization: tuple[RegistryProofJson, ...] = Field(min_length=1)
    # The enterprise's signed registry chain, enrolment first (``docs/proof-format.md``
    # section 6b). Optional in the shape so v1 bundles still read; a v2 bundle without it
    # fails ``registry-signatures``.
    registry: tuple[RegistryProofJson, ...] | None = Field(default=None, exclude_if=_absent)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

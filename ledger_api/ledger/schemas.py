"""Response bodies of anchored batches."""

from __future__ import annotations

from pydantic import BaseModel, Field

from verifier.formats.record import AnchorLocation, Manifest, ManifestSection, SectionedManifest


class ProvenSection(BaseModel):
    """One manifest section and the path from its leaf to the batch's manifest hash."""

    section: ManifestSection
    section_proof: list[str] = Field(serialization_alias="sectionProof")


class BatchOut(BaseModel):
    """A batch; ``anchor`` only once it is confirmed on chain. Callers who see every
    enterprise get the whole ``manifest``; others get ``sections``: those of the enterprises
    they see, each with its path, and never a batch without one."""

    id: int
    status: str
    root: str
    leaf_count: int = Field(serialization_alias="leafCount")
    manifest_hash: str = Field(serialization_alias="manifestHash")
    manifest: Manifest | SectionedManifest | None = Field(
        default=None, exclude_if=lambda v: v is None
    )
    sections: list[ProvenSection] | None = Field(default=None, exclude_if=lambda v: v is None)
    # An unconfirmed batch has no anchor key at all, not a null one.
    anchor: AnchorLocation | None = Field(default=None, exclude_if=lambda v: v is None)


class TreeValue(BaseModel):
    value: list[str] = Field(description="The leaf's kind, digest and aux, as strings.")
    treeIndex: int


class TreeOut(BaseModel):
    """The whole tree as an OpenZeppelin ``standard-v1`` dump."""

    format: str
    leafEncoding: list[str]
    tree: list[str]
    values: list[TreeValue]

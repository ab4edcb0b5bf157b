"""Turning unanchored leaves into a batch: its tree, manifest and manifest hash."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import rfc8785

from verifier.formats.record import BatchJson, DeviceRange, ManifestSection, SectionedManifest
from verifier.protocol.manifest import section_leaf
from verifier.protocol.merkle import MerkleTree


@dataclass(frozen=True, slots=True)  # one per leaf, up to a batch's worth at a time
class PendingLeaf:
    """A leaf waiting for a batch, with what the manifest counts about it. ``enterprise``
    is set for an enterprise's own data (activity records, evaluation entries) and decides
    the leaf's manifest section; other leaves go to the section of no enterprise."""

    id: int
    kind: int
    hash: bytes
    device: str | None = None
    seq: int | None = None
    enterprise: str | None = None


@dataclass(frozen=True)
class BuiltBatch:
    """A batch ready to store and anchor."""

    leaf_ids: tuple[int, ...]
    tree: MerkleTree
    manifest: SectionedManifest
    manifest_json: bytes  # RFC 8785 canonical JSON of the whole manifest, as stored
    manifest_hash: bytes  # the root of the manifest's section tree, as anchored

    @property
    def root(self) -> bytes:
        return self.tree.root

    def batch_json(self, enterprise: str | None) -> BatchJson:
        """The batch as a bundle states it for a leaf of ``enterprise``'s section."""
        section, path = proven_section(self.manifest, enterprise)
        return BatchJson(
            root="0x" + self.root.hex(),
            leafCount=len(self.leaf_ids),
            manifestHash="0x" + self.manifest_hash.hex(),
            section=section,
            sectionProof=tuple("0x" + p.hex() for p in path),
        )


def _section(enterprise: str | None, leaves: Sequence[PendingLeaf]) -> ManifestSection:
    seqs: dict[str, list[int]] = defaultdict(list)
    for leaf in leaves:
        if leaf.device is not None and leaf.seq is not None:
            seqs[leaf.device].append(leaf.seq)
    return ManifestSection(
        enterprise=enterprise,
        leafCount=len(leaves),
        kinds={str(k): n for k, n in sorted(Counter(leaf.kind for leaf in leaves).items())},
        devices=tuple(
            DeviceRange(device=d, firstSeq=min(s), lastSeq=max(s), count=len(s))
            for d, s in sorted(seqs.items())
        ),
    )


def build_manifest(leaves: Sequence[PendingLeaf]) -> SectionedManifest:
    """One section per enterprise (per-device first/last sequence and count, per-kind
    counts) and one for the leaves of no enterprise, in a fixed order."""
    owners: dict[str | None, list[PendingLeaf]] = defaultdict(list)
    for leaf in leaves:
        owners[leaf.enterprise].append(leaf)
    ordered = sorted(owners.items(), key=lambda item: (item[0] is not None, item[0] or ""))
    return SectionedManifest(sections=tuple(_section(e, group) for e, group in ordered))


def manifest_bytes(manifest: SectionedManifest) -> bytes:
    """The canonical JSON the ledger stores (its sections are the manifest tree's leaves)."""
    return rfc8785.dumps(manifest.model_dump(mode="json", by_alias=True))


def section_tree(manifest: SectionedManifest) -> MerkleTree:
    """The tree over the sections' leaves; its root is anchored as the manifest hash."""
    return MerkleTree.from_leaf_hashes(
        section_leaf(s.model_dump(mode="json", by_alias=True)) for s in manifest.sections
    )


def proven_section(
    manifest: SectionedManifest, enterprise: str | None, tree: MerkleTree | None = None
) -> tuple[ManifestSection, tuple[bytes, ...]]:
    """``enterprise``'s section (None: the section of no enterprise) and its path to the
    manifest hash; LookupError when the batch has none."""
    tree = tree or section_tree(manifest)
    section = next((s for s in manifest.sections if s.enterprise == enterprise), None)
    if section is None:
        raise LookupError(f"the batch has no manifest section of {enterprise!r}")
    leaf = section_leaf(section.model_dump(mode="json", by_alias=True))
    return section, tuple(tree.get_proof(tree.find_leaf(leaf)))


def screen(leaves: Sequence[PendingLeaf]) -> tuple[list[PendingLeaf], dict[int, str]]:
    """Split ``leaves`` into those a batch can hold and, by leaf id, why each other cannot:
    each leaf's manifest is built and committed alone, by the same code as a batch's."""
    good: list[PendingLeaf] = []
    bad: dict[int, str] = {}
    for leaf in leaves:
        try:
            _commit(build_manifest([leaf]))
        except ValueError as exc:  # pydantic's and RFC 8785's refusals are ValueErrors
            bad[leaf.id] = f"{type(exc).__name__}: {exc}"
        else:
            good.append(leaf)
    return good, bad


def _commit(manifest: SectionedManifest) -> tuple[bytes, bytes]:
    """The stored JSON and the anchored hash of ``manifest``."""
    return manifest_bytes(manifest), section_tree(manifest).root


def build_batch(leaves: Sequence[PendingLeaf]) -> BuiltBatch:
    """Build the tree (OZ ``standard-v1``, sorted leaves) and the manifest of ``leaves``."""
    if not leaves:
        raise ValueError("a batch needs at least one leaf")
    manifest = build_manifest(leaves)
    canonical, committed = _commit(manifest)
    return BuiltBatch(
        leaf_ids=tuple(leaf.id for leaf in leaves),
        tree=MerkleTree.from_leaf_hashes(leaf.hash for leaf in leaves),
        manifest=manifest,
        manifest_json=canonical,
        manifest_hash=committed,
    )

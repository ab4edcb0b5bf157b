"""Turning unanchored leaves into a batch: its tree, manifest and manifest hash."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import rfc8785

from verifier.formats.record import DeviceRange, EnterpriseCount, Manifest
from verifier.protocol.keccak import keccak256
from verifier.protocol.merkle import MerkleTree


@dataclass(frozen=True, slots=True)  # one per leaf, up to a batch's worth at a time
class PendingLeaf:
    """A leaf waiting for a batch, with what the manifest counts about it."""

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
    manifest: Manifest
    manifest_json: bytes  # RFC 8785 canonical JSON, the preimage of manifest_hash
    manifest_hash: bytes

    @property
    def root(self) -> bytes:
        return self.tree.root


def build_manifest(leaves: Sequence[PendingLeaf]) -> Manifest:
    """Per-device first/last sequence and count, per-enterprise and per-kind counts."""
    seqs: dict[str, list[int]] = defaultdict(list)
    for leaf in leaves:
        if leaf.device is not None and leaf.seq is not None:
            seqs[leaf.device].append(leaf.seq)
    enterprises = Counter(leaf.enterprise for leaf in leaves if leaf.enterprise is not None)
    return Manifest(
        leafCount=len(leaves),
        kinds={str(k): n for k, n in sorted(Counter(leaf.kind for leaf in leaves).items())},
        devices=tuple(
            DeviceRange(device=d, firstSeq=min(s), lastSeq=max(s), count=len(s))
            for d, s in sorted(seqs.items())
        ),
        enterprises=tuple(
            EnterpriseCount(enterprise=e, count=n) for e, n in sorted(enterprises.items())
        ),
    )


def manifest_bytes(manifest: Manifest) -> bytes:
    """The canonical JSON whose keccak256 is anchored as the manifest hash."""
    return rfc8785.dumps(manifest.model_dump(mode="json", by_alias=True))


def screen(leaves: Sequence[PendingLeaf]) -> tuple[list[PendingLeaf], dict[int, str]]:
    """Split ``leaves`` into those a batch can hold and, by leaf id, why each other cannot:
    each leaf's manifest entry is built alone, by the same code as a batch's."""
    good: list[PendingLeaf] = []
    bad: dict[int, str] = {}
    for leaf in leaves:
        try:
            manifest_bytes(build_manifest([leaf]))
        except ValueError as exc:  # pydantic's and RFC 8785's refusals are ValueErrors
            bad[leaf.id] = f"{type(exc).__name__}: {exc}"
        else:
            good.append(leaf)
    return good, bad


def build_batch(leaves: Sequence[PendingLeaf]) -> BuiltBatch:
    """Build the tree (OZ ``standard-v1``, sorted leaves) and the manifest of ``leaves``."""
    if not leaves:
        raise ValueError("a batch needs at least one leaf")
    manifest = build_manifest(leaves)
    canonical = manifest_bytes(manifest)
    return BuiltBatch(
        leaf_ids=tuple(leaf.id for leaf in leaves),
        tree=MerkleTree.from_leaf_hashes(leaf.hash for leaf in leaves),
        manifest=manifest,
        manifest_json=canonical,
        manifest_hash=keccak256(canonical),
    )

"""Batch manifests on the wire: what a batch holds, committed beside its root.

Version 1 (batches anchored before sections): the anchored manifest hash is keccak256 of one
flat manifest's RFC 8785 JSON, which names every enterprise and terminal of the batch.

Version 2: the batch's leaves are split into *sections*, one per enterprise (its activity
records and evaluation entries) and one with a null enterprise for every other leaf (registry
events, asset operations), which counts kinds only. The anchored manifest hash is the root of
an OpenZeppelin ``standard-v1`` tree (sorted leaves, sorted pairs) whose leaves are the
sections' leaf hashes, so a proof can carry one section and its path, and nothing of another
tenant. A section's leaf is the protocol leaf ``[SECTION_LEAF_KIND, keccak256(section JSON),
0]``: its kind word keeps it apart from every batch leaf.

The two schemes cannot be confused: a v1 hash is keccak256 of a JSON text far longer than the
64 bytes an inner node hashes, and a v2 section leaf is keccak256 of a 32-byte word.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import rfc8785

from verifier.protocol.keccak import keccak256
from verifier.protocol.leaves import leaf_hash

__all__ = [
    "MANIFEST_FORMAT",
    "MAX_SECTION_PATH",
    "SECTION_FORMAT",
    "SECTION_LEAF_KIND",
    "section_leaf",
]

MANIFEST_FORMAT = "carbon-ledger/batch-manifest"
SECTION_FORMAT = "carbon-ledger/manifest-section"
#: Never the kind of a batch leaf (those are ``LeafKind`` values, counted up from 1).
SECTION_LEAF_KIND = 0xFF
#: A path longer than this would need more than 2^32 sections: refused before hashing.
MAX_SECTION_PATH = 32

_ZERO = bytes(32)


def section_leaf(section: Mapping[str, Any]) -> bytes:
    """The leaf hash of one section, given as its JSON object. Raises
    ``rfc8785.CanonicalizationError`` (a ValueError) for JSON with no canonical form."""
    return leaf_hash(SECTION_LEAF_KIND, keccak256(rfc8785.dumps(section)), _ZERO)

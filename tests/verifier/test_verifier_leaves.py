"""The protocol leaf: fixed encoding, kind separation, agreement with the generic path."""

from __future__ import annotations

import eth_abi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.errors import InvalidLeafValue
from verifier.protocol.keccak import keccak256
from verifier.protocol.leaves import LEAF_ENCODING, Leaf, LeafKind, activity_record_leaf, leaf_hash
from verifier.protocol.merkle import MerkleTree, StandardMerkleTree, standard_leaf_hash
from verifier.protocol.typed_data import ActivityRecord, Domain, record_digest, sign_record

words = st.binary(min_size=32, max_size=32)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(list(LeafKind)), words, words)
def test_fast_leaf_hash_equals_eth_abi(kind: LeafKind, digest: bytes, aux: bytes) -> None:
    encoded = eth_abi.encode(list(LEAF_ENCODING), [int(kind), digest, aux])
    leaf = Leaf(kind, digest, aux)
    assert leaf.encode() == encoded
    expected = keccak256(keccak256(encoded))
    assert leaf_hash(kind, digest, aux) == leaf.hash() == expected
    assert standard_leaf_hash(LEAF_ENCODING, leaf.to_json()) == expected
    assert Leaf.from_value(leaf.to_json()) == leaf


def test_kinds_never_collide() -> None:
    digest, aux = bytes(range(32)), bytes(32)
    hashes = {leaf_hash(kind, digest, aux) for kind in LeafKind}
    assert len(hashes) == len(LeafKind)
    assert [k.value for k in LeafKind] == [1, 2, 3, 4, 5]


def test_leaf_checks() -> None:
    with pytest.raises(InvalidLeafValue):
        Leaf(9, bytes(32))  # type: ignore[arg-type]
    with pytest.raises(InvalidLeafValue):
        Leaf(LeafKind.FACTOR_SET, bytes(31))
    with pytest.raises(InvalidLeafValue):
        leaf_hash(256, bytes(32), bytes(32))


def test_activity_record_leaf() -> None:
    domain = Domain(1337, "0x" + "aa" * 20)
    record = ActivityRecord("e", "s", "0x" + "bb" * 20, 1, "electricity.grid", 5, 0, "kWh", 0, 60)
    signature = sign_record(keccak256(b"device"), domain, record)
    leaf = activity_record_leaf(domain, record, signature)
    assert leaf.kind is LeafKind.ACTIVITY_RECORD
    assert leaf.digest == record_digest(domain, record)
    assert leaf.aux == keccak256(signature)
    with pytest.raises(InvalidLeafValue):
        activity_record_leaf(domain, record, signature[:64])


def test_mixed_kind_tree_matches_generic_tree() -> None:
    leaves = [
        Leaf(kind, keccak256(bytes([i])), keccak256(bytes([i, 1])))
        for i, kind in enumerate(list(LeafKind) * 3)
    ]
    standard = StandardMerkleTree.of([leaf.value() for leaf in leaves], LEAF_ENCODING)
    fast = MerkleTree.from_leaf_hashes([leaf.hash() for leaf in leaves])
    assert standard.tree == fast
    assert standard.dump()["values"][0]["value"] == leaves[0].to_json()

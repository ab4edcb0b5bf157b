"""Merkle tree construction, proofs, tamper resistance and serialisation."""

from __future__ import annotations

import random

import eth_abi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.errors import (
    EmptyMultiproof,
    InvalidLeafValue,
    InvalidMultiproof,
    InvalidTree,
    LeafNotFound,
    MalformedNode,
)
from verifier.protocol.keccak import keccak256, to_checksum_address
from verifier.protocol.merkle import (
    MerkleTree,
    StandardMerkleTree,
    hash_pair,
    process_multiproof,
    standard_leaf_hash,
    verify_multiproof,
    verify_proof,
)


def _leaves(n: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(32) for _ in range(n)]


def _flip(node: bytes, bit: int = 0) -> bytes:
    return bytes([node[0] ^ (1 << bit)]) + node[1:]


def test_keccak_vectors() -> None:
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    assert to_checksum_address(bytes.fromhex("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")) == (
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    )


def test_hash_pair_sorts_numerically() -> None:
    lo, hi = bytes(31) + b"\x01", b"\x01" + bytes(31)
    assert hash_pair(lo, hi) == hash_pair(hi, lo) == keccak256(lo + hi)


def test_layout_small_trees() -> None:
    a, b, c = sorted(_leaves(3))
    one = MerkleTree.from_leaf_hashes([a])
    assert one.root == a and one.node_count == 1
    three = MerkleTree.from_leaf_hashes([c, a, b])
    # sorted leaf k sits at 2n-2-k, so the array holds the leaves in reverse
    assert [three.node(i) for i in (4, 3, 2)] == [a, b, c]
    assert three.node(1) == hash_pair(b, a)
    assert three.root == hash_pair(three.node(1), c)
    assert len(three.to_bytes()) == 32 * 5


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 33])
@pytest.mark.parametrize("sort_leaves", [True, False])
def test_every_proof_verifies(n: int, sort_leaves: bool) -> None:
    tree = MerkleTree.from_leaf_hashes(_leaves(n, n), sort_leaves=sort_leaves)
    for k in range(n):
        index = tree.leaf_tree_index(k)
        leaf = tree.node(index)
        assert tree.find_leaf(leaf) == index
        assert verify_proof(tree.root, leaf, tree.get_proof(index))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.data())
def test_multiproofs_verify(n: int, data: st.DataObject) -> None:
    tree = MerkleTree.from_leaf_hashes(_leaves(n, n))
    picks = data.draw(st.sets(st.integers(n - 1, 2 * n - 2), min_size=1))
    mp = tree.get_multiproof(picks)
    assert len(mp.leaves) + len(mp.proof) == len(mp.proof_flags) + 1
    assert list(mp.leaves) == [tree.node(i) for i in sorted(picks, reverse=True)]
    assert mp.verify(tree.root)


def test_tampered_single_proof_fails() -> None:
    tree = MerkleTree.from_leaf_hashes(_leaves(100))
    index = tree.leaf_tree_index(37)
    leaf, proof = tree.node(index), tree.get_proof(index)
    assert verify_proof(tree.root, leaf, proof)
    assert not verify_proof(tree.root, _flip(leaf), proof)
    for i in range(len(proof)):
        assert not verify_proof(tree.root, leaf, [*proof[:i], _flip(proof[i], 7), *proof[i + 1 :]])
        assert not verify_proof(tree.root, leaf, proof[:i] + proof[i + 1 :])
    assert not verify_proof(tree.root, leaf, [*proof, proof[-1]])
    with pytest.raises(MalformedNode):
        verify_proof(tree.root, leaf, [*proof[:-1], proof[-1][:31]])


def test_tampered_multiproof_fails() -> None:
    tree = MerkleTree.from_leaf_hashes(_leaves(50))
    mp = tree.get_multiproof([49, 50, 60, 98])
    root, leaves, proof, flags = tree.root, list(mp.leaves), list(mp.proof), list(mp.proof_flags)
    assert verify_multiproof(root, leaves, proof, flags)
    assert not verify_multiproof(root, [_flip(leaves[0]), *leaves[1:]], proof, flags)
    assert not verify_multiproof(root, leaves, [_flip(proof[0]), *proof[1:]], flags)
    with pytest.raises(InvalidMultiproof):  # dropped node breaks the length invariant
        verify_multiproof(root, leaves, proof[1:], flags)
    with pytest.raises(InvalidMultiproof):  # a dropped leaf too
        verify_multiproof(root, leaves[1:], proof, flags)
    with pytest.raises(InvalidMultiproof):  # proof left unconsumed
        verify_multiproof(root, leaves, [*proof, proof[0]], [*flags, True])


def test_empty_multiproof_is_rejected() -> None:
    tree = MerkleTree.from_leaf_hashes(_leaves(8))
    # OpenZeppelin returns proof[0] here, so this "verifies" there; it must not here.
    with pytest.raises(EmptyMultiproof):
        verify_multiproof(tree.root, [], [tree.root], [])
    with pytest.raises(EmptyMultiproof):
        tree.get_multiproof([])


def test_multiproof_rejects_queue_underflow() -> None:
    a, b = _leaves(2)
    with pytest.raises(InvalidMultiproof):
        process_multiproof([a], [b], [True])


def test_get_multiproof_rejects_bad_indices() -> None:
    tree = MerkleTree.from_leaf_hashes(_leaves(4))
    with pytest.raises(ValueError, match="duplicated"):
        tree.get_multiproof([3, 3])
    with pytest.raises(IndexError):
        tree.get_multiproof([0])  # the root is not a leaf
    with pytest.raises(IndexError):
        tree.get_proof(7)


def test_serialisation_round_trip_and_tamper() -> None:
    tree = MerkleTree.from_leaf_hashes(_leaves(1001))
    blob = tree.to_bytes()
    assert len(blob) == 32 * 2001
    assert MerkleTree.from_bytes(blob) == tree
    broken = bytearray(blob)
    broken[32 * 1500] ^= 1  # a leaf: its ancestors no longer match
    with pytest.raises(InvalidTree):
        MerkleTree.from_bytes(bytes(broken))
    with pytest.raises(InvalidTree):
        MerkleTree.from_bytes(blob[:-32])
    with pytest.raises(InvalidTree):
        MerkleTree.from_bytes(b"")


def test_find_leaf_unsorted_and_missing() -> None:
    leaves = _leaves(20, 3)
    tree = MerkleTree.from_leaf_hashes(leaves, sort_leaves=False)
    for k, leaf in enumerate(leaves):
        assert tree.find_leaf(leaf) == tree.leaf_tree_index(k)
    with pytest.raises(LeafNotFound):
        tree.find_leaf(tree.root)  # internal nodes are not leaves
    with pytest.raises(LeafNotFound):
        MerkleTree.from_leaf_hashes(leaves).find_leaf(bytes(32))


def test_tree_needs_leaves() -> None:
    with pytest.raises(InvalidTree):
        MerkleTree.from_leaf_hashes([])
    with pytest.raises(MalformedNode):
        MerkleTree.from_leaf_hashes([b"short"])


_WORD_TYPES = st.sampled_from(
    ["uint8", "uint64", "uint256", "bytes32", "bytes4", "address", "bool"]
)


def _value_for(type_: str) -> st.SearchStrategy:
    if type_.startswith("uint"):
        return st.integers(0, 2 ** int(type_[4:]) - 1)
    if type_ == "address":
        return st.binary(min_size=20, max_size=20).map(to_checksum_address)
    if type_ == "bool":
        return st.booleans()
    size = int(type_[5:])
    return st.binary(min_size=size, max_size=size)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(_WORD_TYPES, min_size=1, max_size=5).flatmap(
        lambda ts: st.tuples(st.just(ts), st.tuples(*(_value_for(t) for t in ts)))
    )
)
def test_static_fast_path_equals_eth_abi(case: tuple[list[str], tuple]) -> None:
    types, values = case
    expected = keccak256(keccak256(eth_abi.encode(types, list(values))))
    assert standard_leaf_hash(types, values) == expected


def test_leaf_value_checks() -> None:
    with pytest.raises(InvalidLeafValue):
        standard_leaf_hash(["uint8"], [256])
    with pytest.raises(InvalidLeafValue):
        standard_leaf_hash(["bytes32"], [b"\x01"])  # shorter bytesN is not silently padded
    with pytest.raises(InvalidLeafValue):
        standard_leaf_hash(["address"], ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"])
    with pytest.raises(InvalidLeafValue):
        standard_leaf_hash(["bool"], [1])
    with pytest.raises(InvalidLeafValue):
        standard_leaf_hash(["uint256", "bool"], [1])


def _std_tree() -> StandardMerkleTree:
    rng = random.Random(9)
    values = [
        [to_checksum_address(rng.randbytes(20)), rng.getrandbits(64), f"v{i}"] for i in range(6)
    ]
    return StandardMerkleTree.of(values, ["address", "uint256", "string"])


def test_standard_tree_dump_load_round_trip() -> None:
    tree = _std_tree()
    dump = tree.dump()
    assert all(isinstance(v["value"][1], str) for v in dump["values"])  # uints as decimal strings
    loaded = StandardMerkleTree.load(dump)
    assert loaded == tree
    for i, value in enumerate(tree.values):
        assert tree.verify(value, tree.get_proof(i))
    mp = tree.get_multiproof([0, 3, 4])
    assert StandardMerkleTree.verify_multiproof(tree.root, tree.leaf_encoding, mp)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d.update(format="standard-v2"),
        lambda d: d["tree"].__setitem__(2, "0x" + "00" * 32),
        lambda d: d["tree"].__setitem__(0, d["tree"][0][:-2]),
        lambda d: d["values"][0]["value"].__setitem__(2, "forged"),
        lambda d: d["values"][1].__setitem__("treeIndex", d["values"][0]["treeIndex"]),
        lambda d: d["values"].pop(),
        lambda d: d["values"][0].__setitem__("treeIndex", 0),
        lambda d: d.update(leafEncoding=["address", "string", "string"]),
    ],
)
def test_load_rejects_inconsistent_dumps(tamper) -> None:  # type: ignore[no-untyped-def]
    dump = _std_tree().dump()
    tamper(dump)
    with pytest.raises((InvalidTree, MalformedNode, InvalidLeafValue)):
        StandardMerkleTree.load(dump)


def test_sorted_build_is_stable_for_duplicates() -> None:
    tree = StandardMerkleTree.of([["1"], ["1"], ["0"]], ["uint256"])
    assert tree.tree_indices[0] != tree.tree_indices[1]
    with pytest.raises(InvalidTree):
        StandardMerkleTree.of([], ["uint256"])

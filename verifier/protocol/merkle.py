"""OpenZeppelin ``StandardMerkleTree`` (format ``standard-v1``).

Byte-exact with the npm ``@openzeppelin/merkle-tree`` 1.0.8 and ``MerkleProof.sol`` (OZ 5.x).

Byte layouts (all hashes Keccak-256, all nodes 32 bytes):

* leaf hash = ``keccak256(keccak256(abi.encode(leafEncoding, value)))`` — the standard,
  non-packed ABI encoding of the value tuple. The double hash keeps a 64-byte leaf from being
  read as a pair of internal nodes (second preimage).
* node hash = ``keccak256(min(a, b) ‖ max(a, b))``, ``a``/``b`` compared as big-endian numbers.
  The hash is commutative, so a proof does not bind a leaf's position.
* node array: ``2n-1`` nodes in one flat array; ``tree[0]`` is the root, the children of ``i``
  are ``2i+1`` and ``2i+2``; leaf ``k`` (after sorting leaf hashes ascending, the default) sits
  at ``tree[2n-2-k]``. The tree is complete, not perfect: nothing is padded or duplicated.
  :meth:`MerkleTree.to_bytes` is exactly this array concatenated: ``32*(2n-1)`` bytes.
* proof: the sibling hashes from the leaf up to the root, no direction bits.
* multiproof ``{leaves, proof, proofFlags}``: leaves by descending tree index;
  ``len(leaves) + len(proof) == len(proofFlags) + 1``; step ``i`` pops ``a`` from the queue
  (leaves, then computed hashes) and ``b`` from the queue if ``proofFlags[i]`` else from ``proof``.

Value JSON in ``standard-v1`` dumps: ints as decimal strings, ``bytes``/``bytesN`` as lowercase
``0x`` hex, addresses in EIP-55 case, bools as JSON booleans, arrays and tuples as lists.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import pairwise
from typing import Any

import eth_abi
from eth_abi.grammar import ABIType, BasicType, TupleType, normalize, parse
from sha3 import keccak_256

from verifier.errors import (
    EmptyMultiproof,
    InvalidLeafValue,
    InvalidMultiproof,
    InvalidTree,
    LeafNotFound,
    MalformedNode,
)
from verifier.protocol.keccak import parse_address, to_checksum_address

__all__ = [
    "FORMAT",
    "MerkleTree",
    "Multiproof",
    "StandardMerkleTree",
    "ValueMultiproof",
    "hash_pair",
    "process_multiproof",
    "process_proof",
    "standard_leaf_hash",
    "verify_multiproof",
    "verify_proof",
]

FORMAT = "standard-v1"
NODE_SIZE = 32


# --- node hashing and verification ----------------------------------------------------------


def hash_pair(a: bytes, b: bytes) -> bytes:
    """``keccak256(min(a,b) ‖ max(a,b))``; equal-length ``bytes`` compare as big-endian ints."""
    return keccak_256(a + b if a <= b else b + a).digest()


def _check_node(node: object, what: str) -> bytes:
    if not isinstance(node, bytes) or len(node) != NODE_SIZE:
        raise MalformedNode(f"{what} must be 32 bytes")
    return node


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Fold ``proof`` over ``leaf`` (``MerkleProof.processProof``) and return the root."""
    h = _check_node(leaf, "leaf")
    for i, sibling in enumerate(proof):
        h = hash_pair(h, _check_node(sibling, f"proof[{i}]"))
    return h


def verify_proof(root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """True iff ``leaf`` with ``proof`` folds to ``root``. Raises :class:`MalformedNode` on a
    value that is not 32 bytes, so a bad input is never mistaken for a mere mismatch.

    ``leaf`` must be a leaf hash the caller computed from the value itself: any internal node
    with a shortened proof also folds to the root, and only the double-hashed leaf encoding
    keeps such a node from passing for a value."""
    return process_proof(leaf, proof) == _check_node(root, "root")


def process_multiproof(
    leaves: Sequence[bytes], proof: Sequence[bytes], proof_flags: Sequence[bool]
) -> bytes:
    """Recompute the root of a multiproof as ``MerkleProof.processMultiProof`` does.

    Stricter than OZ where OZ is unsafe: empty ``leaves`` raise :class:`EmptyMultiproof`
    (OZ returns ``proof[0]``, so ``proof=[root]`` "proves" nothing as true). Breaking the length
    invariant, reading past the queue or the proof, or leaving proof unconsumed raises
    :class:`InvalidMultiproof`.
    """
    if not leaves:
        raise EmptyMultiproof("a multiproof must prove at least one leaf")
    for i, node in enumerate(leaves):
        _check_node(node, f"leaves[{i}]")
    for i, node in enumerate(proof):
        _check_node(node, f"proof[{i}]")
    if len(leaves) + len(proof) != len(proof_flags) + 1:
        raise InvalidMultiproof("len(leaves) + len(proof) != len(proofFlags) + 1")
    queue: deque[bytes] = deque(leaves)
    proof_pos = 0
    for flag in proof_flags:
        if not queue:
            raise InvalidMultiproof("multiproof reads past its queue")
        a = queue.popleft()
        if flag:
            if not queue:
                raise InvalidMultiproof("multiproof reads past its queue")
            b = queue.popleft()
        else:
            if proof_pos >= len(proof):
                raise InvalidMultiproof("multiproof reads past its proof")
            b = proof[proof_pos]
            proof_pos += 1
        queue.append(hash_pair(a, b))
    if proof_pos != len(proof) or len(queue) != 1:
        raise InvalidMultiproof("multiproof leaves proof nodes unconsumed")
    return queue[0]


def verify_multiproof(
    root: bytes, leaves: Sequence[bytes], proof: Sequence[bytes], proof_flags: Sequence[bool]
) -> bool:
    """True iff the multiproof recomputes ``root``; structural faults raise (see
    :func:`process_multiproof`), as ``MerkleProof.multiProofVerify`` reverts."""
    return process_multiproof(leaves, proof, proof_flags) == _check_node(root, "root")


# --- hex helpers ----------------------------------------------------------------------------


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


_HEX = re.compile(r"0[xX](?:[0-9a-fA-F]{2})*")


def _unhex(text: object, what: str) -> bytes:
    # A strict pattern: bytes.fromhex alone would also accept embedded whitespace.
    if not isinstance(text, str) or not _HEX.fullmatch(text):
        raise ValueError(f"{what} must be 0x-prefixed hex with an even number of digits")
    return bytes.fromhex(text[2:])


def _unhex_node(text: object, what: str) -> bytes:
    try:
        node = _unhex(text, what)
    except ValueError as exc:
        raise MalformedNode(str(exc)) from None
    return _check_node(node, what)


# --- the node array -------------------------------------------------------------------------


def _build_nodes(leaves: list[bytes]) -> bytes:
    """Hash a bottom-up node array; ``leaves`` are in leaf order ``k = 0..n-1``."""
    n = len(leaves)
    nodes: list[bytes] = [b""] * (n - 1) + leaves[::-1]
    end = n - 1
    keccak = keccak_256  # a local: the comprehension below looks it up n - 1 times
    # Parents [end//2, end) have all their children at index >= end, already computed, so a
    # whole block is hashed in one comprehension instead of an index-juggling loop.
    while end > 0:
        start = end // 2
        kids = nodes[2 * start + 1 : 2 * end + 1]
        nodes[start:end] = [
            keccak(a + b if a <= b else b + a).digest()
            for a, b in zip(kids[0::2], kids[1::2], strict=True)
        ]
        end = start
    return b"".join(nodes)


@dataclass(frozen=True)
class Multiproof:
    """A multiproof over leaf hashes, in OZ order (leaves by descending tree index)."""

    leaves: tuple[bytes, ...]
    proof: tuple[bytes, ...]
    proof_flags: tuple[bool, ...]

    def verify(self, root: bytes) -> bool:
        return verify_multiproof(root, self.leaves, self.proof, self.proof_flags)

    def to_json(self) -> dict[str, Any]:
        """``{"leaves": [hex], "proof": [hex], "proofFlags": [bool]}`` as OZ's core returns."""
        return {
            "leaves": [_hex(x) for x in self.leaves],
            "proof": [_hex(x) for x in self.proof],
            "proofFlags": list(self.proof_flags),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Multiproof:
        if not isinstance(data, Mapping) or {"leaves", "proof", "proofFlags"} - set(data):
            raise InvalidMultiproof("a multiproof needs leaves, proof and proofFlags")
        flags = data["proofFlags"]
        if not isinstance(flags, list) or not all(isinstance(f, bool) for f in flags):
            raise InvalidMultiproof("proofFlags must be a list of booleans")
        return cls(
            leaves=tuple(_unhex_node(x, "leaf") for x in data["leaves"]),
            proof=tuple(_unhex_node(x, "proof node") for x in data["proof"]),
            proof_flags=tuple(flags),
        )


@dataclass(frozen=True)
class MerkleTree:
    """A node array of ``2n-1`` 32-byte nodes held as one ``bytes`` blob (see module doc).

    One blob rather than ``2n-1`` objects: a 1M-leaf tree is 64 MB, loads from storage with no
    parsing, and a proof costs ``log2 n`` slices.
    """

    nodes: bytes

    def __post_init__(self) -> None:
        size = len(self.nodes)
        if size == 0 or size % NODE_SIZE or (size // NODE_SIZE) % 2 == 0:
            raise InvalidTree("node array must hold an odd number (2n-1) of 32-byte nodes")

    @classmethod
    def from_leaf_hashes(
        cls, leaf_hashes: Iterable[bytes], *, sort_leaves: bool = True
    ) -> MerkleTree:
        """Build from 32-byte leaf hashes; with ``sort_leaves`` (OZ's default) they are sorted
        ascending first, which on-chain multiproofs and :meth:`leaf_tree_index` rely on."""
        leaves = [x if type(x) is bytes else bytes(x) for x in leaf_hashes]
        if not leaves:
            raise InvalidTree("a Merkle tree needs at least one leaf")
        if set(map(len, leaves)) != {NODE_SIZE}:  # in C: a million lengths in ~10 ms
            raise MalformedNode("every leaf hash must be 32 bytes")
        if sort_leaves:
            leaves.sort()
        return cls(_build_nodes(leaves))

    @classmethod
    def from_bytes(cls, blob: bytes, *, validate: bool = True) -> MerkleTree:
        """Inverse of :meth:`to_bytes`. ``validate`` rehashes every internal node (about 1 s
        per million leaves); skip it only for blobs this process wrote itself."""
        tree = cls(bytes(blob))
        if validate:
            tree.validate()
        return tree

    def to_bytes(self) -> bytes:
        """The node array, ``tree[0] ‖ tree[1] ‖ … ‖ tree[2n-2]``: ``32*(2n-1)`` bytes."""
        return self.nodes

    @property
    def node_count(self) -> int:
        return len(self.nodes) // NODE_SIZE

    @property
    def leaf_count(self) -> int:
        return (self.node_count + 1) // 2

    @property
    def root(self) -> bytes:
        return self.nodes[:NODE_SIZE]

    def node(self, index: int) -> bytes:
        if not 0 <= index < self.node_count:
            raise IndexError(f"node index {index} out of range")
        return self.nodes[index * NODE_SIZE : (index + 1) * NODE_SIZE]

    def leaf_tree_index(self, k: int) -> int:
        """Tree index of the ``k``-th leaf (in leaf order): ``2n-2-k``."""
        if not 0 <= k < self.leaf_count:
            raise IndexError(f"leaf {k} out of range")
        return self.node_count - 1 - k

    def _check_leaf_index(self, index: int) -> None:
        if not self.leaf_count - 1 <= index < self.node_count:
            raise IndexError(f"tree index {index} is not a leaf")

    def find_leaf(self, leaf_hash: bytes) -> int:
        """Tree index of a leaf hash: binary search when leaves are sorted (tree order is then
        descending), else a scan. Raises :class:`LeafNotFound`."""
        target = _check_node(leaf_hash, "leaf hash")
        lo, hi = self.leaf_count - 1, self.node_count - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            node = self.node(mid)
            if node == target:
                return mid
            if node > target:
                lo = mid + 1
            else:
                hi = mid - 1
        # Unsorted trees: bytes.find runs in C; only 32-aligned hits in the leaf range count.
        pos = self.nodes.find(target, (self.leaf_count - 1) * NODE_SIZE)
        while pos != -1:
            if pos % NODE_SIZE == 0:
                return pos // NODE_SIZE
            pos = self.nodes.find(target, pos + 1)
        raise LeafNotFound("leaf hash is not in the tree")

    def get_proof(self, index: int) -> list[bytes]:
        """Sibling hashes from the leaf at tree ``index`` up to (excluding) the root."""
        self._check_leaf_index(index)
        proof = []
        while index > 0:
            sibling = index + 1 if index % 2 else index - 1
            proof.append(self.node(sibling))
            index = (index - 1) // 2
        return proof

    def get_multiproof(self, indices: Iterable[int]) -> Multiproof:
        """OZ's ``getMultiProof`` over tree indices. Unlike OZ, no indices is an error
        (:class:`EmptyMultiproof`): its ``proof=[root]`` answer is the known trap."""
        order = sorted(indices, reverse=True)
        if not order:
            raise EmptyMultiproof("cannot build a multiproof of no leaves")
        for i in order:
            self._check_leaf_index(i)
        if any(a == b for a, b in pairwise(order)):
            raise ValueError("cannot prove a duplicated index")
        stack = deque(order)
        proof: list[bytes] = []
        flags: list[bool] = []
        while stack and stack[0] > 0:
            j = stack.popleft()
            sibling = j + 1 if j % 2 else j - 1
            if stack and stack[0] == sibling:
                flags.append(True)
                stack.popleft()
            else:
                flags.append(False)
                proof.append(self.node(sibling))
            stack.append((j - 1) // 2)
        return Multiproof(tuple(self.node(i) for i in order), tuple(proof), tuple(flags))

    def validate(self) -> None:
        """Raise :class:`InvalidTree` unless every internal node is the hash of its children."""
        n = self.leaf_count
        leaves = [self.node(i) for i in range(self.node_count - 1, n - 2, -1)]
        rebuilt = _build_nodes(leaves)
        if rebuilt != self.nodes:
            first = next(
                i for i in range(self.node_count) if self.node(i) != rebuilt[32 * i : 32 * i + 32]
            )
            raise InvalidTree(f"node {first} is not the hash of its children")

    def render(self) -> str:
        """The same text as OZ's ``render()``: one ``i) 0x…`` line per node, depth first."""
        lines = []
        stack: list[tuple[int, tuple[bool, ...]]] = [(0, ())]
        while stack:
            i, path = stack.pop()
            indent = "".join("│  " if more else "   " for more in path[:-1])
            branch = ("├─ " if path[-1] else "└─ ") if path else ""
            lines.append(f"{indent}{branch}{i}) {_hex(self.node(i))}")
            if 2 * i + 2 < self.node_count:
                stack.append((2 * i + 2, (*path, False)))
                stack.append((2 * i + 1, (*path, True)))
        return "\n".join(lines)


# --- ABI values -----------------------------------------------------------------------------

_FAST_BASES = frozenset({"uint", "bytes", "address", "bool"})
_DECIMAL = re.compile(r"-?[0-9]+")
_HEX_INT = re.compile(r"0[xX][0-9a-fA-F]+")


@dataclass(frozen=True, eq=False)
class _Codec:
    """A parsed leaf encoding; ``static`` when every type is one word :func:`_word` writes."""

    types: tuple[ABIType, ...]
    static: bool


@lru_cache(maxsize=64)
def _codec(leaf_encoding: tuple[str, ...]) -> _Codec:
    try:
        types = tuple(parse(normalize(t)) for t in leaf_encoding)
    except Exception as exc:  # eth-abi raises its own parse errors
        raise InvalidLeafValue(f"bad leaf encoding {leaf_encoding!r}: {exc}") from None
    return _Codec(types, all(_is_static_word(t) for t in types))


def _is_static_word(t: ABIType) -> bool:
    """Types whose ABI encoding is one 32-byte word that :func:`_word` writes directly."""
    return (
        isinstance(t, BasicType)
        and not t.is_array
        and t.base in _FAST_BASES
        and not (t.base == "bytes" and t.sub is None)
    )


def _parse_int(t: BasicType, value: object) -> int:
    if isinstance(value, bool):
        raise InvalidLeafValue(f"{t} value must be an integer, not a bool")
    if isinstance(value, str):
        # Decimal as dumps write it, or 0x-hex as some JS producers do; nothing looser
        # (Python's int() would also take "1_000" and surrounding spaces).
        if _DECIMAL.fullmatch(value):
            value = int(value, 10)
        elif _HEX_INT.fullmatch(value):
            value = int(value[2:], 16)
        else:
            raise InvalidLeafValue(f"{t} value {value!r} is not an integer")
    if not isinstance(value, int):
        raise InvalidLeafValue(f"{t} value must be an integer or a decimal string")
    bits = t.sub or 256
    lo, hi = (0, 1 << bits) if t.base == "uint" else (-(1 << (bits - 1)), 1 << (bits - 1))
    if not lo <= value < hi:
        raise InvalidLeafValue(f"{value} does not fit {t}")
    return value


def _parse_bytes(t: BasicType, value: object) -> bytes:
    if isinstance(value, str):
        try:
            value = _unhex(value, str(t))
        except ValueError as exc:
            raise InvalidLeafValue(str(exc)) from None
    if not isinstance(value, bytes | bytearray):
        raise InvalidLeafValue(f"{t} value must be bytes or 0x-hex")
    if t.sub is not None and len(value) != t.sub:
        raise InvalidLeafValue(f"{t} value must be exactly {t.sub} bytes, got {len(value)}")
    return bytes(value)


def _native(t: ABIType, value: object) -> Any:
    """Canonical Python form of one ABI value: int, bytes, EIP-55 str, bool, str or tuple."""
    if t.is_array or isinstance(t, TupleType):
        if not isinstance(value, list | tuple):
            raise InvalidLeafValue(f"{t} value must be a list")
        if t.is_array:
            fixed = t.arrlist[-1]
            if fixed and len(value) != fixed[0]:
                raise InvalidLeafValue(f"{t} needs {fixed[0]} items, got {len(value)}")
            return tuple(_native(t.item_type, v) for v in value)
        if len(value) != len(t.components):
            raise InvalidLeafValue(f"{t} needs {len(t.components)} items, got {len(value)}")
        return tuple(_native(c, v) for c, v in zip(t.components, value, strict=True))
    assert isinstance(t, BasicType)
    if t.base in ("uint", "int"):
        return _parse_int(t, value)
    if t.base == "bytes":
        return _parse_bytes(t, value)
    if t.base == "address":
        if isinstance(value, bytes) and len(value) == 20:
            return to_checksum_address(value)
        try:
            return to_checksum_address(parse_address(value))  # type: ignore[arg-type]
        except ValueError as exc:
            raise InvalidLeafValue(str(exc)) from None
    if t.base == "bool":
        if not isinstance(value, bool):
            raise InvalidLeafValue(f"bool value must be true or false, got {value!r}")
        return value
    if t.base == "string":
        if not isinstance(value, str):
            raise InvalidLeafValue(f"string value must be a string, got {value!r}")
        return value
    raise InvalidLeafValue(f"unsupported ABI type {t}")


def _json(t: ABIType, value: Any) -> Any:
    """Inverse of :func:`_native` for ``standard-v1`` dumps (see module doc)."""
    if t.is_array:
        return [_json(t.item_type, v) for v in value]
    if isinstance(t, TupleType):
        return [_json(c, v) for c, v in zip(t.components, value, strict=True)]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, bytes):
        return _hex(value)
    return value


def _word(t: BasicType, value: Any) -> bytes:
    if t.base == "uint":
        return value.to_bytes(32, "big")
    if t.base == "bytes":
        return value.ljust(32, b"\0")
    if t.base == "address":
        return bytes(12) + bytes.fromhex(value[2:])
    return bytes(31) + (b"\1" if value else b"\0")


def _encode(codec: _Codec, values: tuple[Any, ...]) -> bytes:
    """``abi.encode(types, values)`` of canonical values; static one-word types skip eth-abi."""
    if codec.static:
        return b"".join(map(_word, codec.types, values))  # type: ignore[arg-type]
    return eth_abi.encode([t.to_type_str() for t in codec.types], list(values))


def _normalize_value(types: tuple[ABIType, ...], value: object) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple) or len(value) != len(types):
        raise InvalidLeafValue(f"a leaf value must be a list of {len(types)} items")
    return tuple(_native(t, v) for t, v in zip(types, value, strict=True))


def standard_leaf_hash(leaf_encoding: Sequence[str], value: Sequence[Any]) -> bytes:
    """``keccak256(keccak256(abi.encode(leaf_encoding, value)))``; ``value`` in native or dump
    JSON form."""
    codec = _codec(tuple(leaf_encoding))
    encoded = _encode(codec, _normalize_value(codec.types, value))
    return keccak_256(keccak_256(encoded).digest()).digest()


# --- StandardMerkleTree ---------------------------------------------------------------------


@dataclass(frozen=True)
class ValueMultiproof:
    """A multiproof whose leaves are values (what OZ's ``StandardMerkleTree`` returns)."""

    leaves: tuple[tuple[Any, ...], ...]
    proof: tuple[bytes, ...]
    proof_flags: tuple[bool, ...]

    def to_json(self, leaf_encoding: Sequence[str]) -> dict[str, Any]:
        types = _codec(tuple(leaf_encoding)).types
        return {
            "leaves": [
                [_json(t, v) for t, v in zip(types, leaf, strict=True)] for leaf in self.leaves
            ],
            "proof": [_hex(x) for x in self.proof],
            "proofFlags": list(self.proof_flags),
        }


@dataclass(frozen=True)
class StandardMerkleTree:
    """Values, their leaf encoding, and the tree over their leaf hashes.

    ``values[i]`` is the canonical Python form of the ``i``-th input value; ``tree_indices[i]``
    is where its leaf hash sits in ``tree`` (OZ's ``values[i].treeIndex``).
    """

    tree: MerkleTree
    leaf_encoding: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]
    tree_indices: tuple[int, ...]

    @classmethod
    def of(
        cls,
        values: Iterable[Sequence[Any]],
        leaf_encoding: Sequence[str],
        *,
        sort_leaves: bool = True,
    ) -> StandardMerkleTree:
        """OZ's ``StandardMerkleTree.of``: hash each value, sort the hashes (stable) unless told
        not to, and record each value's tree index."""
        encoding = tuple(leaf_encoding)
        codec = _codec(encoding)
        canonical = tuple(_normalize_value(codec.types, v) for v in values)
        hashes = [keccak_256(keccak_256(_encode(codec, v)).digest()).digest() for v in canonical]
        if not hashes:
            raise InvalidTree("a Merkle tree needs at least one leaf")
        order = list(range(len(hashes)))
        if sort_leaves:
            order.sort(key=hashes.__getitem__)
        tree = MerkleTree.from_leaf_hashes([hashes[j] for j in order], sort_leaves=False)
        indices = [0] * len(hashes)
        last = tree.node_count - 1
        for k, j in enumerate(order):
            indices[j] = last - k
        return cls(tree, encoding, canonical, tuple(indices))

    @property
    def root(self) -> bytes:
        return self.tree.root

    def leaf_hash(self, value: Sequence[Any]) -> bytes:
        return standard_leaf_hash(self.leaf_encoding, value)

    def get_proof(self, value_index: int) -> list[bytes]:
        """Proof for ``values[value_index]`` (input order, as OZ's ``getProof(i)``)."""
        return self.tree.get_proof(self.tree_indices[self._check_value_index(value_index)])

    def _check_value_index(self, value_index: int) -> int:
        if not 0 <= value_index < len(self.values):  # no Python negative indexing here
            raise IndexError(f"value index {value_index} out of range")
        return value_index

    def get_multiproof(self, value_indices: Iterable[int]) -> ValueMultiproof:
        """OZ's ``getMultiProof(indices)``: leaves are values, by descending tree index."""
        chosen = [self.tree_indices[self._check_value_index(i)] for i in value_indices]
        proof = self.tree.get_multiproof(chosen)
        by_tree_index = self._value_index_by_tree_index
        leaves = tuple(self.values[by_tree_index[t]] for t in sorted(chosen, reverse=True))
        return ValueMultiproof(leaves, proof.proof, proof.proof_flags)

    @cached_property
    def _value_index_by_tree_index(self) -> dict[int, int]:
        return {t: i for i, t in enumerate(self.tree_indices)}

    def verify(self, value: Sequence[Any], proof: Sequence[bytes]) -> bool:
        return verify_proof(self.root, self.leaf_hash(value), proof)

    @staticmethod
    def verify_multiproof(
        root: bytes, leaf_encoding: Sequence[str], multiproof: ValueMultiproof
    ) -> bool:
        leaves = [standard_leaf_hash(leaf_encoding, v) for v in multiproof.leaves]
        return verify_multiproof(root, leaves, multiproof.proof, multiproof.proof_flags)

    def validate(self) -> None:
        """Raise :class:`InvalidTree` unless the node array is consistent, every value's leaf
        hash sits at its tree index, and the tree indices cover every leaf exactly once (OZ
        does not demand the last; a dump that omits or repeats a value cannot be summed)."""
        n = self.tree.leaf_count
        if len(self.values) != n or len(self.tree_indices) != n:
            raise InvalidTree(f"{len(self.values)} values for {n} leaves")
        if sorted(self.tree_indices) != list(range(n - 1, 2 * n - 1)):
            raise InvalidTree("treeIndex values must cover every leaf exactly once")
        codec = _codec(self.leaf_encoding)
        for i, (value, index) in enumerate(zip(self.values, self.tree_indices, strict=True)):
            leaf = keccak_256(keccak_256(_encode(codec, value)).digest()).digest()
            if leaf != self.tree.node(index):
                raise InvalidTree(f"values[{i}] does not hash to tree[{index}]")
        self.tree.validate()

    def render(self) -> str:
        return self.tree.render()

    def dump(self) -> dict[str, Any]:
        """The ``standard-v1`` JSON object (see module doc for value forms)."""
        types = _codec(self.leaf_encoding).types
        return {
            "format": FORMAT,
            "leafEncoding": list(self.leaf_encoding),
            "tree": [_hex(self.tree.node(i)) for i in range(self.tree.node_count)],
            "values": [
                {"value": [_json(t, v) for t, v in zip(types, value, strict=True)], "treeIndex": ti}
                for value, ti in zip(self.values, self.tree_indices, strict=True)
            ],
        }

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> StandardMerkleTree:
        """Parse and fully :meth:`validate` a ``standard-v1`` dump (ours or the npm library's)."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise InvalidTree(f"not a {FORMAT} dump")
        encoding, nodes, entries = data.get("leafEncoding"), data.get("tree"), data.get("values")
        if not isinstance(encoding, list) or not all(isinstance(t, str) for t in encoding):
            raise InvalidTree("leafEncoding must be a list of ABI type strings")
        if not isinstance(nodes, list) or not isinstance(entries, list):
            raise InvalidTree("tree and values must be lists")
        tree = MerkleTree(b"".join(_unhex_node(x, f"tree[{i}]") for i, x in enumerate(nodes)))
        types = _codec(tuple(encoding)).types
        values, indices = [], []
        for i, entry in enumerate(entries):
            index = entry.get("treeIndex") if isinstance(entry, Mapping) else None
            if not isinstance(index, int) or isinstance(index, bool):
                raise InvalidTree(f"values[{i}].treeIndex must be an integer")
            values.append(_normalize_value(types, entry.get("value")))
            indices.append(index)
        loaded = cls(tree, tuple(encoding), tuple(values), tuple(indices))
        loaded.validate()
        return loaded

"""The protocol's Merkle leaves: one fixed ABI shape for every kind of fact we anchor.

Every leaf is ``abi.encode(uint8 kind, bytes32 digest, bytes32 aux)`` with ``standard-v1``
leafEncoding ``["uint8", "bytes32", "bytes32"]``. Byte layout of the 96-byte encoding::

    [ 0:32]  kind, big-endian (31 zero bytes, then the kind byte)
    [32:64]  digest
    [64:96]  aux

and the leaf hash is ``keccak256(keccak256(those 96 bytes))`` (OZ ``StandardMerkleTree``).
The kind word makes leaves of different kinds differ even when digest and aux coincide, so
one tree can mix kinds and a ledger entry can never be passed off as an activity record.
All three fields are static words, so the encoding is plain concatenation — no eth-abi.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from sha3 import keccak_256

from verifier.errors import InvalidLeafValue
from verifier.protocol.typed_data import ActivityRecord, Domain, record_digest

__all__ = [
    "LEAF_ENCODING",
    "Leaf",
    "LeafKind",
    "activity_record_leaf",
    "leaf_hash",
]

LEAF_ENCODING: tuple[str, str, str] = ("uint8", "bytes32", "bytes32")
_ZERO_31 = bytes(31)


class LeafKind(IntEnum):
    """The kind tag, the first word of every leaf. Values are protocol constants: never reuse
    or renumber one. ``digest`` and ``aux`` mean, per kind:"""

    #: A device-signed activity record. digest = its EIP-712 digest (record_digest);
    #: aux = keccak256(65-byte signature r‖s‖v), binding the exact signature anchored.
    ACTIVITY_RECORD = 1
    #: A ledger entry (an accounted figure). digest = keccak256 of the entry's canonical
    #: (RFC 8785) JSON; aux = kind-defined by the accounting layer, zero when unused.
    LEDGER_ENTRY = 2
    #: An identifier-registry event (register, update, revoke of an enterprise, facility,
    #: source, device, …). digest = keccak256 of the event's canonical JSON; aux as defined there.
    REGISTRY_EVENT = 3
    #: An emission-factor set. digest = the factor set's canonical digest; aux zero unless its
    #: layer defines one.
    FACTOR_SET = 4
    #: A carbon-asset operation (issue, transfer, retire, surrender). digest = its EIP-712
    #: digest (asset_ops.asset_operation_digest); aux = keccak256(65-byte signature r‖s‖v).
    ASSET_OPERATION = 5
    # 255 is taken: the kind word of a manifest section's leaf (``manifest.py``), which sits
    # in a batch's manifest tree, never in the batch tree itself.


def _check_word(name: str, value: object) -> bytes:
    if not isinstance(value, bytes) or len(value) != 32:
        raise InvalidLeafValue(f"{name} must be 32 bytes")
    return value


def leaf_hash(kind: int, digest: bytes, aux: bytes) -> bytes:
    """``keccak256(keccak256(uint8(kind) ‖ digest ‖ aux))`` with the kind left-padded to 32
    bytes — the ``standard-v1`` leaf hash of ``[kind, digest, aux]``, in two keccak calls."""
    if isinstance(kind, bool) or not isinstance(kind, int) or not 0 <= kind < 256:
        raise InvalidLeafValue("kind must fit uint8")
    encoded = _ZERO_31 + bytes((kind,)) + _check_word("digest", digest) + _check_word("aux", aux)
    return keccak_256(keccak_256(encoded).digest()).digest()


@dataclass(frozen=True)
class Leaf:
    """One protocol leaf. ``kind`` must be a known :class:`LeafKind`."""

    kind: LeafKind
    digest: bytes
    aux: bytes = bytes(32)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", LeafKind(self.kind))
        except ValueError:
            raise InvalidLeafValue(f"unknown leaf kind {self.kind!r}") from None
        _check_word("digest", self.digest)
        _check_word("aux", self.aux)

    def encode(self) -> bytes:
        """The 96-byte ``abi.encode(uint8, bytes32, bytes32)``."""
        return _ZERO_31 + bytes((self.kind,)) + self.digest + self.aux

    def hash(self) -> bytes:
        return keccak_256(keccak_256(self.encode()).digest()).digest()

    def value(self) -> tuple[int, bytes, bytes]:
        """The value tuple for ``StandardMerkleTree.of(values, LEAF_ENCODING)``."""
        return (int(self.kind), self.digest, self.aux)

    def to_json(self) -> list[Any]:
        """The ``standard-v1`` dump form: ``["<kind decimal>", "0x<digest>", "0x<aux>"]``."""
        return [str(int(self.kind)), "0x" + self.digest.hex(), "0x" + self.aux.hex()]

    @classmethod
    def from_value(cls, value: Iterable[Any]) -> Leaf:
        """Read a ``[kind, digest, aux]`` value in native or dump JSON form."""
        kind, digest, aux = value
        if isinstance(kind, str) and kind.isascii() and kind.isdigit():
            kind = int(kind)
        return cls(kind, _word_from(digest, "digest"), _word_from(aux, "aux"))


def _word_from(value: object, name: str) -> bytes:
    if isinstance(value, str) and value[:2] in ("0x", "0X"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            raise InvalidLeafValue(f"{name} is not valid hex") from None
    return _check_word(name, value)


def activity_record_leaf(domain: Domain, record: ActivityRecord, signature: bytes) -> Leaf:
    """The leaf anchoring a signed record: ``[1, record_digest, keccak256(signature)]``.

    The signature is hashed as given (65 bytes); normalise v before storing (see
    ``typed_data.normalize_signature``) so one record has one leaf.
    """
    if len(signature) != 65:
        raise InvalidLeafValue("signature must be 65 bytes")
    aux = keccak_256(bytes(signature)).digest()
    return Leaf(LeafKind.ACTIVITY_RECORD, record_digest(domain, record), aux)

"""Exceptions raised by the protocol primitives.

Each failure a verifier may need to name has its own class; all derive from
:class:`VerifierError` so callers can catch the family at once.
"""

from __future__ import annotations


class VerifierError(Exception):
    """Base class of every error raised by the ``verifier`` package."""


# --- signatures -----------------------------------------------------------------------------


class SignatureError(VerifierError):
    """A signature could not be accepted."""


class MalformedSignature(SignatureError):
    """Not 65 bytes, or r / s outside [1, n-1]."""


class InvalidRecoveryId(SignatureError):
    """The trailing byte ``v`` is not 27 or 28."""


class MalleableSignature(SignatureError):
    """``s`` is in the upper half of the curve order (EIP-2): a second encoding of a signature."""


class UnrecoverableSignature(SignatureError):
    """Well-formed, but no public key recovers from it for this digest."""


# --- typed data / records --------------------------------------------------------------------


class InvalidRecord(VerifierError, ValueError):
    """A field of an activity record or EIP-712 domain is out of its type's range."""


# --- Merkle trees ----------------------------------------------------------------------------


class MerkleError(VerifierError):
    """A Merkle tree, proof or dump could not be accepted."""


class MalformedNode(MerkleError, ValueError):
    """A node, leaf hash or root is not exactly 32 bytes."""


class InvalidMultiproof(MerkleError):
    """The multiproof breaks OpenZeppelin's structural rules (lengths, consumption)."""


class EmptyMultiproof(InvalidMultiproof):
    """A multiproof with no leaves proves nothing; OpenZeppelin would accept ``proof=[root]``."""


class InvalidTree(MerkleError):
    """A node array or dump is inconsistent (a node is not the hash of its children, a value's
    leaf hash is not at its ``treeIndex``, a bad length or format)."""


class InvalidLeafValue(MerkleError, ValueError):
    """A leaf value does not fit its ABI type."""


class LeafNotFound(MerkleError, LookupError):
    """The requested leaf hash is not in the tree."""


# --- carbon assets ---------------------------------------------------------------------------


class InvalidAssetOperation(InvalidRecord):
    """A field of a carbon-asset operation is out of its type's range or shape."""


class AssetRuleError(VerifierError, ValueError):
    """An asset operation breaks a lot's rules. ``code`` is a stable machine-readable name,
    ``field`` the operation's message field at fault; each code has its own subclass in
    :mod:`verifier.protocol.lot_rules`."""

    code: str = "asset_rule"

    def __init__(self, message: str, field: str) -> None:
        super().__init__(f"{self.code}: {message}")
        self.message = message
        self.field = field

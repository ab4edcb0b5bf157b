"""One exception family for the verifier.

Every error derives from :class:`VerifierError` and carries a machine-readable ``code``, so a
caller can catch the family at once and still tell failures apart without matching messages.

The protocol primitives (signatures, typed data, Merkle trees, asset operations) raise the
subclasses below. A proof check that fails raises :class:`VerificationFailure`, one type for
every way a check can fail: which check failed and how are data on the instance, and ``code``
is the name the ``failure`` field of ``carbon-verify --json`` has always carried.
"""

from __future__ import annotations


class VerifierError(Exception):
    """Base class of every error raised by the ``verifier`` package."""

    code: str = "verifier_error"


class VerificationFailure(VerifierError):
    """A check failed. ``check`` is the check's stable name (``"signature"``), ``code`` how it
    failed (``"SignatureMismatch"``), ``reason`` the sentence a person reads. A replayed asset
    operation that breaks a lot rule also names the ``rule`` and the operation's ``index``."""

    def __init__(
        self,
        check: str,
        code: str,
        reason: str,
        *,
        rule: str | None = None,
        index: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.check = check
        self.code = code
        self.reason = reason
        self.rule = rule
        self.index = index

    def __repr__(self) -> str:
        return f"VerificationFailure({self.check!r}, {self.code!r}, {self.reason!r})"


class RegisterError(VerifierError):
    """A record's cumulative-register attributes are malformed or incomplete
    (``verifier.protocol.registers``); ``field`` names the attribute."""

    code = "invalid_register"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# --- signatures -----------------------------------------------------------------------------


class SignatureError(VerifierError):
    """A signature could not be accepted."""

    code = "signature_error"


class MalformedSignature(SignatureError):
    """Not 65 bytes, or r / s outside [1, n-1]."""

    code = "malformed_signature"


class InvalidRecoveryId(SignatureError):
    """The trailing byte ``v`` is not 27 or 28."""

    code = "invalid_recovery_id"


class MalleableSignature(SignatureError):
    """``s`` is in the upper half of the curve order (EIP-2): a second encoding of a signature."""

    code = "malleable_signature"


class UnrecoverableSignature(SignatureError):
    """Well-formed, but no public key recovers from it for this digest."""

    code = "unrecoverable_signature"


# --- typed data / records --------------------------------------------------------------------


class InvalidRecord(VerifierError, ValueError):
    """A field of an activity record or EIP-712 domain is out of its type's range."""

    code = "invalid_record"


# --- Merkle trees ----------------------------------------------------------------------------


class MerkleError(VerifierError):
    """A Merkle tree, proof or dump could not be accepted."""

    code = "merkle_error"


class MalformedNode(MerkleError, ValueError):
    """A node, leaf hash or root is not exactly 32 bytes."""

    code = "malformed_node"


class InvalidMultiproof(MerkleError):
    """The multiproof breaks OpenZeppelin's structural rules (lengths, consumption)."""

    code = "invalid_multiproof"


class EmptyMultiproof(InvalidMultiproof):
    """A multiproof with no leaves proves nothing; OpenZeppelin would accept ``proof=[root]``."""

    code = "empty_multiproof"


class InvalidTree(MerkleError):
    """A node array or dump is inconsistent (a node is not the hash of its children, a value's
    leaf hash is not at its ``treeIndex``, a bad length or format)."""

    code = "invalid_tree"


class InvalidLeafValue(MerkleError, ValueError):
    """A leaf value does not fit its ABI type."""

    code = "invalid_leaf_value"


class LeafNotFound(MerkleError, LookupError):
    """The requested leaf hash is not in the tree."""

    code = "leaf_not_found"


# --- carbon assets ---------------------------------------------------------------------------


class InvalidAssetOperation(InvalidRecord):
    """A field of a carbon-asset operation is out of its type's range or shape."""

    code = "invalid_asset_operation"


class AssetRuleError(VerifierError, ValueError):
    """An asset operation breaks a lot's rules. ``code`` is a stable machine-readable name,
    ``field`` the operation's message field at fault; each code has its own subclass in
    :mod:`verifier.protocol.lot_rules`."""

    code = "asset_rule"

    def __init__(self, message: str, field: str) -> None:
        super().__init__(f"{self.code}: {message}")
        self.message = message
        self.field = field

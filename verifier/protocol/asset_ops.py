"""EIP-712 typed data for carbon-asset operations on a lot: issue, transfer, accept, reject,
reclaim, retire, surrender.

A lot is one issuance in an external registry: a contiguous serial range ``[first, last]``
under a serial prefix, of one programme and vintage; one serial is one tCO2e. A lot's issue is
signed by its programme's issuer key; every later operation by the enterprise that holds (or,
for accept and reject, is offered) the serials; each is anchored as a kind-5 leaf.

Type string (``encodeType``, one line, no spaces but between type and name)::

    AssetOperation(string action,string asset,string program,uint16 vintage,
                   string serialPrefix,uint64 first,uint64 last,string owner,
                   string recipient,bytes32 prev,string reference,uint64 timestamp)

The domain is the activity records' (:class:`~verifier.protocol.typed_data.Domain`:
``carbon-ledger``, version ``1``, chainId, verifyingContract), so an operation cannot be
replayed on another chain or deployment.
``digest = keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct(op))`` (the protocol's one
envelope, :func:`~verifier.protocol.typed_data.typed_digest`) with ``hashStruct`` over 13 words
(type hash + 12 fields). The leaf is
``[5, digest, keccak256(r ‖ s ‖ v)]``.

This module checks each field's own range and shape only. Rules that relate fields or depend on
the lot's history (``first <= last``, who may be recipient, the ``prev`` link) live in
:mod:`verifier.protocol.lot_rules`, so that they are reported with their machine-readable codes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import coincurve
from sha3 import keccak_256

from verifier.errors import InvalidAssetOperation
from verifier.protocol.keccak import keccak256
from verifier.protocol.leaves import Leaf, LeafKind
from verifier.protocol.typed_data import (
    Domain,
    encode_type,
    parse_typed_document,
    sign_digest,
    typed_digest,
    typed_document,
)

__all__ = [
    "ACTIONS",
    "ASSET_OPERATION_FIELDS",
    "ASSET_OPERATION_TYPE",
    "ASSET_OPERATION_TYPE_STRING",
    "MAX_IDENTIFIER_CHARS",
    "MAX_REFERENCE_CHARS",
    "PROGRAM_PATTERN",
    "VINTAGE_RANGE",
    "ZERO_PREV",
    "AssetOperation",
    "asset_operation_digest",
    "asset_operation_leaf",
    "asset_typed_data",
    "parse_asset_typed_data",
    "sign_asset_operation",
]

ASSET_OPERATION_TYPE = "AssetOperation"
ASSET_OPERATION_FIELDS: list[dict[str, str]] = [
    {"name": "action", "type": "string"},
    {"name": "asset", "type": "string"},
    {"name": "program", "type": "string"},
    {"name": "vintage", "type": "uint16"},
    {"name": "serialPrefix", "type": "string"},
    {"name": "first", "type": "uint64"},
    {"name": "last", "type": "uint64"},
    {"name": "owner", "type": "string"},
    {"name": "recipient", "type": "string"},
    {"name": "prev", "type": "bytes32"},
    {"name": "reference", "type": "string"},
    {"name": "timestamp", "type": "uint64"},
]
ASSET_OPERATION_TYPE_STRING = encode_type(
    ASSET_OPERATION_TYPE, {ASSET_OPERATION_TYPE: ASSET_OPERATION_FIELDS}
)
_TYPE_HASH = keccak256(ASSET_OPERATION_TYPE_STRING.encode("ascii"))

ACTIONS: tuple[str, ...] = (
    "issue",
    "transfer",
    "accept",
    "reject",
    "reclaim",
    "retire",
    "surrender",
)
ZERO_PREV = bytes(32)
VINTAGE_RANGE = range(2000, 2101)
MAX_IDENTIFIER_CHARS = 128
MAX_REFERENCE_CHARS = 512
#: A programme's code (CEA, CCER, …): what its issuer key is registered under.
PROGRAM_PATTERN = r"[A-Z][A-Z0-9-]{1,15}"
_PROGRAM = re.compile(PROGRAM_PATTERN)
# ASCII only: the prefix is compared byte for byte with the external registry's, and a Unicode
# look-alike would make two different blocks of serials read the same.
_SERIAL_PREFIX = re.compile(r"[\x20-\x7e]{1,64}")
_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}")
_UINT64 = 1 << 64


def _utf8(name: str, value: object, *, min_chars: int, max_chars: int) -> str:
    if not isinstance(value, str) or not min_chars <= len(value) <= max_chars:
        raise InvalidAssetOperation(f"{name} must be a string of {min_chars}..{max_chars} chars")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8 form, hence no EIP-712 encoding
        raise InvalidAssetOperation(f"{name} must be UTF-8 encodable") from None
    return value


def _uint(name: str, value: object, limit: int, low: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < limit:
        raise InvalidAssetOperation(f"{name} must be an integer in [{low}, {limit})")


@dataclass(frozen=True)
class AssetOperation:
    """One signed operation on a lot. Field order is the EIP-712 field order.

    ``owner`` is the enterprise acting: for ``issue`` the recipient of the issuance (the
    programme's issuer key signs it), for ``accept`` and ``reject`` the enterprise a pending
    transfer is offered to, for ``reclaim`` the sender taking a pending transfer back, otherwise
    the current holder of the serials; it signs every operation but the issue. ``recipient``
    is the receiving enterprise of a ``transfer`` and ``""`` for every other action. ``prev``
    is the digest of the lot's previous operation (32 zero bytes for ``issue``).
    ``reference`` is the registry's issuance reference (issue), the beneficiary or purpose
    (retire), the compliance period (surrender), or free text.
    """

    action: str
    asset: str
    program: str
    vintage: int
    serial_prefix: str
    first: int
    last: int
    owner: str
    recipient: str
    prev: bytes
    reference: str
    timestamp: int

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise InvalidAssetOperation(f"action must be one of {', '.join(ACTIONS)}")
        _utf8("asset", self.asset, min_chars=1, max_chars=MAX_IDENTIFIER_CHARS)
        if not isinstance(self.program, str) or not _PROGRAM.fullmatch(self.program):
            raise InvalidAssetOperation("program must match ^[A-Z][A-Z0-9-]{1,15}$")
        _uint("vintage", self.vintage, VINTAGE_RANGE.stop, VINTAGE_RANGE.start)
        if not isinstance(self.serial_prefix, str) or not _SERIAL_PREFIX.fullmatch(
            self.serial_prefix
        ):
            raise InvalidAssetOperation("serialPrefix must be 1..64 printable ASCII chars")
        _uint("first", self.first, _UINT64)
        _uint("last", self.last, _UINT64)
        _utf8("owner", self.owner, min_chars=1, max_chars=MAX_IDENTIFIER_CHARS)
        _utf8("recipient", self.recipient, min_chars=0, max_chars=MAX_IDENTIFIER_CHARS)
        if not isinstance(self.prev, bytes) or len(self.prev) != 32:
            raise InvalidAssetOperation("prev must be 32 bytes")
        _utf8("reference", self.reference, min_chars=0, max_chars=MAX_REFERENCE_CHARS)
        _uint("timestamp", self.timestamp, _UINT64)

    @property
    def quantity(self) -> int:
        """Serials covered, in tCO2e; only meaningful once ``first <= last`` is checked."""
        return self.last - self.first + 1

    def to_message(self) -> dict[str, Any]:
        """The EIP-712 ``message``: integers as JSON integers, ``prev`` as 0x + 64 hex."""
        return {
            "action": self.action,
            "asset": self.asset,
            "program": self.program,
            "vintage": self.vintage,
            "serialPrefix": self.serial_prefix,
            "first": self.first,
            "last": self.last,
            "owner": self.owner,
            "recipient": self.recipient,
            "prev": "0x" + self.prev.hex(),
            "reference": self.reference,
            "timestamp": self.timestamp,
        }

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> AssetOperation:
        """Inverse of :meth:`to_message`. Integers may also be decimal strings, as some
        EIP-712 signers send them; the digest does not depend on the spelling."""
        if not isinstance(message, Mapping):
            raise InvalidAssetOperation("message must be an object")
        expected = {f["name"] for f in ASSET_OPERATION_FIELDS}
        if set(message) != expected:
            raise InvalidAssetOperation(f"message fields must be exactly {sorted(expected)}")
        prev = message["prev"]
        if not isinstance(prev, str) or not _HEX32.fullmatch(prev):
            raise InvalidAssetOperation("prev must be 0x + 64 hex digits")
        return cls(
            action=message["action"],
            asset=message["asset"],
            program=message["program"],
            vintage=_parse_uint("vintage", message["vintage"]),
            serial_prefix=message["serialPrefix"],
            first=_parse_uint("first", message["first"]),
            last=_parse_uint("last", message["last"]),
            owner=message["owner"],
            recipient=message["recipient"],
            prev=bytes.fromhex(prev[2:]),
            reference=message["reference"],
            timestamp=_parse_uint("timestamp", message["timestamp"]),
        )


def _parse_uint(name: str, value: object) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidAssetOperation(f"{name} must be an integer or a decimal string")


def _text(value: str) -> bytes:
    return keccak_256(value.encode("utf-8")).digest()


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def asset_operation_digest(domain: Domain, op: AssetOperation) -> bytes:
    """The EIP-712 digest of ``op`` under ``domain`` (see the module doc)."""
    body = b"".join(
        (
            _TYPE_HASH,
            _text(op.action),
            _text(op.asset),
            _text(op.program),
            _word(op.vintage),
            _text(op.serial_prefix),
            _word(op.first),
            _word(op.last),
            _text(op.owner),
            _text(op.recipient),
            op.prev,
            _text(op.reference),
            _word(op.timestamp),
        )
    )
    return typed_digest(domain, keccak256(body))


def asset_typed_data(domain: Domain, op: AssetOperation) -> dict[str, Any]:
    """The full ``eth_signTypedData_v4`` document ``{types, primaryType, domain, message}``."""
    return typed_document(domain, ASSET_OPERATION_TYPE, ASSET_OPERATION_FIELDS, op.to_message())


def parse_asset_typed_data(document: Mapping[str, Any]) -> tuple[Domain, AssetOperation]:
    """Read back a document from :func:`asset_typed_data`, refusing any other types or domain
    name and version, so a signature over a look-alike structure is never taken for an op."""
    domain, message = parse_typed_document(
        document, ASSET_OPERATION_TYPE, ASSET_OPERATION_FIELDS, InvalidAssetOperation
    )
    return domain, AssetOperation.from_message(message)


def asset_operation_leaf(domain: Domain, op: AssetOperation, signature: bytes) -> Leaf:
    """The leaf anchoring a signed operation: ``[5, digest, keccak256(signature)]``. The
    signature is hashed as given; normalise v to 27/28 before storing it, so one operation
    has one leaf."""
    if len(signature) != 65:
        raise InvalidAssetOperation("signature must be 65 bytes")
    aux = keccak256(bytes(signature))
    return Leaf(LeafKind.ASSET_OPERATION, asset_operation_digest(domain, op), aux)


def sign_asset_operation(
    private_key: bytes | coincurve.PrivateKey, domain: Domain, op: AssetOperation
) -> bytes:
    """65-byte ``r ‖ s ‖ v`` signature (v 27/28, low s) of :func:`asset_operation_digest`;
    the same bytes as ``Account.sign_typed_data`` over :func:`asset_typed_data`."""
    return sign_digest(private_key, asset_operation_digest(domain, op))

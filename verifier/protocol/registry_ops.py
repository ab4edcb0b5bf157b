"""EIP-712 typed data for an enterprise's registry operations, and the chain they form.

An enterprise's registry (its sources, its terminals and their bindings, rotations and
revocations, its industry and region, its signer key) changes only by operations the
enterprise signs with its own key; the ledger stores each as a registry event (a kind-3 leaf)
and anchors it. The first event of the chain is the registrar's enrolment
(``enterprise.registered``, index 0, unsigned): it names the enterprise's first signer key and
is the root of trust. Every later event names its index and the digest of the previous one, so
a history with an event left out no longer links.

Type string (``encodeType``, one line)::

    RegistryOperation(string action,string enterprise,string subject,string details,
                      uint64 index,bytes32 prev,uint64 effective)

``details`` is the RFC 8785 canonical JSON of the event's own fields (everything but
:data:`RESERVED`), so the event (:func:`signed_event`) is the signed message plus ``format``,
``version`` and ``signature``, and a verifier rebuilds the message from the event alone.
``effective`` is the time (unix seconds) from which the enterprise states the change holds; it
never decreases along the chain. The domain is the activity records' (name
``carbon-ledger``, version ``1``, chainId, verifyingContract).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import coincurve
import rfc8785
from sha3 import keccak_256

from verifier.errors import InvalidRecord
from verifier.protocol.events import (
    DEVICE_REGISTERED,
    DEVICE_REVOKED,
    DEVICE_ROTATED,
    ENTERPRISE_REGISTERED,
    ENTERPRISE_UPDATED,
    EVENT_FORMAT,
    EVENT_VERSION,
    REGISTRY_CHECKPOINT,
    SIGNER_SET,
    SOURCE_REGISTERED,
)
from verifier.protocol.keccak import keccak256
from verifier.protocol.typed_data import (
    Domain,
    encode_type,
    sign_digest,
    typed_digest,
    typed_document,
)

__all__ = [
    "DETAIL_FIELDS",
    "REGISTRY_OPERATION_FIELDS",
    "REGISTRY_OPERATION_TYPE",
    "RESERVED",
    "SIGNED_ACTIONS",
    "ZERO_PREV",
    "InvalidRegistryOperation",
    "RegistryOperation",
    "event_digest",
    "operation_of_event",
    "registry_operation_digest",
    "registry_typed_data",
    "sign_registry_operation",
    "signed_event",
]

REGISTRY_OPERATION_TYPE = "RegistryOperation"
REGISTRY_OPERATION_FIELDS: list[dict[str, str]] = [
    {"name": "action", "type": "string"},
    {"name": "enterprise", "type": "string"},
    {"name": "subject", "type": "string"},
    {"name": "details", "type": "string"},
    {"name": "index", "type": "uint64"},
    {"name": "prev", "type": "bytes32"},
    {"name": "effective", "type": "uint64"},
]
_TYPE_HASH = keccak256(
    encode_type(
        REGISTRY_OPERATION_TYPE, {REGISTRY_OPERATION_TYPE: REGISTRY_OPERATION_FIELDS}
    ).encode("ascii")
)

ZERO_PREV = bytes(32)
# The event's fields that are not part of ``details``: the envelope, the chain link and the
# signature itself.
RESERVED = frozenset(
    {"format", "version", "type", "subject", "at", "enterprise", "index", "prev", "effective"}
    | {"signature"}
)
# Exactly the detail fields each signed action carries (the enrolment is the registrar's).
DETAIL_FIELDS: dict[str, frozenset[str]] = {
    SOURCE_REGISTERED: frozenset({"name", "metadata"}),
    DEVICE_REGISTERED: frozenset({"sources", "metadata", "firstSeq"}),
    DEVICE_REVOKED: frozenset({"lastSeq", "reason"}),
    DEVICE_ROTATED: frozenset({"lastSeq", "successor"}),
    SIGNER_SET: frozenset({"signer"}),
    ENTERPRISE_UPDATED: frozenset({"industry", "region"}),
    REGISTRY_CHECKPOINT: frozenset(),
}
SIGNED_ACTIONS = tuple(DETAIL_FIELDS)
CHAIN_TYPES = frozenset({ENTERPRISE_REGISTERED, *SIGNED_ACTIONS})
_HEX32 = re.compile(r"0x[0-9a-fA-F]{64}")
_UINT64 = 1 << 64


class InvalidRegistryOperation(InvalidRecord):
    """A registry operation that is not well-formed (shape, range or canonical spelling)."""


def _uint(name: str, value: object) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _UINT64:
        raise InvalidRegistryOperation(f"{name} must be an integer in [0, 2**64)")
    return value


def _text(name: str, value: object, max_chars: int) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= max_chars:
        raise InvalidRegistryOperation(f"{name} must be a string of 1..{max_chars} chars")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidRegistryOperation(f"{name} must be UTF-8 encodable") from None
    return value


@dataclass(frozen=True)
class RegistryOperation:
    """One signed change to an enterprise's registry. Field order is the EIP-712 order."""

    action: str
    enterprise: str
    subject: str
    details: str
    index: int
    prev: bytes
    effective: int

    def __post_init__(self) -> None:
        if not isinstance(self.action, str) or self.action not in DETAIL_FIELDS:
            raise InvalidRegistryOperation(f"action must be one of {', '.join(SIGNED_ACTIONS)}")
        _text("enterprise", self.enterprise, 128)
        _text("subject", self.subject, 128)
        _text("details", self.details, 16_384)
        _uint("index", self.index)
        _uint("effective", self.effective)
        if self.index < 1:
            raise InvalidRegistryOperation("index 0 is the registrar's enrolment, never signed")
        if not isinstance(self.prev, bytes) or len(self.prev) != 32:
            raise InvalidRegistryOperation("prev must be 32 bytes")

    def detail_fields(self) -> dict[str, Any]:
        """``details`` read back; refused unless it is the canonical JSON of exactly the
        action's fields (one operation has one spelling, hence one digest)."""
        try:
            fields = json.loads(self.details)
        except (ValueError, RecursionError):
            raise InvalidRegistryOperation("details must be JSON") from None
        metadata = fields.get("metadata") if isinstance(fields, dict) else None
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidRegistryOperation("metadata must be an object or null")
        if not isinstance(fields, dict) or set(fields) != DETAIL_FIELDS[self.action]:
            expected = sorted(DETAIL_FIELDS[self.action])
            raise InvalidRegistryOperation(f"details of {self.action} must be exactly {expected}")
        try:
            canonical = rfc8785.dumps(fields).decode()
        except rfc8785.CanonicalizationError as exc:
            raise InvalidRegistryOperation(f"details have no canonical JSON: {exc}") from None
        if canonical != self.details:
            raise InvalidRegistryOperation("details must be RFC 8785 canonical JSON")
        return fields

    def to_message(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "enterprise": self.enterprise,
            "subject": self.subject,
            "details": self.details,
            "index": self.index,
            "prev": "0x" + self.prev.hex(),
            "effective": self.effective,
        }

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> RegistryOperation:
        if not isinstance(message, Mapping):
            raise InvalidRegistryOperation("operation must be an object")
        expected = {f["name"] for f in REGISTRY_OPERATION_FIELDS}
        if set(message) != expected:
            raise InvalidRegistryOperation(f"operation fields must be exactly {sorted(expected)}")
        prev = message["prev"]
        if not isinstance(prev, str) or not _HEX32.fullmatch(prev):
            raise InvalidRegistryOperation("prev must be 0x + 64 hex digits")
        return cls(
            action=message["action"],
            enterprise=message["enterprise"],
            subject=message["subject"],
            details=message["details"],
            index=_uint("index", message["index"]),
            prev=bytes.fromhex(prev[2:]),
            effective=_uint("effective", message["effective"]),
        )


def _string(value: str) -> bytes:
    return keccak_256(value.encode("utf-8")).digest()


def registry_operation_digest(domain: Domain, op: RegistryOperation) -> bytes:
    """``keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct(op))`` (8 words hashed)."""
    body = b"".join(
        (
            _TYPE_HASH,
            _string(op.action),
            _string(op.enterprise),
            _string(op.subject),
            _string(op.details),
            op.index.to_bytes(32, "big"),
            op.prev,
            op.effective.to_bytes(32, "big"),
        )
    )
    return typed_digest(domain, keccak256(body))


def registry_typed_data(domain: Domain, op: RegistryOperation) -> dict[str, Any]:
    """The full ``eth_signTypedData_v4`` document for any EIP-712 signer."""
    return typed_document(
        domain, REGISTRY_OPERATION_TYPE, REGISTRY_OPERATION_FIELDS, op.to_message()
    )


def sign_registry_operation(
    private_key: bytes | coincurve.PrivateKey, domain: Domain, op: RegistryOperation
) -> bytes:
    """65-byte ``r ‖ s ‖ v`` (v 27/28, low s), as ``Account.sign_typed_data`` would give."""
    return sign_digest(private_key, registry_operation_digest(domain, op))


def signed_event(op: RegistryOperation, signature: bytes) -> dict[str, Any]:
    """The registry event that records a signed operation, exactly: the ledger stores this and
    nothing else (no ledger time), so the signer knows its digest, the next ``prev``, before
    the ledger answers."""
    return {
        "format": EVENT_FORMAT,
        "version": EVENT_VERSION,
        "type": op.action,
        "subject": op.subject,
        "enterprise": op.enterprise,
        "index": op.index,
        "prev": "0x" + op.prev.hex(),
        "effective": op.effective,
        "signature": "0x" + bytes(signature).hex(),
        **op.detail_fields(),
    }


def event_digest(event: Mapping[str, Any]) -> bytes:
    """A registry event's digest: keccak256 of its canonical JSON (its kind-3 leaf digest)."""
    return keccak256(rfc8785.dumps(dict(event)))


def operation_of_event(event: Mapping[str, Any]) -> tuple[RegistryOperation, bytes]:
    """The signed operation an event records, and its signature, rebuilt from the event."""
    signature = event.get("signature")
    if not isinstance(signature, str) or not re.fullmatch(r"0x[0-9a-fA-F]{130}", signature):
        raise InvalidRegistryOperation("the event carries no 65-byte signature")
    details = {k: v for k, v in event.items() if k not in RESERVED}
    try:
        text = rfc8785.dumps(details).decode()
    except rfc8785.CanonicalizationError as exc:
        raise InvalidRegistryOperation(f"details have no canonical JSON: {exc}") from None
    prev = event.get("prev")
    if not isinstance(prev, str) or not _HEX32.fullmatch(prev):
        raise InvalidRegistryOperation("prev must be 0x + 64 hex digits")
    op = RegistryOperation(
        action=event.get("type"),  # type: ignore[arg-type]
        enterprise=event.get("enterprise"),  # type: ignore[arg-type]
        subject=event.get("subject"),  # type: ignore[arg-type]
        details=text,
        index=_uint("index", event.get("index")),
        prev=bytes.fromhex(prev[2:]),
        effective=_uint("effective", event.get("effective")),
    )
    op.detail_fields()
    return op, bytes.fromhex(signature[2:])

"""EIP-712 typed data for an enterprise's publication (and withdrawal) of one evaluation.

Publishing lets anyone fetch an evaluation's figure proof from the public page its 碳效码
opens. It is the enterprise's statement, not the ledger's: the enterprise's registry key (the
signer its signed registry chain names) signs it, and the ledger anchors it, so a publication
the operator made (unsigned, or signed by any other key) fails the verifier's ``publication``
check.

Type string (``encodeType``, one line)::

    EvaluationPublication(string action,string enterprise,string evaluation,bytes32 entry,
                          uint64 index,bytes32 prev,uint64 at)

``action`` is ``publish`` or ``withdraw``; ``entry`` the digest of the evaluation entry (its
kind-2 leaf digest), so a statement is about one exact entry; ``index`` counts the statements
about this evaluation from 1, and ``prev`` is the digest of the one before (zero for the
first), so a statement cannot be replayed after a later one; ``at`` the signer's time (unix
seconds). The domain is the activity records'.

The statement is anchored as a registry event (kind-3 leaf) of type :data:`PUBLISHED` or
:data:`WITHDRAWN`, subject the evaluation, whose body carries the ``publication`` message and
its ``signature`` and no ledger time, so the signer knows its digest (the next ``prev``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import coincurve

from verifier.errors import InvalidRecord
from verifier.protocol.events import EVENT_FORMAT, EVENT_VERSION
from verifier.protocol.typed_data import (
    Domain,
    hash_struct,
    sign_digest,
    typed_digest,
    typed_document,
)

__all__ = [
    "ACTIONS",
    "PUBLICATION_FIELDS",
    "PUBLICATION_TYPE",
    "PUBLISHED",
    "WITHDRAWN",
    "ZERO_PREV",
    "Publication",
    "publication_digest",
    "publication_event",
    "publication_typed_data",
    "sign_publication",
]

PUBLISHED = "evaluation.published"
WITHDRAWN = "evaluation.withdrawn"
ACTIONS: dict[str, str] = {"publish": PUBLISHED, "withdraw": WITHDRAWN}
PUBLICATION_TYPE = "EvaluationPublication"
PUBLICATION_FIELDS: list[dict[str, str]] = [
    {"name": "action", "type": "string"},
    {"name": "enterprise", "type": "string"},
    {"name": "evaluation", "type": "string"},
    {"name": "entry", "type": "bytes32"},
    {"name": "index", "type": "uint64"},
    {"name": "prev", "type": "bytes32"},
    {"name": "at", "type": "uint64"},
]
_TYPES = {PUBLICATION_TYPE: PUBLICATION_FIELDS}
ZERO_PREV = "0x" + "00" * 32
_HEX32 = re.compile(r"0x[0-9a-f]{64}")
_UINT64 = 1 << 64


def _uint(name: str, value: object) -> int:
    """An unsigned 64-bit integer, from a JSON number or a decimal string (one spelling)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        if value != str(int(value)):
            raise InvalidRecord(f"{name} must be written without leading zeros")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _UINT64:
        raise InvalidRecord(f"{name} must be an integer in [0, 2**64)")
    return value


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= 128:
        raise InvalidRecord(f"{name} must be a string of 1..128 chars")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate has no EIP-712 encoding
        raise InvalidRecord(f"{name} must be UTF-8 encodable") from None
    return value


def _hex32(name: str, value: object) -> str:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise InvalidRecord(f"{name} must be 0x + 64 lower-case hex digits")
    return value


@dataclass(frozen=True)
class Publication:
    """One statement, as signed. Field order is the EIP-712 field order; digests are
    lower-case 0x-hex, so one statement has one spelling."""

    action: str
    enterprise: str
    evaluation: str
    entry: str
    index: int
    prev: str
    at: int

    def __post_init__(self) -> None:
        if not isinstance(self.action, str) or self.action not in ACTIONS:
            raise InvalidRecord(f"action must be one of {', '.join(ACTIONS)}")
        _text("enterprise", self.enterprise)
        _text("evaluation", self.evaluation)
        _hex32("entry", self.entry)
        _hex32("prev", self.prev)
        _uint("index", self.index)
        _uint("at", self.at)
        if self.index < 1:
            raise InvalidRecord("index counts from 1")
        if (self.index == 1) != (self.prev == ZERO_PREV):
            raise InvalidRecord("prev is zero exactly for the first statement (index 1)")

    def to_message(self) -> dict[str, Any]:
        """The EIP-712 ``message``; integers as decimal strings, as for activity records."""
        return {
            "action": self.action,
            "enterprise": self.enterprise,
            "evaluation": self.evaluation,
            "entry": self.entry,
            "index": str(self.index),
            "prev": self.prev,
            "at": str(self.at),
        }

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> Publication:
        expected = {f["name"] for f in PUBLICATION_FIELDS}
        if not isinstance(message, Mapping) or set(message) != expected:
            raise InvalidRecord(f"publication fields must be exactly {sorted(expected)}")
        return cls(
            action=message["action"],
            enterprise=message["enterprise"],
            evaluation=message["evaluation"],
            entry=message["entry"],
            index=_uint("index", message["index"]),
            prev=message["prev"],
            at=_uint("at", message["at"]),
        )


def publication_digest(domain: Domain, publication: Publication) -> bytes:
    """``keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct(publication))``."""
    return typed_digest(domain, hash_struct(PUBLICATION_TYPE, _TYPES, publication.to_message()))


def publication_typed_data(domain: Domain, publication: Publication) -> dict[str, Any]:
    """The full ``eth_signTypedData_v4`` document a wallet signs."""
    return typed_document(domain, PUBLICATION_TYPE, PUBLICATION_FIELDS, publication.to_message())


def sign_publication(
    private_key: bytes | coincurve.PrivateKey, domain: Domain, publication: Publication
) -> bytes:
    """The enterprise's 65-byte signature (low s, v 27/28) of ``publication``."""
    return sign_digest(private_key, publication_digest(domain, publication))


def publication_event(publication: Publication, signature: bytes) -> dict[str, Any]:
    """The registry event that records a signed statement, exactly (no ledger time)."""
    return {
        "format": EVENT_FORMAT,
        "version": EVENT_VERSION,
        "type": ACTIONS[publication.action],
        "subject": publication.evaluation,
        "enterprise": publication.enterprise,
        "publication": publication.to_message(),
        "signature": "0x" + bytes(signature).hex(),
    }

"""EIP-712 typed data for an enterprise's declaration of a grading input it alone knows: the
added value (万元) of a period, which moves L, K and the grade and which no record proves.

Type string (``encodeType``)::

    AddedValueDeclaration(string enterprise,string periodStart,string periodEnd,
                          uint256 addedValue,uint8 decimals,uint64 declaredAt)

``periodStart`` / ``periodEnd`` are the evaluation's inclusive ISO dates; ``addedValue`` is the
value scaled by ``10**decimals`` (1234.5 万元 is 12345 with decimals 1), as an activity record's
quantity; ``declaredAt`` is unix seconds, so a corrected declaration of the same period is a
new one and the later wins. The domain is the activity records' (chain and anchor contract).

The signed declaration is anchored as a registry event (kind-3 leaf) of type
:data:`ADDED_VALUE_DECLARED` whose subject is the enterprise and whose body carries the
``declaration`` message and its ``signature``.

A third-party verifier may countersign a declaration (optional). An admin or regulator names
the countersigner's key in an anchored :data:`COUNTERSIGNER_SET` event (subject: the
countersigner's name, body ``signer``); the countersigner signs::

    DeclarationCountersignature(bytes32 declaration,string countersigner)

where ``declaration`` is the declaration's EIP-712 digest (:func:`declaration_digest`), so a
countersignature is of one declaration's exact enterprise, period, value and time, and
``countersigner`` its own name. It is anchored as an :data:`ADDED_VALUE_COUNTERSIGNED` event
(subject: the enterprise) naming the declaration's event digest (``declaration``), the signed
digest (``declarationDigest``), the ``countersigner`` and the ``signature``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import coincurve

from verifier.errors import InvalidRecord
from verifier.protocol.typed_data import (
    Domain,
    encode_type,
    hash_struct,
    sign_digest,
    typed_digest,
    typed_document,
)

__all__ = [
    "ADDED_VALUE_COUNTERSIGNED",
    "ADDED_VALUE_DECLARED",
    "COUNTERSIGNATURE_TYPE",
    "COUNTERSIGNER_SET",
    "DECLARATION_FIELDS",
    "DECLARATION_TYPE",
    "AddedValueDeclaration",
    "countersignature_digest",
    "declaration_digest",
    "declaration_typed_data",
    "sign_countersignature",
    "sign_declaration",
]

ADDED_VALUE_DECLARED = "enterprise.added_value_declared"
DECLARATION_TYPE = "AddedValueDeclaration"
DECLARATION_FIELDS: list[dict[str, str]] = [
    {"name": "enterprise", "type": "string"},
    {"name": "periodStart", "type": "string"},
    {"name": "periodEnd", "type": "string"},
    {"name": "addedValue", "type": "uint256"},
    {"name": "decimals", "type": "uint8"},
    {"name": "declaredAt", "type": "uint64"},
]
_TYPES = {DECLARATION_TYPE: DECLARATION_FIELDS}
ADDED_VALUE_COUNTERSIGNED = "enterprise.added_value_countersigned"
COUNTERSIGNER_SET = "verifier.countersigner_set"
COUNTERSIGNATURE_TYPE = "DeclarationCountersignature"
_COUNTER_TYPES = {
    COUNTERSIGNATURE_TYPE: [
        {"name": "declaration", "type": "bytes32"},
        {"name": "countersigner", "type": "string"},
    ]
}
DECLARATION_TYPE_STRING = encode_type(DECLARATION_TYPE, _TYPES)
_MAX_DECIMALS = 18
_UINT_LIMITS = {"addedValue": 1 << 256, "decimals": _MAX_DECIMALS + 1, "declaredAt": 1 << 64}


def _uint(name: str, value: object) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _UINT_LIMITS[name]:
        raise InvalidRecord(f"{name} must be an integer in [0, {_UINT_LIMITS[name]})")
    return value


def _iso_date(name: str, value: object) -> date:
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRecord(f"{name} must be an ISO date YYYY-MM-DD") from None


@dataclass(frozen=True)
class AddedValueDeclaration:
    """One declaration, as signed. Field order is the EIP-712 field order."""

    enterprise: str
    period_start: date
    period_end: date
    added_value: int
    decimals: int
    declared_at: int

    def __post_init__(self) -> None:
        if not isinstance(self.enterprise, str) or not 1 <= len(self.enterprise) <= 128:
            raise InvalidRecord("enterprise must be a string of 1..128 chars")
        try:
            self.enterprise.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate has no EIP-712 encoding
            raise InvalidRecord("enterprise must be UTF-8 encodable") from None
        _uint("addedValue", self.added_value)
        _uint("decimals", self.decimals)
        _uint("declaredAt", self.declared_at)
        if self.added_value == 0:
            raise InvalidRecord("addedValue must be positive: L divides by it")
        if self.period_end < self.period_start:
            raise InvalidRecord("periodEnd is before periodStart")

    @property
    def value(self) -> Decimal:
        """The declared added value in 万元, exactly."""
        return Decimal(self.added_value).scaleb(-self.decimals)

    def to_message(self) -> dict[str, Any]:
        """The EIP-712 ``message``; integers as decimal strings, as for activity records."""
        return {
            "enterprise": self.enterprise,
            "periodStart": self.period_start.isoformat(),
            "periodEnd": self.period_end.isoformat(),
            "addedValue": str(self.added_value),
            "decimals": str(self.decimals),
            "declaredAt": str(self.declared_at),
        }

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> AddedValueDeclaration:
        expected = {f["name"] for f in DECLARATION_FIELDS}
        if not isinstance(message, Mapping) or set(message) != expected:
            raise InvalidRecord(f"declaration fields must be exactly {sorted(expected)}")
        return cls(
            enterprise=message["enterprise"],
            period_start=_iso_date("periodStart", message["periodStart"]),
            period_end=_iso_date("periodEnd", message["periodEnd"]),
            added_value=_uint("addedValue", message["addedValue"]),
            decimals=_uint("decimals", message["decimals"]),
            declared_at=_uint("declaredAt", message["declaredAt"]),
        )

    @classmethod
    def of(
        cls, enterprise: str, start: date, end: date, value: Decimal, declared_at: int
    ) -> AddedValueDeclaration:
        """The declaration of ``value`` 万元, scaled by as many decimals as it has."""
        sign, _, exponent = value.normalize().as_tuple()
        if sign or not isinstance(exponent, int):
            raise InvalidRecord("addedValue must be a finite positive decimal")
        decimals = max(0, -exponent)
        scaled = int(value.scaleb(decimals))
        return cls(enterprise, start, end, scaled, decimals, declared_at)


def declaration_digest(domain: Domain, declaration: AddedValueDeclaration) -> bytes:
    """``keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct(declaration))``."""
    return typed_digest(domain, hash_struct(DECLARATION_TYPE, _TYPES, declaration.to_message()))


def declaration_typed_data(domain: Domain, declaration: AddedValueDeclaration) -> dict[str, Any]:
    """The full ``eth_signTypedData_v4`` document a wallet signs."""
    return typed_document(domain, DECLARATION_TYPE, DECLARATION_FIELDS, declaration.to_message())


def sign_declaration(
    private_key: bytes | coincurve.PrivateKey, domain: Domain, declaration: AddedValueDeclaration
) -> bytes:
    """The enterprise's 65-byte signature (low s, v 27/28) of ``declaration``."""
    return sign_digest(private_key, declaration_digest(domain, declaration))


def countersignature_digest(domain: Domain, declaration: bytes, countersigner: str) -> bytes:
    """The digest a countersigner signs: its name over the declaration's EIP-712 digest."""
    if len(declaration) != 32 or not 1 <= len(countersigner) <= 128:
        raise InvalidRecord("a countersignature names a 32-byte digest and a 1..128 char name")
    message = {"declaration": "0x" + declaration.hex(), "countersigner": countersigner}
    return typed_digest(domain, hash_struct(COUNTERSIGNATURE_TYPE, _COUNTER_TYPES, message))


def sign_countersignature(
    private_key: bytes | coincurve.PrivateKey, domain: Domain, declaration: bytes, name: str
) -> bytes:
    """A countersigner's 65-byte signature of the declaration with EIP-712 digest
    ``declaration``."""
    return sign_digest(private_key, countersignature_digest(domain, declaration, name))

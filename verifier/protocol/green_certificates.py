"""EIP-712 typed data for an enterprise's claim of green electricity certificates (绿证) against
the electricity it bought in one reporting period: the evidence behind a market-based Scope 2
figure (GHG Protocol Scope 2 Guidance, 2015).

Type string (``encodeType``, one line)::

    GreenCertificateClaim(string enterprise,string periodStart,string periodEnd,
                          string programme,string serialPrefix,uint64 firstSerial,
                          uint64 lastSerial,uint64 mwh,string vintageStart,string vintageEnd,
                          string technology,bytes32 attachmentHash,uint64 claimedAt)

One claim is one contiguous serial range ``[firstSerial, lastSerial]`` under ``serialPrefix`` of
``programme`` (``GEC``: the national green electricity certificate, one certificate per MWh of
renewable generation), so ``mwh`` is the number of serials and is checked to be. A firm
holding several ranges signs one claim per range. ``periodStart`` / ``periodEnd`` are the
evaluation's inclusive ISO dates; ``vintageStart`` / ``vintageEnd`` the generation period the
certificates were issued for; ``technology`` one of :data:`TECHNOLOGIES`;
``attachmentHash`` the keccak256 of the certificate documents (the platform's certificate
file or cancellation record), which stay with the enterprise; ``claimedAt`` unix seconds.
The domain is the activity records' (chain and anchor contract).

The signed claim is anchored as a registry event (kind-3 leaf) of type
:data:`GREEN_CERTIFICATES_CLAIMED` whose subject is the enterprise and whose body carries the
``claim`` message and its ``signature``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import coincurve

from verifier.errors import InvalidRecord
from verifier.protocol.typed_data import (
    Domain,
    hash_struct,
    sign_digest,
    typed_digest,
    typed_document,
)

__all__ = [
    "CLAIM_FIELDS",
    "CLAIM_TYPE",
    "GREEN_CERTIFICATES_CLAIMED",
    "PROGRAMMES",
    "TECHNOLOGIES",
    "GreenCertificateClaim",
    "claim_digest",
    "claim_typed_data",
    "sign_claim",
]

GREEN_CERTIFICATES_CLAIMED = "enterprise.green_certificates_claimed"
CLAIM_TYPE = "GreenCertificateClaim"
CLAIM_FIELDS: list[dict[str, str]] = [
    {"name": "enterprise", "type": "string"},
    {"name": "periodStart", "type": "string"},
    {"name": "periodEnd", "type": "string"},
    {"name": "programme", "type": "string"},
    {"name": "serialPrefix", "type": "string"},
    {"name": "firstSerial", "type": "uint64"},
    {"name": "lastSerial", "type": "uint64"},
    {"name": "mwh", "type": "uint64"},
    {"name": "vintageStart", "type": "string"},
    {"name": "vintageEnd", "type": "string"},
    {"name": "technology", "type": "string"},
    {"name": "attachmentHash", "type": "bytes32"},
    {"name": "claimedAt", "type": "uint64"},
]
_TYPES = {CLAIM_TYPE: CLAIM_FIELDS}
# MWh of generation one certificate stands for, by programme. GEC: 1 certificate per 1,000 kWh.
PROGRAMMES: dict[str, int] = {"GEC": 1}
# The generation GEC covers (国能发新能规〔2024〕67号, art. 2).
TECHNOLOGIES = ("wind", "solar", "hydro", "biomass", "geothermal", "ocean")
_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HASH = re.compile(r"0x[0-9a-f]{64}")
_UINT64 = 1 << 64


def _uint(name: str, value: object) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _UINT64:
        raise InvalidRecord(f"{name} must be an integer in [0, 2**64)")
    return value


def _iso_date(name: str, value: object) -> date:
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRecord(f"{name} must be an ISO date YYYY-MM-DD") from None


def _text(name: str, value: object, limit: int = 128) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= limit:
        raise InvalidRecord(f"{name} must be a string of 1..{limit} chars")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate has no EIP-712 encoding
        raise InvalidRecord(f"{name} must be UTF-8 encodable") from None
    return value


@dataclass(frozen=True)
class GreenCertificateClaim:
    """One claim, as signed. Field order is the EIP-712 field order."""

    enterprise: str
    period_start: date
    period_end: date
    programme: str
    serial_prefix: str
    first_serial: int
    last_serial: int
    mwh: int
    vintage_start: date
    vintage_end: date
    technology: str
    attachment_hash: str
    claimed_at: int

    def __post_init__(self) -> None:
        _text("enterprise", self.enterprise)
        if self.programme not in PROGRAMMES:
            raise InvalidRecord(f"programme must be one of {sorted(PROGRAMMES)}")
        if not isinstance(self.serial_prefix, str) or not _PREFIX.fullmatch(self.serial_prefix):
            raise InvalidRecord("serialPrefix must be 1..64 letters, digits, '.', '_' or '-'")
        for name in ("firstSerial", "lastSerial", "mwh", "claimedAt"):
            _uint(name, getattr(self, _snake(name)))
        if self.technology not in TECHNOLOGIES:
            raise InvalidRecord(f"technology must be one of {list(TECHNOLOGIES)}")
        if not isinstance(self.attachment_hash, str) or not _HASH.fullmatch(self.attachment_hash):
            raise InvalidRecord("attachmentHash must be 0x + 64 lowercase hex digits")
        if self.last_serial < self.first_serial:
            raise InvalidRecord("lastSerial is before firstSerial")
        if self.mwh != self.certificates * PROGRAMMES[self.programme]:
            raise InvalidRecord(
                f"mwh must be the {self.certificates} certificates of the range × "
                f"{PROGRAMMES[self.programme]} MWh"
            )
        if self.period_end < self.period_start or self.vintage_end < self.vintage_start:
            raise InvalidRecord("a period ends before it starts")

    @property
    def certificates(self) -> int:
        return self.last_serial - self.first_serial + 1

    def vintage_fits(self) -> bool:
        """The Guidance's vintage criterion as this ledger applies it: the certificates were
        generated within the calendar years of the reporting period."""
        return (
            self.vintage_start.year >= self.period_start.year
            and self.vintage_end.year <= self.period_end.year
        )

    def overlaps(self, other: GreenCertificateClaim) -> bool:
        """Whether the two claims name a common certificate."""
        return (
            (self.programme, self.serial_prefix) == (other.programme, other.serial_prefix)
            and self.first_serial <= other.last_serial
            and other.first_serial <= self.last_serial
        )

    def to_message(self) -> dict[str, Any]:
        """The EIP-712 ``message``; integers as decimal strings, as for activity records."""
        return {
            "enterprise": self.enterprise,
            "periodStart": self.period_start.isoformat(),
            "periodEnd": self.period_end.isoformat(),
            "programme": self.programme,
            "serialPrefix": self.serial_prefix,
            "firstSerial": str(self.first_serial),
            "lastSerial": str(self.last_serial),
            "mwh": str(self.mwh),
            "vintageStart": self.vintage_start.isoformat(),
            "vintageEnd": self.vintage_end.isoformat(),
            "technology": self.technology,
            "attachmentHash": self.attachment_hash,
            "claimedAt": str(self.claimed_at),
        }

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> GreenCertificateClaim:
        expected = {f["name"] for f in CLAIM_FIELDS}
        if not isinstance(message, Mapping) or set(message) != expected:
            raise InvalidRecord(f"claim fields must be exactly {sorted(expected)}")
        return cls(
            enterprise=message["enterprise"],
            period_start=_iso_date("periodStart", message["periodStart"]),
            period_end=_iso_date("periodEnd", message["periodEnd"]),
            programme=message["programme"],
            serial_prefix=message["serialPrefix"],
            first_serial=_uint("firstSerial", message["firstSerial"]),
            last_serial=_uint("lastSerial", message["lastSerial"]),
            mwh=_uint("mwh", message["mwh"]),
            vintage_start=_iso_date("vintageStart", message["vintageStart"]),
            vintage_end=_iso_date("vintageEnd", message["vintageEnd"]),
            technology=message["technology"],
            attachment_hash=message["attachmentHash"],
            claimed_at=_uint("claimedAt", message["claimedAt"]),
        )


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def claim_digest(domain: Domain, claim: GreenCertificateClaim) -> bytes:
    """``keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct(claim))``."""
    return typed_digest(domain, hash_struct(CLAIM_TYPE, _TYPES, claim.to_message()))


def claim_typed_data(domain: Domain, claim: GreenCertificateClaim) -> dict[str, Any]:
    """The full ``eth_signTypedData_v4`` document a wallet signs."""
    return typed_document(domain, CLAIM_TYPE, CLAIM_FIELDS, claim.to_message())


def sign_claim(
    private_key: bytes | coincurve.PrivateKey, domain: Domain, claim: GreenCertificateClaim
) -> bytes:
    """The enterprise's 65-byte signature (low s, v 27/28) of ``claim``."""
    return sign_digest(private_key, claim_digest(domain, claim))

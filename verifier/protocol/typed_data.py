"""EIP-712 typed data for the signed activity record, the envelope every signed struct of the
protocol shares (its digest, its signer's document), and a small generic EIP-712 encoder.

Type strings (``encodeType``)::

    EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)
    ActivityRecord(string enterprise,string source,address device,uint64 seq,string activity,
                   uint256 quantity,uint8 decimals,string unit,uint64 periodStart,
                   uint64 periodEnd,bytes32 attributesHash)          (one line, no spaces)

Byte layouts:

* ``domainSeparator = keccak256(typeHash(EIP712Domain) ‖ keccak256(name) ‖ keccak256(version)
  ‖ uint256(chainId) ‖ 12×00 ‖ verifyingContract)`` with name ``"carbon-ledger"``, version ``"1"``.
* ``hashStruct(record) = keccak256(typeHash(ActivityRecord) ‖ 11 words)``: each ``string`` is
  ``keccak256(utf8)``, ``address`` is left-padded to 32 bytes, uints are 32-byte big-endian,
  ``bytes32`` as is — 12×32 = 384 bytes hashed.
* ``digest = keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct(record))`` (66 bytes hashed):
  :func:`typed_digest`, as for every other struct the protocol signs (asset, registry and
  publication operations, declarations, countersignatures, certificate claims), whose modules
  build the ``{types, primaryType, domain, message}`` document with :func:`typed_document`.
* signature = ``r (32) ‖ s (32) ‖ v (1)``, ``v ∈ {27, 28}``, ``s ≤ n/2`` (EIP-2 low-s).

Only ``v`` 27/28 is accepted by :func:`recover_signer`: the signature bytes are hashed into the
record's leaf, so a second spelling (v 0/1) of one signature would give one record two leaves.
Signers that emit 0/1 go through :func:`normalize_signature` once, at ingest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import coincurve
import rfc8785
from sha3 import keccak_256

from verifier.errors import (
    InvalidRecord,
    InvalidRecoveryId,
    MalformedSignature,
    MalleableSignature,
    UnrecoverableSignature,
)
from verifier.protocol.keccak import keccak256, parse_address, to_checksum_address

__all__ = [
    "ACTIVITY_RECORD_FIELDS",
    "ACTIVITY_RECORD_TYPE",
    "DOMAIN_FIELDS",
    "DOMAIN_NAME",
    "DOMAIN_VERSION",
    "ActivityRecord",
    "Domain",
    "attributes_hash",
    "encode_type",
    "hash_struct",
    "normalize_signature",
    "parse_typed_data",
    "parse_typed_document",
    "record_digest",
    "recover_signer",
    "sign_digest",
    "sign_record",
    "typed_data",
    "typed_digest",
    "typed_document",
]

DOMAIN_NAME = "carbon-ledger"
DOMAIN_VERSION = "1"
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N = SECP256K1_N // 2

Fields = list[dict[str, str]]
DOMAIN_FIELDS: Fields = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
ACTIVITY_RECORD_FIELDS: Fields = [
    {"name": "enterprise", "type": "string"},
    {"name": "source", "type": "string"},
    {"name": "device", "type": "address"},
    {"name": "seq", "type": "uint64"},
    {"name": "activity", "type": "string"},
    {"name": "quantity", "type": "uint256"},
    {"name": "decimals", "type": "uint8"},
    {"name": "unit", "type": "string"},
    {"name": "periodStart", "type": "uint64"},
    {"name": "periodEnd", "type": "uint64"},
    {"name": "attributesHash", "type": "bytes32"},
]
ACTIVITY_RECORD_TYPE = "ActivityRecord"


# --- generic EIP-712: a reference path (no range checks); the record has a fast path below --

Types = Mapping[str, Sequence[Mapping[str, str]]]
_ARRAY = re.compile(r"^(.*)\[(\d*)\]$")


def _dependencies(primary: str, types: Types, found: set[str]) -> set[str]:
    if primary in found or primary not in types:
        return found
    found.add(primary)
    for field in types[primary]:
        base = field["type"].split("[", 1)[0]
        _dependencies(base, types, found)
    return found


def encode_type(primary: str, types: Types) -> str:
    """``Name(type name,…)`` followed by referenced struct types sorted by name."""
    deps = sorted(_dependencies(primary, types, set()) - {primary})
    return "".join(
        f"{name}(" + ",".join(f"{f['type']} {f['name']}" for f in types[name]) + ")"
        for name in [primary, *deps]
    )


def _int_word(type_: str, value: Any) -> bytes:
    number = int(value, 0) if isinstance(value, str) else int(value)
    return number.to_bytes(32, "big", signed=type_.startswith("int"))


def _bytes_value(value: Any) -> bytes:
    return bytes.fromhex(value[2:]) if isinstance(value, str) else bytes(value)


def _encode_value(type_: str, value: Any, types: Types) -> bytes:
    if type_ in types:
        return hash_struct(type_, types, value)
    array = _ARRAY.match(type_)
    if array:
        return keccak256(b"".join(_encode_value(array[1], v, types) for v in value))
    if type_ == "string":
        return keccak256(value.encode("utf-8"))
    if type_ == "bytes":
        return keccak256(_bytes_value(value))
    if type_ == "bool":
        return bytes(31) + (b"\1" if value else b"\0")
    if type_ == "address":
        return bytes(12) + parse_address(value)
    if type_.startswith(("uint", "int")):
        return _int_word(type_, value)
    if type_.startswith("bytes"):
        return _bytes_value(value).ljust(32, b"\0")
    raise ValueError(f"unsupported EIP-712 type {type_!r}")


def hash_struct(primary: str, types: Types, data: Mapping[str, Any]) -> bytes:
    """``keccak256(typeHash ‖ encodeData(data))`` per EIP-712."""
    type_hash = keccak256(encode_type(primary, types).encode("ascii"))
    words = b"".join(_encode_value(f["type"], data[f["name"]], types) for f in types[primary])
    return keccak256(type_hash + words)


# --- domain and record ----------------------------------------------------------------------


def _check_uint(name: str, value: object, bits: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << bits:
        raise InvalidRecord(f"{name} must be an integer in [0, 2**{bits})")


# A figure proof repeats a handful of enterprise, source, activity, unit and device strings over
# up to 100,000 records: the caches below keep checking and hashing them to once per string.
_REPEATED = 4096


@lru_cache(maxsize=_REPEATED)
def _utf8_ok(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@lru_cache(maxsize=_REPEATED)
def _checksummed(value: str) -> str:
    return to_checksum_address(parse_address(value))


def _checksum(name: str, value: object) -> str:
    try:
        if isinstance(value, str):
            return _checksummed(value)
        return to_checksum_address(parse_address(value))  # type: ignore[arg-type]
    except ValueError as exc:
        raise InvalidRecord(f"{name}: {exc}") from None


@lru_cache(maxsize=_REPEATED)
def _string_hash(text: str) -> bytes:
    """EIP-712 encodes a ``string`` member as the keccak of its UTF-8 bytes."""
    return keccak_256(text.encode()).digest()


@dataclass(frozen=True)
class Domain:
    """The EIP-712 domain, bound to one anchor contract on one chain. ``verifying_contract`` is
    stored in EIP-55 case; name and version are fixed by the protocol."""

    chain_id: int
    verifying_contract: str

    def __post_init__(self) -> None:
        _check_uint("chain_id", self.chain_id, 256)
        object.__setattr__(
            self, "verifying_contract", _checksum("verifying_contract", self.verifying_contract)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": self.chain_id,
            "verifyingContract": self.verifying_contract,
        }

    @cached_property
    def separator(self) -> bytes:
        """``hashStruct(EIP712Domain)``, computed once per domain."""
        return keccak256(
            _DOMAIN_TYPE_HASH
            + keccak256(DOMAIN_NAME.encode())
            + keccak256(DOMAIN_VERSION.encode())
            + self.chain_id.to_bytes(32, "big")
            + bytes(12)
            + bytes.fromhex(self.verifying_contract[2:])
        )


@dataclass(frozen=True)
class ActivityRecord:
    """One metered activity, signed at the source. Field order is the EIP-712 field order.

    ``quantity`` is the value scaled by ``10**decimals`` (12.5 kWh is quantity 125, decimals 1,
    unit "kWh"); ``period_start``/``period_end`` are unix seconds; ``attributes_hash`` is
    :func:`attributes_hash` of the template-defined extra attributes. Only type ranges are
    checked here; business rules (period order, known units) belong to their own layers.
    """

    enterprise: str
    source: str
    device: str
    seq: int
    activity: str
    quantity: int
    decimals: int
    unit: str
    period_start: int
    period_end: int
    attributes_hash: bytes = bytes(32)

    def __post_init__(self) -> None:
        for name in ("enterprise", "source", "activity", "unit"):
            value = getattr(self, name)
            # Lone surrogates have no UTF-8 form, hence no EIP-712 encoding: refuse them here.
            if not isinstance(value, str) or not _utf8_ok(value):
                raise InvalidRecord(f"{name} must be a UTF-8 encodable string")
        for name, bits in _UINT_BITS.items():
            _check_uint(name, getattr(self, name), bits)
        if not isinstance(self.attributes_hash, bytes) or len(self.attributes_hash) != 32:
            raise InvalidRecord("attributes_hash must be 32 bytes")
        object.__setattr__(self, "device", _checksum("device", self.device))

    def to_message(self) -> dict[str, Any]:
        """The EIP-712 ``message``: integers as decimal strings (uint64/uint256 exceed JS's
        2**53; eth-account, ethers and MetaMask all take decimal strings), bytes32 as 0x-hex."""
        return {
            "enterprise": self.enterprise,
            "source": self.source,
            "device": self.device,
            "seq": str(self.seq),
            "activity": self.activity,
            "quantity": str(self.quantity),
            "decimals": str(self.decimals),
            "unit": self.unit,
            "periodStart": str(self.period_start),
            "periodEnd": str(self.period_end),
            "attributesHash": "0x" + self.attributes_hash.hex(),
        }

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> ActivityRecord:
        """Inverse of :meth:`to_message`; integers may be JSON numbers or decimal strings."""
        expected = {f["name"] for f in ACTIVITY_RECORD_FIELDS}
        if set(message) != expected:
            raise InvalidRecord(f"message fields must be exactly {sorted(expected)}")
        hash_hex = message["attributesHash"]
        if not isinstance(hash_hex, str) or not re.fullmatch(r"0x[0-9a-fA-F]{64}", hash_hex):
            raise InvalidRecord("attributesHash must be 0x + 64 hex digits")
        return cls(
            enterprise=message["enterprise"],
            source=message["source"],
            device=message["device"],
            seq=_parse_uint("seq", message["seq"]),
            activity=message["activity"],
            quantity=_parse_uint("quantity", message["quantity"]),
            decimals=_parse_uint("decimals", message["decimals"]),
            unit=message["unit"],
            period_start=_parse_uint("periodStart", message["periodStart"]),
            period_end=_parse_uint("periodEnd", message["periodEnd"]),
            attributes_hash=bytes.fromhex(hash_hex[2:]),
        )


_UINT_BITS = {
    "seq": 64,
    "quantity": 256,
    "decimals": 8,
    "period_start": 64,
    "period_end": 64,
}

_DOMAIN_TYPE_HASH = keccak256(encode_type("EIP712Domain", {"EIP712Domain": DOMAIN_FIELDS}).encode())
_RECORD_TYPE_STRING = encode_type(
    ACTIVITY_RECORD_TYPE, {ACTIVITY_RECORD_TYPE: ACTIVITY_RECORD_FIELDS}
)
_RECORD_TYPE_HASH = keccak256(_RECORD_TYPE_STRING.encode())


def _parse_uint(name: str, value: object) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise InvalidRecord(f"{name} must be an integer or a decimal string")


def attributes_hash(attributes: Mapping[str, Any] | None) -> bytes:
    """``keccak256(RFC 8785 canonical JSON)`` of the extra attributes; 32 zero bytes when there
    are none (``None`` or an empty mapping), so "no attributes" has one spelling."""
    if not attributes:
        return bytes(32)
    return keccak256(rfc8785.dumps(dict(attributes)))


# --- the envelope every signed struct shares ------------------------------------------------


def typed_digest(domain: Domain, struct_hash: bytes) -> bytes:
    """``keccak256(0x19 ‖ 0x01 ‖ domainSeparator ‖ hashStruct)``: what is signed, for a struct
    of any type under ``domain``."""
    return keccak_256(b"\x19\x01" + domain.separator + struct_hash).digest()


def typed_document(
    domain: Domain, primary: str, fields: Sequence[Mapping[str, str]], message: dict[str, Any]
) -> dict[str, Any]:
    """The full ``eth_signTypedData_v4`` document ``{types, primaryType, domain, message}`` of a
    struct ``primary`` (which references no other struct), for any EIP-712 signer."""
    return {
        "types": {
            "EIP712Domain": [dict(f) for f in DOMAIN_FIELDS],
            primary: [dict(f) for f in fields],
        },
        "primaryType": primary,
        "domain": domain.as_dict(),
        "message": message,
    }


def parse_typed_document(
    document: Mapping[str, Any],
    primary: str,
    fields: Sequence[Mapping[str, str]],
    error: type[InvalidRecord] = InvalidRecord,
) -> tuple[Domain, Any]:
    """The domain and the raw message of a document from :func:`typed_document`, refusing (as
    ``error``) any other types or domain name and version, so a signature over a look-alike
    structure is never taken for a ``primary``."""
    expected = {"EIP712Domain": DOMAIN_FIELDS, primary: fields}
    if document.get("types") != expected or document.get("primaryType") != primary:
        raise error(f"types must be exactly EIP712Domain and {primary}")
    dom = document.get("domain")
    if not isinstance(dom, Mapping) or set(dom) != {f["name"] for f in DOMAIN_FIELDS}:
        raise error("domain must have name, version, chainId, verifyingContract")
    if dom["name"] != DOMAIN_NAME or dom["version"] != DOMAIN_VERSION:
        raise error(f"domain must be {DOMAIN_NAME!r} version {DOMAIN_VERSION!r}")
    try:
        domain = Domain(_parse_uint("chainId", dom["chainId"]), dom["verifyingContract"])
    except InvalidRecord as exc:
        raise error(str(exc)) from None
    return domain, document["message"]


# --- the record's document and digest -------------------------------------------------------


def typed_data(domain: Domain, record: ActivityRecord) -> dict[str, Any]:
    """The full EIP-712 document ``{types, primaryType, domain, message}`` for any signer."""
    return typed_document(domain, ACTIVITY_RECORD_TYPE, ACTIVITY_RECORD_FIELDS, record.to_message())


def parse_typed_data(document: Mapping[str, Any]) -> tuple[Domain, ActivityRecord]:
    """Read back a document from :func:`typed_data` (see :func:`parse_typed_document`)."""
    domain, message = parse_typed_document(document, ACTIVITY_RECORD_TYPE, ACTIVITY_RECORD_FIELDS)
    return domain, ActivityRecord.from_message(message)


def record_digest(domain: Domain, record: ActivityRecord) -> bytes:
    """The EIP-712 digest of ``record`` (see module doc), without a generic encoder."""
    r = record
    body = b"".join(
        (
            _RECORD_TYPE_HASH,
            _string_hash(r.enterprise),
            _string_hash(r.source),
            bytes(12),
            bytes.fromhex(r.device[2:]),
            r.seq.to_bytes(32, "big"),
            _string_hash(r.activity),
            r.quantity.to_bytes(32, "big"),
            r.decimals.to_bytes(32, "big"),
            _string_hash(r.unit),
            r.period_start.to_bytes(32, "big"),
            r.period_end.to_bytes(32, "big"),
            r.attributes_hash,
        )
    )
    return typed_digest(domain, keccak_256(body).digest())


# --- signatures -----------------------------------------------------------------------------


def sign_digest(private_key: bytes | coincurve.PrivateKey, digest: bytes) -> bytes:
    """Sign a 32-byte digest: ``r ‖ s ‖ v`` with v 27/28 and low s (libsecp256k1 with RFC 6979
    nonces, the same bytes as eth-account). Pass a ``coincurve.PrivateKey`` to sign many
    digests without re-deriving the public key each time."""
    if len(digest) != 32:
        raise ValueError("digest must be 32 bytes")
    key = (
        private_key
        if isinstance(private_key, coincurve.PrivateKey)
        else coincurve.PrivateKey(private_key)
    )
    raw = key.sign_recoverable(digest, hasher=None)
    return raw[:64] + bytes((raw[64] + 27,))


def sign_record(
    private_key: bytes | coincurve.PrivateKey, domain: Domain, record: ActivityRecord
) -> bytes:
    """65-byte signature of :func:`record_digest`; equals ``Account.sign_typed_data``."""
    return sign_digest(private_key, record_digest(domain, record))


def normalize_signature(signature: bytes) -> bytes:
    """Map a v of 0/1 to 27/28 (some hardware signers emit 0/1); leave 27/28 alone. Use once at
    ingest, before the signature is stored or hashed into a leaf."""
    if len(signature) != 65:
        raise MalformedSignature(f"signature must be 65 bytes, got {len(signature)}")
    v = signature[64]
    return signature[:64] + bytes((v + 27,)) if v in (0, 1) else bytes(signature)


def recover_address(digest: bytes, signature: bytes) -> bytes:
    """Recover the 20-byte address that signed ``digest`` (the hot path of every verifier).

    Raises :class:`MalformedSignature` (length, r or s outside [1, n-1]),
    :class:`InvalidRecoveryId` (v not 27/28), :class:`MalleableSignature` (s > n/2) or
    :class:`UnrecoverableSignature` (no key recovers). libsecp256k1 is called directly.
    """
    if len(digest) != 32:
        raise ValueError("digest must be 32 bytes")
    if len(signature) != 65:
        raise MalformedSignature(f"signature must be 65 bytes, got {len(signature)}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if not (0 < r < SECP256K1_N and 0 < s < SECP256K1_N):
        raise MalformedSignature("r and s must lie in [1, n-1]")
    if v not in (27, 28):
        raise InvalidRecoveryId(f"v must be 27 or 28, got {v}")
    if s > _HALF_N:
        raise MalleableSignature("s is in the upper half of the curve order")
    try:
        key = coincurve.PublicKey.from_signature_and_message(
            signature[:64] + bytes((v - 27,)), digest, hasher=None
        )
    except ValueError:
        raise UnrecoverableSignature("no public key recovers from this signature") from None
    return keccak_256(key.format(compressed=False)[1:]).digest()[12:]


def recover_signer(digest: bytes, signature: bytes) -> str:
    """Recover the EIP-55 address that signed ``digest`` (see :func:`recover_address`)."""
    return to_checksum_address(recover_address(digest, signature))

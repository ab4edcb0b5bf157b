"""Batch signature recovery (verifier/checks/recovery.py): the workers' answer is, signature
for signature and in order, what recovering one by one in this process gives, including the
signatures a forger would send (wrong v, high s, r out of range, another key)."""

from __future__ import annotations

import hashlib

import coincurve
import pytest

from verifier.checks.recovery import recover_addresses
from verifier.errors import SignatureError
from verifier.protocol.typed_data import SECP256K1_N, recover_address, sign_digest

KEYS = [coincurve.PrivateKey(hashlib.sha256(b"key %d" % k).digest()) for k in range(3)]


def _digest(i: int) -> bytes:
    return hashlib.sha256(b"record %d" % i).digest()


def _forged(i: int, signature: bytes) -> bytes:
    """Every fifth signature tampered with, each a different way."""
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    match i % 25:
        case 5:
            return r + signature[32:64] + bytes((v ^ 1,))  # the other recovery id
        case 10:
            return r + (SECP256K1_N - s).to_bytes(32, "big") + bytes((v,))  # high s
        case 15:
            return bytes(32) + signature[32:]  # r = 0
        case 20:
            return signature[:64] + bytes((29,))  # v out of range
        case _:
            return signature


def _pairs(count: int) -> list[tuple[bytes, bytes] | None]:
    pairs: list[tuple[bytes, bytes] | None] = []
    for i in range(count):
        signature = _forged(i, sign_digest(KEYS[i % 3], _digest(i)))
        pairs.append(None if i % 7 == 3 else (_digest(i), signature))  # None: did not parse
    return pairs


def _one_by_one(pairs: list[tuple[bytes, bytes] | None]) -> list[bytes | None]:
    addresses: list[bytes | None] = []
    for pair in pairs:
        try:
            addresses.append(recover_address(*pair) if pair else None)
        except SignatureError:
            addresses.append(None)
    return addresses


def test_workers_agree_with_one_by_one_across_chunks() -> None:
    pairs = _pairs(230)
    expected = _one_by_one(pairs)
    # Forgeries recover nothing or someone else: the check must still see every one of them.
    assert expected.count(None) > len(pairs) // 7
    assert recover_addresses(pairs, parallel_from=1, chunk=16) == expected
    assert recover_addresses(iter(pairs), parallel_from=10**6) == expected


@pytest.mark.parametrize("count", [0, 1])
def test_tiny_inputs(count: int) -> None:
    pairs = _pairs(count)
    assert recover_addresses(pairs, parallel_from=1, chunk=16) == _one_by_one(pairs)

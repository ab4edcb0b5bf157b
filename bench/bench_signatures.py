"""Activity-record signatures: records/s for digest, sign and recover, ours vs eth-account.

Both paths run in the same process on the same records; prints one JSON line.

    python bench/bench_signatures.py [--records N] [--reference-records M]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Sequence

import coincurve
from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data

from verifier.protocol.keccak import to_checksum_address
from verifier.protocol.typed_data import (
    ActivityRecord,
    Domain,
    record_digest,
    recover_signer,
    sign_digest,
    typed_data,
)

DOMAIN = Domain(1337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
KEY = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")


def _records(n: int) -> list[ActivityRecord]:
    rng = random.Random(55)
    device = to_checksum_address(rng.randbytes(20))
    return [
        ActivityRecord(
            enterprise="88.118.8/ENT-0001",
            source=f"88.118.8/ENT-0001/SRC-{i % 17}",
            device=device,
            seq=i,
            activity="fuel.natural_gas",
            quantity=rng.getrandbits(40),
            decimals=3,
            unit="m3",
            period_start=1_700_000_000 + 900 * i,
            period_end=1_700_000_900 + 900 * i,
            attributes_hash=rng.randbytes(32),
        )
        for i in range(n)
    ]


def _rate(fn: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    fn()
    return count / (time.perf_counter() - start)


def _ours(records: Sequence[ActivityRecord]) -> dict[str, float]:
    key = coincurve.PrivateKey(KEY)
    digests = [record_digest(DOMAIN, r) for r in records]
    sigs = [sign_digest(key, d) for d in digests]
    n = len(records)
    return {
        "digest": _rate(lambda: [record_digest(DOMAIN, r) for r in records], n),
        "sign": _rate(lambda: [sign_digest(key, d) for d in digests], n),
        "sign_from_key_bytes": _rate(lambda: [sign_digest(KEY, d) for d in digests], n),
        "recover": _rate(
            lambda: [recover_signer(d, s) for d, s in zip(digests, sigs, strict=True)], n
        ),
    }


def _reference(records: Sequence[ActivityRecord]) -> dict[str, float]:
    docs = [typed_data(DOMAIN, r) for r in records]
    messages: list[SignableMessage] = [encode_typed_data(full_message=d) for d in docs]
    sigs = [Account.sign_message(m, KEY).signature for m in messages]
    n = len(records)
    return {
        "digest": _rate(lambda: [encode_typed_data(full_message=d) for d in docs], n),
        "sign": _rate(lambda: [Account.sign_typed_data(KEY, full_message=d) for d in docs], n),
        "recover": _rate(
            lambda: [
                Account.recover_message(m, signature=s) for m, s in zip(messages, sigs, strict=True)
            ],
            n,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--reference-records", type=int, default=2_000)
    args = parser.parse_args()
    ours = _ours(_records(args.records))
    reference = _reference(_records(args.reference_records))
    report = {
        "bench": "signatures",
        "records": args.records,
        "reference_records": args.reference_records,
        "ours_per_s": {k: round(v) for k, v in ours.items()},
        "eth_account_per_s": {k: round(v) for k, v in reference.items()},
        "speedup": {k: round(ours[k] / reference[k], 1) for k in reference},
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()

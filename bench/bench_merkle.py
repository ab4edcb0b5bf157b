"""Build and serialise a 1,000,000-leaf tree of protocol leaves; print one JSON line.

Reports each phase in seconds and the ratio of the whole build to a bare Keccak loop over the
same 96-byte leaf encodings, timed in the same process (so machine speed cancels out).

    python bench/bench_merkle.py [--leaves N] [--standard]
"""

from __future__ import annotations

import argparse
import json
import random
import time

from sha3 import keccak_256

from verifier.protocol.leaves import LEAF_ENCODING, LeafKind, leaf_hash
from verifier.protocol.merkle import MerkleTree, StandardMerkleTree


def _timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def _bare_keccak(encodings: list[bytes]) -> None:
    for data in encodings:
        keccak_256(data).digest()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--standard", action="store_true", help="also time StandardMerkleTree.of")
    args = parser.parse_args()
    n = args.leaves
    rng = random.Random(712)
    kind = int(LeafKind.ACTIVITY_RECORD)
    triples = [(kind, rng.randbytes(32), rng.randbytes(32)) for _ in range(n)]
    encodings = [bytes(31) + bytes((k,)) + d + a for k, d, a in triples]

    _, bare_s = _timed(_bare_keccak, encodings)
    hashes, leaves_s = _timed(lambda: [leaf_hash(k, d, a) for k, d, a in triples])
    tree, build_s = _timed(MerkleTree.from_leaf_hashes, hashes)
    blob, serialise_s = _timed(tree.to_bytes)
    _, load_s = _timed(MerkleTree.from_bytes, blob)  # validates: rehashes every node
    index = tree.find_leaf(hashes[n // 2])
    _, proof_s = _timed(tree.get_proof, index)
    total_s = leaves_s + build_s + serialise_s
    keccak_calls = 2 * n + (n - 1)
    report = {
        "bench": "merkle",
        "leaves": n,
        "leaf_hash_s": round(leaves_s, 3),
        "sort_and_build_s": round(build_s, 3),
        "serialise_s": round(serialise_s, 4),
        "total_s": round(total_s, 3),
        "bytes": len(blob),
        "load_and_validate_s": round(load_s, 3),
        "find_leaf_and_proof_ms": round(proof_s * 1e3, 3),
        "bare_keccak_loop_s": round(bare_s, 3),
        "ratio_total_to_bare_loop": round(total_s / bare_s, 2),
        "ratio_per_keccak_call": round(total_s / (bare_s * keccak_calls / n), 2),
        "root": "0x" + tree.root.hex(),
    }
    if args.standard:
        values = [(k, d, a) for k, d, a in triples]
        standard, standard_s = _timed(StandardMerkleTree.of, values, LEAF_ENCODING)
        assert standard.tree == tree
        report["standard_of_s"] = round(standard_s, 3)
    print(json.dumps(report))


if __name__ == "__main__":
    main()

"""Batch building and anchoring: a 1,000,000-leaf tree built and persisted (target <= 10 s,
with the ratio to a bare keccak loop over the same leaves), and the gas per anchored record
at batch sizes 1; 1,000; 100,000; 1,000,000.

    python bench/bench_anchor.py [--leaves N] [--gas-sizes 1,1000,100000,1000000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from common import dev_chain, emit
from sqlalchemy import insert
from sqlmodel import Session

from anchoring.anchor_contract import AnchorContract
from anchoring.batching import PendingLeaf, build_batch
from anchoring.connection import connect
from anchoring.deployment import deploy
from anchoring.devchain import DEV_CHAIN_ID
from anchoring.operator import dev_account
from ledger_api.core.db import make_engine
from ledger_api.core.migrate import upgrade
from ledger_api.core.models import LeafRow
from ledger_api.ledger.anchor_store import SqlBatchStore
from verifier.protocol.keccak import keccak256
from verifier.protocol.leaves import leaf_hash


def make_leaves(n: int) -> list[PendingLeaf]:
    digests = [os.urandom(32) for _ in range(n)]
    return [
        PendingLeaf(
            id=i + 1,
            kind=1,
            hash=leaf_hash(1, d, bytes(32)),
            device="0x" + "11" * 20,
            seq=i + 1,
            enterprise="88.118.8/BENCH",
        )
        for i, d in enumerate(digests)
    ]


def bare_keccak_s(leaves: list[PendingLeaf]) -> float:
    start = time.perf_counter()
    for leaf in leaves:
        keccak256(leaf.hash)
    return time.perf_counter() - start


def build_and_persist(leaves: list[PendingLeaf], tmp: Path) -> dict[str, float]:
    url = f"sqlite:///{tmp / 'bench.sqlite'}"
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        session.execute(
            insert(LeafRow),
            [
                {"id": p.id, "kind": 1, "digest": "0x", "aux": "0x", "hash": "0x" + p.hash.hex()}
                for p in leaves
            ],
        )
    store = SqlBatchStore(engine, DEV_CHAIN_ID, "0x" + "22" * 20)
    start = time.perf_counter()
    built = build_batch(leaves)
    built_s = time.perf_counter() - start
    store.create_batch(built)
    total_s = time.perf_counter() - start
    return {
        "build_s": round(built_s, 2),
        "build_and_persist_s": round(total_s, 2),
        "tree_bytes": len(built.tree.to_bytes()),
    }


def gas_per_record(sizes: list[int]) -> dict[str, object]:
    with dev_chain() as chain, tempfile.TemporaryDirectory() as tmp:
        w3 = connect(chain.rpc_url, DEV_CHAIN_ID)
        account = dev_account(0, chain.rpc_url, DEV_CHAIN_ID)
        record, _ = deploy(w3, account, Path(tmp))
        contract = AnchorContract(w3, record.address)
        contract.anchor(account, keccak256(b"warm-up"), 1, bytes(32))  # first-write premium
        rows = {}
        for n in sizes:
            built = build_batch(make_leaves(n))
            receipt = contract.anchor(account, built.root, n, built.manifest_hash)
            rows[str(n)] = {
                "gas": receipt.gas_used,
                "gas_per_record": round(receipt.gas_used / n, 3),
            }
        return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument(
        "--gas-sizes",
        default="1,1000,100000,1000000",
        help="batch sizes anchored for the gas figures, comma list",
    )
    args = parser.parse_args()
    leaves = make_leaves(args.leaves)
    keccak_s = bare_keccak_s(leaves)
    with tempfile.TemporaryDirectory() as tmp:
        tree = build_and_persist(leaves, Path(tmp))
    emit(
        "tree_build_persist",
        leaves=args.leaves,
        **tree,
        bare_keccak_s=round(keccak_s, 3),
        ratio_to_keccak=round(tree["build_and_persist_s"] / keccak_s, 2),
        target_s=10,
    )
    sizes = [int(size) for size in args.gas_sizes.split(",")]
    emit("anchor_gas", per_batch_size=gas_per_record(sizes))


if __name__ == "__main__":
    main()

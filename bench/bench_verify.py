"""Verifying one record proof bundle: offline (target <= 2 ms) and, when a chain is at hand,
online. Prints one JSON line.

Offline time is also given as a ratio to a bare signature recovery measured in the same
process, since the box is shared. The online part uses ``CARBON_RPC_URL`` when it names a
loopback dev chain, else starts a throwaway dev chain; with neither it is left out.

    python bench/bench_verify.py [--runs N] [--online-runs M] [--leaves L]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import coincurve

from anchoring.batching import BuiltBatch, PendingLeaf, build_batch
from verifier.checks.record import parse_bundle, verify_record
from verifier.formats.record import AnchorLocation, LeafJson, RecordProofBundle
from verifier.protocol.keccak import keccak256, to_checksum_address
from verifier.protocol.leaves import LeafKind, activity_record_leaf
from verifier.protocol.typed_data import (
    ActivityRecord,
    Domain,
    record_digest,
    recover_signer,
    sign_record,
    typed_data,
)
from verifier.rpc import JsonRpcReader

PLACEHOLDER_CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _record(device: str, seq: int) -> ActivityRecord:
    return ActivityRecord(
        enterprise="88.118.8/ENT-0001",
        source="88.118.8/ENT-0001/SRC-KILN-1",
        device=device,
        seq=seq,
        activity="fuel.natural_gas",
        quantity=125_000 + seq,
        decimals=3,
        unit="m3",
        period_start=1_700_000_000 + 900 * seq,
        period_end=1_700_000_900 + 900 * seq,
        attributes_hash=bytes(32),
    )


def _batch(domain: Domain, leaves: int) -> tuple[BuiltBatch, ActivityRecord, bytes]:
    """One device's records 0..leaves-1, signed; returns the batch and record 0 with its sig."""
    key = coincurve.PrivateKey(secrets.token_bytes(32))
    device = to_checksum_address(keccak256(key.public_key.format(compressed=False)[1:])[12:])
    pending, first = [], None
    for seq in range(leaves):
        record = _record(device, seq)
        signature = sign_record(key, domain, record)
        first = first or (record, signature)
        leaf = activity_record_leaf(domain, record, signature)
        pending.append(
            PendingLeaf(seq, LeafKind.ACTIVITY_RECORD, leaf.hash(), device, seq, record.enterprise)
        )
    assert first is not None
    return build_batch(pending), *first


def _bundle(
    domain: Domain, batch: BuiltBatch, record: ActivityRecord, sig: bytes, where: dict[str, Any]
) -> RecordProofBundle:
    leaf = activity_record_leaf(domain, record, sig)
    proof = batch.tree.get_proof(batch.tree.find_leaf(leaf.hash()))
    return RecordProofBundle(
        typedData=typed_data(domain, record),
        signature=_hex(sig),
        leaf=LeafJson(kind=1, digest=_hex(leaf.digest), aux=_hex(leaf.aux), hash=_hex(leaf.hash())),
        proof=tuple(_hex(p) for p in proof),
        batch=batch.batch_json(record.enterprise),
        anchor=AnchorLocation(chainId=domain.chain_id, contract=domain.verifying_contract, **where),
    )


def _median_us(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm caches (trust file, lazily built tables) outside the measurement
    times = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1000


def _offline(runs: int, leaves: int) -> dict[str, Any]:
    domain = Domain(1337, PLACEHOLDER_CONTRACT)
    batch, record, sig = _batch(domain, leaves)
    zero = "0x" + "00" * 32
    where = {"batchId": 0, "txHash": zero, "blockNumber": 1, "blockHash": zero, "logIndex": 0}
    bundle = _bundle(domain, batch, record, sig, where)
    assert verify_record(bundle, None).valid
    text = json.dumps(bundle.to_json())
    digest = record_digest(domain, record)
    verify_us = _median_us(lambda: verify_record(bundle, None), runs)
    recover_us = _median_us(lambda: recover_signer(digest, sig), runs)
    parse_us = _median_us(lambda: verify_record(parse_bundle(json.loads(text)), None), runs)
    return {
        "offline_verify_median_ms": round(verify_us / 1000, 4),
        "offline_parse_and_verify_median_ms": round(parse_us / 1000, 4),
        "recover_signer_median_ms": round(recover_us / 1000, 4),
        "offline_verify_per_recover": round(verify_us / recover_us, 2),
        "target_offline_ms": 2.0,
        "proof_nodes": len(bundle.proof),
    }


@contextmanager
def _chain() -> Iterator[str | None]:
    """A loopback dev chain's URL (its dev accounts can anchor): CARBON_RPC_URL's, or a
    throwaway one; None if neither."""
    from anchoring.connection import is_loopback
    from anchoring.devchain import DEV_CHAIN_ID, DevChain, rpc_chain_id

    url = os.environ.get("CARBON_RPC_URL")
    if url and is_loopback(url) and rpc_chain_id(url) == DEV_CHAIN_ID:
        yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        chain = DevChain(data_dir=Path(tmp), port=port)
        try:
            chain.up()
        except Exception:  # no ganache here: the online figure is simply left out
            yield None
            return
        try:
            yield chain.rpc_url
        finally:
            with suppress(Exception):
                chain.down(timeout_s=3)


def _online(url: str, runs: int, leaves: int) -> dict[str, Any]:
    from anchoring.anchor_contract import AnchorContract
    from anchoring.connection import connect
    from anchoring.deployment import deploy
    from anchoring.operator import dev_account

    w3 = connect(url)
    operator = dev_account(0, url, w3.eth.chain_id)
    with tempfile.TemporaryDirectory() as tmp:
        record_, _ = deploy(w3, operator, Path(tmp))
    domain = Domain(w3.eth.chain_id, record_.address)
    batch, record, sig = _batch(domain, leaves)
    contract = AnchorContract(w3, record_.address)
    receipt = contract.anchor(operator, batch.root, batch.tree.leaf_count, batch.manifest_hash)
    where = {
        "batchId": receipt.batch_id,
        "txHash": receipt.tx_hash,
        "blockNumber": receipt.block_number,
        "blockHash": receipt.block_hash,
        "logIndex": receipt.log_index,
    }
    bundle = _bundle(domain, batch, record, sig, where)
    rpc = JsonRpcReader(url)
    assert verify_record(bundle, rpc).valid
    return {
        "online_verify_median_ms": round(
            _median_us(lambda: verify_record(bundle, rpc), runs) / 1000, 3
        )
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--online-runs", type=int, default=50)
    parser.add_argument("--leaves", type=int, default=1024, help="leaves in the bundle's batch")
    args = parser.parse_args()
    report: dict[str, Any] = {"bench": "verify", "runs": args.runs, "leaves": args.leaves}
    report |= _offline(args.runs, args.leaves)
    with _chain() as url:
        if url is None:
            report["online"] = "skipped: no chain reachable"
        else:
            report |= _online(url, args.online_runs, args.leaves)
            report["online_runs"] = args.online_runs
    print(json.dumps(report))


if __name__ == "__main__":
    main()

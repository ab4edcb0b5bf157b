"""A real ledger's figure proofs for the figure-verifier tests, and helpers to tamper with them.

Two aluminium smelters report hourly grid readings for 2025-06-01..02 (48 each). Smelter A's
readings go into two anchored batches: the first holds only A's seq 1..24; the second A's
25..48, A's reading of 2025-06-03 (outside the period) and B's readings. Both are graded
against the ruleset's average (a population average needs five rated peers:
tests/ledger_api/evaluations/test_population.py). Each has one reading past the period
(seq 49), which closes the period's end.

The ledger, the readings' shape, the evaluation, the proof fetch and ``tamper`` are shared with
the register-form case (``register_case``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.devchain import DevChain
from devtools.declarations import declare_added_value
from devtools.seeding import enterprise_key, grid_record, register
from ledger_api.commands.serve import build_worker
from terminal.client import SignedRecord, Terminal
from tests.conftest import LedgerServer
from tests.ledgers import own_ledger
from verifier.formats.figure import FigureProofBundle
from verifier.formats.record import ManifestSection
from verifier.protocol.manifest import section_leaf
from verifier.protocol.merkle import MerkleTree, process_proof
from verifier.protocol.typed_data import Domain

ENTERPRISE_A = "88.118.8/ENT-AL-FIG-A"
ENTERPRISE_B = "88.118.8/ENT-AL-FIG-B"
GRID_A = "88.118.8/SRC-AL-FIG-A-GRID"
GRID_B = "88.118.8/SRC-AL-FIG-B-GRID"
JUNE_2025_CST = 1_748_707_200  # 2025-06-01T00:00:00+08:00
HOUR = 3_600
READINGS = 48  # 2025-06-01 and -02, hourly
PERIOD = {"periodStart": "2025-06-01", "periodEnd": "2025-06-02", "ruleset": "zj-huzhou-2021"}
C = TypeVar("C")


@dataclass(frozen=True)
class FigureCase:
    """Bundles of one real ledger, plus what the tampering tests need to forge records."""

    server: LedgerServer
    domain: Domain
    total: FigureProofBundle  # A's total
    grade: FigureProofBundle  # A's rating.grade
    second: FigureProofBundle  # B's total
    outside: SignedRecord  # A's reading of 2025-06-03, anchored but outside the period
    other: SignedRecord  # one of B's readings


def reading(
    terminal: Terminal, domain: Domain, enterprise: str, source: str, seq: int
) -> SignedRecord:
    start = JUNE_2025_CST + (seq - 1) * HOUR
    record = grid_record(terminal, (enterprise, source), seq, start, HOUR, 10_000 + seq)
    return terminal.sign(domain, record)


def proof_bundle(server: LedgerServer, identifier: str, **params: str) -> FigureProofBundle:
    """The evaluation's figure proof (``figure=…``, ``form=…``)."""
    response = server.get(f"/v1/evaluations/{identifier}/proof", params=params)
    assert response.status_code == 200, response.text
    return FigureProofBundle.model_validate(response.json())


def evaluate(server: LedgerServer, **body: str) -> str:
    """Evaluate the period; the new evaluation's identifier."""
    response = server.post("/v1/evaluations", json={**PERIOD, **body})
    assert response.status_code == 201, response.text
    return response.json()["identifier"]


def build_case(server: LedgerServer) -> FigureCase:
    client = server.ledger_client()
    domain = client.domain()
    worker = build_worker(server.settings())
    a, b = Terminal.create(), Terminal.create()
    register(server, ENTERPRISE_A, [GRID_A], a, industry="aluminium")
    register(server, ENTERPRISE_B, [GRID_B], b, industry="aluminium")
    worker.run_once()  # the registry events in a batch of their own
    records_a = [reading(a, domain, ENTERPRISE_A, GRID_A, s) for s in range(1, READINGS + 2)]
    records_b = [reading(b, domain, ENTERPRISE_B, GRID_B, s) for s in range(1, READINGS + 2)]
    client.submit(records_a[:24])
    worker.run_once()
    client.submit(records_a[24:] + records_b)  # A's seq 25..48 and 49 (2025-06-03); all of B
    worker.run_once()
    with server.client() as http:  # each smelter signs its added value: ``inputs`` passes
        for enterprise, value in ((ENTERPRISE_A, "20"), (ENTERPRISE_B, "30")):
            days = (date(2025, 6, 1), date(2025, 6, 2))
            key = enterprise_key(enterprise)
            declared = declare_added_value(http, domain, key, enterprise, days, Decimal(value))
            assert declared.status_code == 201, declared.text
    first = evaluate(server, enterprise=ENTERPRISE_A, addedValue="20")
    second = evaluate(server, enterprise=ENTERPRISE_B, addedValue="30")
    worker.run_once()
    return FigureCase(
        server=server,
        domain=domain,
        total=proof_bundle(server, first, figure="total"),
        grade=proof_bundle(server, first, figure="rating.grade"),
        second=proof_bundle(server, second, figure="total"),
        outside=records_a[-1],
        other=records_b[0],
    )


def on_own_ledger(
    build: Callable[[LedgerServer], C],
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp: Path,
) -> Iterator[C]:
    """Start a ledger on its own deployment, build the case, stop the ledger afterwards."""
    with own_ledger(dev_chain, w3, operator_account, tmp) as ledger:
        yield build(ledger)


def figure_case(
    dev_chain: DevChain, w3: Web3, operator_account: LocalAccount, tmp: Path
) -> Iterator[FigureCase]:
    return on_own_ledger(build_case, dev_chain, w3, operator_account, tmp)


# --- tampering -------------------------------------------------------------------------------


def tamper(
    bundle: FigureProofBundle, change: Callable[[dict[str, Any]], None]
) -> FigureProofBundle:
    """A copy of ``bundle`` with ``change`` applied to its JSON form, parsed again."""
    data = copy.deepcopy(bundle.to_json())
    change(data)
    return FigureProofBundle.model_validate(data)


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def reprove(data: dict[str, Any], b: int, keep: list[int], *, whole: bool) -> None:
    """Prove only the leaves at positions ``keep`` of ``data["batches"][b]`` (JSON form).

    With ``whole`` the batch's tree is rebuilt from all its leaves (the bundle must hold them
    all) and the kept ones proven against the real root. Without it, a new tree of just the kept
    leaves is built, with its own root and manifest: consistent in itself, anchored nowhere."""
    batch = data["batches"][b]
    leaves = [bytes.fromhex(x[2:]) for x in batch["leaves"]]
    kept = [leaves[k] for k in keep]
    records = [batch["records"][k] for k in keep]
    tree = MerkleTree.from_leaf_hashes(leaves if whole else kept)
    if whole:
        assert tree.leaf_count == batch["batch"]["leafCount"]
        assert _hex(tree.root) == batch["batch"]["root"]
    else:
        _new_manifest(batch, [data["records"][r]["message"] for r in records])
        batch["batch"]["root"] = _hex(tree.root)
    proof = tree.get_multiproof(tree.find_leaf(leaf) for leaf in kept)
    order = dict(zip(kept, records, strict=True))
    batch["records"] = [order[leaf] for leaf in proof.leaves]
    batch["leaves"] = [_hex(x) for x in proof.leaves]
    batch["proof"] = [_hex(x) for x in proof.proof]
    batch["proofFlags"] = list(proof.proof_flags)


def _new_manifest(batch: dict[str, Any], messages: list[dict[str, Any]]) -> None:
    """The manifest of a batch of just these records (one device, one enterprise): one
    section, so its leaf is the manifest hash and its path is empty."""
    seqs = [int(m["seq"]) for m in messages]
    count = len(messages)
    section = ManifestSection.model_validate(
        {
            "enterprise": messages[0]["enterprise"],
            "leafCount": count,
            "kinds": {"1": count},
            "devices": [
                {
                    "device": messages[0]["device"],
                    "firstSeq": min(seqs),
                    "lastSeq": max(seqs),
                    "count": count,
                }
            ],
        }
    )
    batch["batch"] |= {
        "leafCount": count,
        "section": section.model_dump(mode="json", by_alias=True),
        "sectionProof": [],
    }
    rehash_manifest(batch)


def rehash_manifest(batch: dict[str, Any]) -> None:
    """Set a batch entry's manifestHash to what its (edited) section and path fold to."""
    stated = batch["batch"]
    section = ManifestSection.model_validate(stated["section"])
    leaf = section_leaf(section.model_dump(mode="json", by_alias=True))
    path = [bytes.fromhex(n[2:]) for n in stated["sectionProof"]]
    stated["manifestHash"] = _hex(process_proof(leaf, path))

"""The operator as the adversary, for the evaluation tests: its enterprise of record, its own
database opened behind the ledger's back, an entry rewritten before it is anchored, and the
figure proof fetched and verified against the real chain."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import rfc8785
from sqlalchemy import text

from ledger_api.commands.serve import build_worker
from tests.conftest import LedgerServer
from verifier.checks.figure import parse_figure_bundle, verify_figure
from verifier.checks.kernel import VerificationResult
from verifier.formats.figure import FigureProofBundle
from verifier.protocol.keccak import keccak256
from verifier.protocol.leaves import LeafKind, leaf_hash
from verifier.rpc import JsonRpcReader

ENTERPRISE = "88.118.8/ENT-AL-ADV"
GRID = "88.118.8/SRC-AL-ADV-GRID"
OTHER = "88.118.8/ENT-AL-ADV-OTHER"
OTHER_GRID = "88.118.8/SRC-AL-ADV-OTHER-GRID"
JUNE_2025_CST = 1_748_707_200  # 2025-06-01T00:00:00+08:00


def tamper(ledger: LedgerServer, sql: str, **params: Any) -> None:
    """One edit of the operator's, foreign keys unchecked, committed."""
    with ledger.tampering() as db:
        db.execute(text(sql), params)


def anchor(ledger: LedgerServer) -> None:
    build_worker(ledger.settings()).run_once()


def proof(ledger: LedgerServer, identifier: str, figure: str = "total") -> FigureProofBundle:
    response = ledger.get(f"/v1/evaluations/{identifier}/proof", params={"figure": figure})
    assert response.status_code == 200, response.text
    return parse_figure_bundle(response.json())


def verify(ledger: LedgerServer, bundle: FigureProofBundle) -> VerificationResult:
    return verify_figure(bundle, JsonRpcReader(ledger.env["CARBON_RPC_URL"]))


def rewrite_entry(
    ledger: LedgerServer, identifier: str, change: Callable[[dict[str, Any]], None]
) -> None:
    """Rewrite a not-yet-anchored entry in place, with its digest and leaf, so the next
    anchoring round anchors the rewritten one."""
    [(stored, old_leaf)] = ledger.sql(
        "SELECT entry, leaf_hash FROM evaluation WHERE identifier = :id", id=identifier
    )
    entry = json.loads(stored)
    change(entry)
    canonical = rfc8785.dumps(entry)
    digest = keccak256(canonical)
    hashed = "0x" + leaf_hash(LeafKind.LEDGER_ENTRY, digest, bytes(32)).hex()
    with ledger.tampering() as db:
        db.execute(
            text("UPDATE leaf SET digest = :digest, hash = :hash WHERE hash = :old"),
            {"digest": "0x" + digest.hex(), "hash": hashed, "old": old_leaf},
        )
        db.execute(
            text(
                "UPDATE evaluation SET entry = :entry, digest = :digest, leaf_hash = :hash "
                "WHERE identifier = :id"
            ),
            {
                "entry": canonical.decode(),
                "digest": "0x" + digest.hex(),
                "hash": hashed,
                "id": identifier,
            },
        )

"""The operator as the adversary, for the evaluation tests: its enterprise of record, its own
database opened behind the ledger's back, an entry rewritten before it is anchored, and the
figure proof fetched and verified against the real chain."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import closing
from typing import Any

import rfc8785

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


def database(ledger: LedgerServer) -> sqlite3.Connection:
    return sqlite3.connect(ledger.data_dir / "ledger.sqlite")


def execute(ledger: LedgerServer, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with closing(database(ledger)) as db, db:
        return db.execute(sql, args).fetchall()


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
    [(text, old_leaf)] = execute(
        ledger, "SELECT entry, leaf_hash FROM evaluation WHERE identifier = ?", identifier
    )
    entry = json.loads(text)
    change(entry)
    canonical = rfc8785.dumps(entry)
    digest = keccak256(canonical)
    hashed = "0x" + leaf_hash(LeafKind.LEDGER_ENTRY, digest, bytes(32)).hex()
    with closing(database(ledger)) as db, db:
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute(
            "UPDATE leaf SET digest = ?, hash = ? WHERE hash = ?",
            ("0x" + digest.hex(), hashed, old_leaf),
        )
        db.execute(
            "UPDATE evaluation SET entry = ?, digest = ?, leaf_hash = ? WHERE identifier = ?",
            (canonical.decode(), "0x" + digest.hex(), hashed, identifier),
        )

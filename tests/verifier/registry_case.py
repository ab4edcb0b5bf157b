"""The registry cases the operator-as-adversary tests share: firms with two signed grid meters
reporting hourly for 2025-06-01..02 (UTC+8), the evaluation and proof of their period, and the
ledger's own database for the operator to edit."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import text
from sqlmodel import Session

from devtools.seeding import grid_record, register, sign_registry
from ledger_api.commands.serve import build_worker
from ledger_api.core.db import make_engine
from terminal.client import SignedRecord, Terminal
from tests.conftest import LedgerServer
from verifier.checks.figure import parse_figure_bundle
from verifier.formats.figure import FigureProofBundle

JUNE_2025_CST = 1_748_707_200  # 2025-06-01T00:00:00+08:00
PERIOD_END = JUNE_2025_CST + 2 * 86_400
HOUR = 3_600
READINGS = 48


@dataclass(frozen=True)
class Firm:
    enterprise: str
    grids: tuple[str, str]
    terminals: tuple[Terminal, Terminal]


def readings(
    server: LedgerServer, firm: str, source: str, terminal: Terminal, **changes: Any
) -> list[SignedRecord]:
    """49 hourly readings of 10 MWh from the grid from 2025-06-01 00:00 (UTC+8), with
    ``changes`` to their fields: the period's 48 and one after it."""
    domain = server.ledger_client().domain()
    records = [
        grid_record(terminal, (firm, source), seq, JUNE_2025_CST + (seq - 1) * HOUR, HOUR, 10_000)
        for seq in range(1, READINGS + 2)
    ]
    return [terminal.sign(domain, replace(record, **changes)) for record in records]


def anchor(server: LedgerServer) -> None:
    build_worker(server.settings()).run_once()


def firm(server: LedgerServer, name: str) -> Firm:
    enterprise = f"88.118.8/ENT-REG-{name}"
    grids = (f"88.118.8/SRC-REG-{name}-A", f"88.118.8/SRC-REG-{name}-B")
    terminals = (Terminal.create(), Terminal.create())
    register(server.server, enterprise, [grids[0]], terminals[0], industry="aluminium")
    device = {"sources": [grids[1]], "metadata": None, "firstSeq": 1}
    answer = sign_registry(
        server.server,
        enterprise,
        [
            ("source.registered", grids[1], {"name": "grid B", "metadata": None}),
            ("device.registered", terminals[1].address, device),
        ],
    )
    assert answer.status_code == 201, answer.text
    client = server.ledger_client()
    for grid, terminal in zip(grids, terminals, strict=True):
        client.submit(readings(server, enterprise, grid, terminal))
    anchor(server)
    return Firm(enterprise, grids, terminals)


def evaluate_and_prove(server: LedgerServer, enterprise: str) -> FigureProofBundle:
    body = {
        "enterprise": enterprise,
        "periodStart": "2025-06-01",
        "periodEnd": "2025-06-02",
        "addedValue": "20",
        "ruleset": "zj-huzhou-2021",
    }
    answer = server.post("/v1/evaluations", json=body)
    assert answer.status_code == 201, answer.text
    anchor(server)
    identifier = answer.json()["identifier"]
    proof = server.get(f"/v1/evaluations/{identifier}/proof", params={"figure": "total"})
    assert proof.status_code == 200, proof.text
    return parse_figure_bundle(proof.json())


def execute(server: LedgerServer, *statements: tuple[str, dict[str, Any]]) -> None:
    """The operator's edits (``:name`` parameters), in one transaction, foreign keys
    unchecked."""
    with server.tampering() as db:
        for sql, params in statements:
            db.execute(text(sql), params)


def session(server: LedgerServer) -> Session:
    return Session(make_engine(server.settings().effective_database_url))

"""Ledger set-ups that more than one test module needs: anchored hourly readings."""

from __future__ import annotations

from devtools.seeding import grid_record, register
from ledger_api.commands.serve import build_worker
from terminal.client import Terminal
from tests.conftest import LedgerServer

HOUR = 3_600


def anchored_hours(
    ledger: LedgerServer,
    enterprise: str,
    source: str,
    industry: str,
    start: int,
    hours: int,
    mwh_thousandths: int,
    region: str | None = None,
) -> None:
    """Register a terminal and submit and anchor ``hours`` hourly grid readings from ``start``
    (each ``mwh_thousandths`` / 1000 MWh), and one more just after them: a period the terminal
    has not reported past is open, and the ledger does not evaluate it."""
    terminal = Terminal.create()
    # Registered where it is, so the region's rules apply; signed by the enterprise.
    register(ledger.server, enterprise, [source], terminal, industry=industry, region=region)
    client = ledger.ledger_client()
    domain = client.domain()
    where = (enterprise, source)
    records = [
        terminal.sign(
            domain, grid_record(terminal, where, i + 1, start + i * HOUR, HOUR, mwh_thousandths)
        )
        for i in range(hours + 1)
    ]
    client.submit(records)
    build_worker(ledger.settings()).run_once()

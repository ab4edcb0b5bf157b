"""The evaluation tests' shared fixture: ``two_days``, the adversary's enterprise
(tests/ledger_api/evaluations/adversary.py) with two days of anchored hourly readings."""

from __future__ import annotations

import pytest

from tests.conftest import LedgerServer
from tests.ledger_api.evaluations.adversary import ENTERPRISE, GRID, JUNE_2025_CST
from tests.ledger_api.evaluations.helpers import anchored_hours


@pytest.fixture
def two_days(ledger: LedgerServer) -> LedgerServer:
    """48 anchored hourly readings of 10 MWh (seq 1..48) and one just after them (seq 49)."""
    anchored_hours(ledger, ENTERPRISE, GRID, "aluminium", JUNE_2025_CST, 48, 10_000)
    return ledger

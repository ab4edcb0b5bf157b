"""The aluminium smelter of the energy tests (综合能耗 and 对标), shared by the ledger's energy
tests and the browser verifier's agreement on energy bundles: its readings, a ledger holding
them, its evaluation of a day, and the entries an operator forges before anchoring."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from accounting import account, load_factor_set
from accounting.benchmarks import energy_and_standing, load_level_set
from accounting.energy import Denominators, load_energy_set, parse_energy_set
from accounting.from_records import RecordQuantity, inventory_from_records
from anchoring.devchain import DevChain
from anchoring.worker import AnchorWorker
from devtools.seeding import register
from ledger_api.commands.serve import build_worker
from terminal.client import Terminal
from tests.conftest import LedgerServer
from tests.ledgers import own_ledger
from verifier.protocol.typed_data import ActivityRecord

ENTERPRISE = "88.118.8/ENT-AL-ENERGY"
GRID = "88.118.8/SRC-AL-ENERGY-GRID"
GAS = "88.118.8/SRC-AL-ENERGY-GAS"
JUNE_2025_CST = 1_748_707_200  # 2025-06-01T00:00:00+08:00
HOUR = 3_600

# Every day: 8 hours of each reading, in turn (one terminal, one reading an hour).
READINGS = (
    (GRID, "electricity.purchased", 12_500, 3, "MWh"),  # 12.5 MWh
    (GAS, "fuel.natural_gas", 25, 2, "10^4 Nm3"),  # 0.25 × 10⁴ m³
    (GAS, "fuel.diesel", 500, 3, "t"),  # 0.5 t
)
OUTPUT_T, ADDED_VALUE = Decimal("7.5"), Decimal(20)


@contextmanager
def smelter_ledger(
    dev_chain: DevChain, w3: Web3, operator: LocalAccount, data_dir: Path, days: int
) -> Iterator[tuple[LedgerServer, AnchorWorker]]:
    """A ledger whose smelter reported ``days`` days of readings, all anchored, and one more (a
    period the terminal has not reported past is not evaluated); and its anchoring worker, the
    one the tests anchor with, since it holds the anchoring lease between its rounds."""
    with own_ledger(dev_chain, w3, operator, data_dir) as server:
        terminal = Terminal.create()
        register(server.server, ENTERPRISE, [GRID, GAS], terminal, "aluminium", "330502")
        client = server.ledger_client()
        domain = client.domain()
        signed = []
        for i in range(24 * days + 1):
            source, activity, quantity, decimals, unit = READINGS[i % 3]
            message = ActivityRecord(
                enterprise=ENTERPRISE, source=source, device=terminal.address, seq=i + 1,
                activity=activity, quantity=quantity, decimals=decimals, unit=unit,
                period_start=JUNE_2025_CST + i * HOUR, period_end=JUNE_2025_CST + (i + 1) * HOUR,
            )  # fmt: skip
            signed.append(terminal.sign(domain, message))
        client.submit(signed)
        worker = build_worker(server.settings())
        worker.run_once()
        yield server, worker


def evaluate(ledger: LedgerServer, day: int, **changes: str) -> str:
    """Evaluate the smelter's ``day`` of June 2025; the evaluation's identifier."""
    day_text = f"2025-06-{day:02d}"
    body = {
        "enterprise": ENTERPRISE,
        "periodStart": day_text,
        "periodEnd": day_text,
        "addedValue": str(ADDED_VALUE),
        "productOutput": str(OUTPUT_T),
        "ruleset": "zj-huzhou-2021",
        **changes,
    }
    response = ledger.post("/v1/evaluations", json=body)
    assert response.status_code == 201, response.text
    return response.json()["identifier"]


def doctored_set() -> dict[str, Any]:
    """The official coefficient set's id and version with a lower equivalent value."""
    document = copy.deepcopy(dict(load_energy_set().document))
    for coefficient in document["coefficients"]:
        if coefficient["id"] == "electricity.equivalent.2022":
            coefficient["value"] = "0.2"
    return document


def recompute_with(
    document: dict[str, Any], added_value: Decimal = ADDED_VALUE
) -> Callable[[dict[str, Any]], None]:
    """The entry's energy blocks as the ledger's own code computes them with ``document`` and
    ``added_value``."""

    def change(entry: dict[str, Any]) -> None:
        quantities = [
            RecordQuantity(activity, source, quantity * 8, decimals, unit)
            for source, activity, quantity, decimals, unit in READINGS
        ]
        period = entry["period"]
        inventory = inventory_from_records(
            ENTERPRISE,
            "aluminium",
            date.fromisoformat(period["start"]),
            date.fromisoformat(period["end"]),
            quantities,
            factor_choices=entry["accounting"]["factorChoices"],
        )
        result = account(inventory, load_factor_set(entry["accounting"]["factorSet"]["id"]), "AR5")
        entry.update(
            energy_and_standing(
                result,
                parse_energy_set(document),
                load_level_set(),
                "equivalent",
                2025,
                "aluminium",
                Denominators(OUTPUT_T, added_value),
            )
        )

    return change

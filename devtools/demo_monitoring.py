"""The demo's monitoring: the steelworks gets three rules, the monitoring worker folds the
month of readings in, and one alert of each kind is raised and shown — an hour of energy over
its ceiling, emissions projected past the month's budget, and terminals silent (the worker is
run as if two hours had passed with no reading). A second run finds the rules and the open
alerts and leaves them as they are (one open alert per rule and subject)."""

from __future__ import annotations

import time
from typing import Any

from rich.table import Table

from devtools.demo_plan import DemoEnterprise
from devtools.local_server import ServerProcess
from ledger_api.commands.runtime import console
from ledger_api.core.config import Settings
from ledger_api.core.db import engine_for
from ledger_api.monitoring.worker import MonitorWorker

# Illustrative levels for the demo's month: an integrated steelworks uses far more than 1 tce
# in an hour and emits far more than 1,000 t in a month.
RULES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("demo: hourly energy ceiling", "energy_threshold", {"per": "hour", "limitTce": "1"}),
    ("demo: monthly budget", "emission_budget", {"budgetT": "1000", "levels": [80, 90, 100]}),
    ("demo: terminal data quality", "data_quality", {"maxSilenceS": 3_600}),
)
SILENT_FOR_S = 2 * 3_600


def _rules(server: ServerProcess, steel: DemoEnterprise) -> None:
    with server.client(timeout=60) as http:
        have = {
            r["name"]
            for r in http.get("/v1/monitor-rules", params={"enterprise": steel.identifier}).json()
        }
        for name, kind, params in RULES:
            if name not in have:
                body = {
                    "enterprise": steel.identifier,
                    "kind": kind,
                    "name": name,
                    "params": params,
                }
                answer = http.post("/v1/monitor-rules", json=body)
                if answer.status_code != 201:
                    raise RuntimeError(f"rule {name} refused: {answer.text}")


def _shown(alerts: list[dict[str, Any]]) -> None:
    table = Table(title="open alerts of the steelworks", show_lines=False)
    for column in ("id", "kind", "subject", "level", "message"):
        table.add_column(column)
    firsts: dict[str, dict[str, Any]] = {}
    for alert in sorted(alerts, key=lambda a: a["id"]):
        firsts.setdefault(alert["kind"], alert)
    for alert in firsts.values():
        table.add_row(
            str(alert["id"]),
            alert["kind"],
            alert["subject"][-24:],
            alert["level"],
            alert["message"],
        )
    console.print(table)
    counts = ", ".join(f"{sum(a['kind'] == k for a in alerts)} {k}" for k in firsts)
    console.print(f"[bold]monitor[/bold]  {counts} open; the portal lists them at /portal/alerts")


def show_monitoring(settings: Settings, server: ServerProcess, steel: DemoEnterprise) -> None:
    """Rules, then the worker's passes over the stored records, two hours on."""
    _rules(server, steel)
    worker = MonitorWorker(
        engine_for(server.database_url),
        settings.reporting_utc_offset_h,
        settings.monitor_round_records,
    )
    # Every pass runs on a clock two hours ahead, so the terminals' last readings are two hours
    # old: the silent-terminal rule fires, and a second run finds the same alerts still open.
    later, folded = int(time.time()) + SILENT_FOR_S, 0
    while (done := worker.run_once(later).records) > 0:
        folded += done
    worker.run_once(later)
    console.print(f"[bold]monitor[/bold]  folded {folded} new records into the rolling figures")
    with server.client(timeout=60) as http:
        query = {"enterprise": steel.identifier, "state": "open", "limit": 1000}
        _shown(http.get("/v1/alerts", params=query).json()["alerts"])

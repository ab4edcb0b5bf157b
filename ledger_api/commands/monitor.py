"""``carbon-ledger monitor``: the monitoring worker (docs/monitoring.md).

One round folds the records stored since the last round into the rolling figures, evaluates
the rules and writes the alerts and their webhook messages in one transaction, then sends the
messages that are due. ``--watch`` repeats it at the set interval.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import typer

from ledger_api.commands.runtime import clean_errors, console

if TYPE_CHECKING:
    from ledger_api.core.config import Settings

log = logging.getLogger("carbon_ledger.monitor")


def _round(settings: Settings) -> tuple[int, int]:
    from ledger_api.core.db import engine_for
    from ledger_api.monitoring.delivery import Policy, send_due
    from ledger_api.monitoring.worker import MonitorWorker

    engine = engine_for(settings.effective_database_url)
    worker = MonitorWorker(engine, settings.reporting_utc_offset_h, settings.monitor_round_records)
    folded = 0
    while True:  # catch up in bounded rounds before delivering
        result = worker.run_once()
        folded += result.records
        if result.records < settings.monitor_round_records:
            break
    policy = Policy(
        settings.webhook_max_attempts,
        settings.webhook_backoff_s,
        settings.webhook_backoff_max_s,
        settings.webhook_timeout_s,
        settings.webhook_allow_private,
    )
    return folded, send_due(engine, policy)


@clean_errors
def monitor(
    watch: bool = typer.Option(False, "--watch", help="Keep monitoring at the set interval."),
    interval: float = typer.Option(None, help="Seconds between rounds with --watch."),
) -> None:
    """Fold new records into the rolling figures, raise and clear alerts, send webhooks."""
    from ledger_api.core.config import get_settings
    from ledger_api.core.logs import configure_logging
    from ledger_api.core.migrate import upgrade

    settings = get_settings()
    upgrade(settings.effective_database_url)
    if not watch:
        folded, delivered = _round(settings)
        console.print(f"folded {folded} records; delivered {delivered} webhook messages")
        return
    configure_logging(settings.log_level)
    # The HTTP client logs every request with its URL, and a subscriber's URL may carry a
    # token of its own: never in our logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    pause = interval or settings.monitor_interval_s
    while True:
        started = time.monotonic()
        folded, delivered = _round(settings)
        if folded or delivered:
            log.info("monitor round: %d records folded, %d messages delivered", folded, delivered)
        time.sleep(max(0.0, pause - (time.monotonic() - started)))

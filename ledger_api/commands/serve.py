"""``carbon-ledger serve`` and ``carbon-ledger anchor``: the API server and the anchoring worker.

The server, the database layer and the anchoring package are imported when a command runs,
so the CLI starts without them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from ledger_api.commands.runtime import anchor_contract, chain, clean_errors, console, operator

if TYPE_CHECKING:
    from rich.progress import Progress

    from anchoring.worker import AnchorWorker, RoundResult
    from ledger_api.core.config import Settings

log = logging.getLogger("carbon_ledger.anchor")


@clean_errors
def serve(
    host: str = typer.Option(None, help="Bind address (default from settings)."),
    port: int = typer.Option(None, help="Port (default from settings)."),
) -> None:
    """Run the ledger API (migrates the database first)."""
    import uvicorn

    from ledger_api.core.config import get_settings
    from ledger_api.core.logs import configure_logging
    from ledger_api.core.migrate import upgrade

    settings = get_settings()
    configure_logging(settings.log_level)
    upgrade(settings.effective_database_url)  # once, here: several API processes would race
    uvicorn.run(
        "ledger_api.app:create_app",
        factory=True,
        workers=settings.api_workers,
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_config=None,  # our JSON logging, set up above
        access_log=False,  # the request log line carries the request id instead
    )


def build_worker(settings: Settings, progress: Progress | None = None) -> AnchorWorker:
    """A worker bound to the configured chain, deployment, operator key and database."""
    from anchoring.worker import AnchorWorker
    from ledger_api.core.db import engine_for
    from ledger_api.core.migrate import upgrade
    from ledger_api.ledger.anchor_store import SqlBatchStore
    from ledger_api.ledger.binding import bind_deployment
    from ledger_api.ledger.lease import SqlLease

    w3 = chain(settings)
    contract, record = anchor_contract(settings, w3)
    url = settings.effective_database_url
    upgrade(url)
    engine = engine_for(url)
    bind_deployment(engine, record)
    lease = SqlLease(engine, settings.anchor_lease_s)
    store = SqlBatchStore(engine, record.chain_id, record.address, lease)
    task = progress.add_task("anchoring", total=None) if progress else None

    def on_progress(stage: str, leaves: int) -> None:
        if progress is not None and task is not None and stage == "anchored":
            progress.advance(task, leaves)

    return AnchorWorker(
        store, contract, operator(settings, w3), settings.anchor_max_batch, on_progress
    )


def _report(result: RoundResult) -> None:
    for r in result.receipts:
        console.print(
            f"anchored batch {r.batch_id}: root 0x{r.root.hex()} tx {r.tx_hash} "
            f"block {r.block_number} gas {r.gas_used}"
        )
    if result.standby:
        console.print("another worker holds the anchoring lease: nothing done")
    elif not result.receipts:
        console.print("nothing to anchor")


@clean_errors
def anchor(
    watch: bool = typer.Option(False, "--watch", help="Keep anchoring at the set interval."),
    max_batch: int = typer.Option(None, help="Leaves per batch (default from settings)."),
    interval: float = typer.Option(None, help="Seconds between rounds with --watch."),
) -> None:
    """Batch every unanchored leaf into trees and anchor their roots (one round, or --watch)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ledger_api.core.config import get_settings
    from ledger_api.core.logs import configure_logging

    settings = get_settings()
    if max_batch:
        settings = settings.model_copy(update={"anchor_max_batch": max_batch})
    if watch:
        configure_logging(settings.log_level)
        _watch(settings, interval or settings.anchor_interval_s)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        worker = build_worker(settings, progress)
        try:
            result = worker.run_once()
        finally:
            _release(worker)
    _report(result)


def _release(worker: AnchorWorker) -> None:
    """Hand the lease on at once on a clean stop, rather than after it runs out."""
    from ledger_api.ledger.anchor_store import SqlBatchStore

    if isinstance(worker.store, SqlBatchStore) and worker.store.lease is not None:
        worker.store.lease.release()


@functools.cache
def _libc_trim() -> Callable[[int], int] | None:
    # Looked up on first use: finding libc may run a subprocess, which --help should not pay.
    name = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None


def _return_freed_heap() -> None:
    """Give the pages a round freed back to the system: glibc keeps them after a big tree is
    dropped, so a worker that ran flat out once would stay that large (measured: 6–27 MB a
    round). A no-op without glibc."""
    trim = _libc_trim()
    if trim is not None:
        trim(0)


def _watch(settings: Settings, interval: float) -> None:
    """Anchor forever, starting now; while the chain is away, back off up to 8 intervals.

    Transport failures surface as the built-in ConnectionError, as the HTTP library's own
    errors (OSError subclasses) or as timeouts: all mean "try again later". A round cut short
    leaves at most a pending or sent batch, which the next round reconciles.
    """
    from anchoring.connection import ChainUnreachable

    delay = 0.0
    worker: AnchorWorker | None = None
    standing_by = False
    try:
        while True:
            time.sleep(delay)
            try:
                worker = worker or build_worker(settings)
                result = worker.run_once()
                _return_freed_heap()
                if result.receipts:
                    _report(result)
                if result.standby and not standing_by:
                    log.info("another worker holds the anchoring lease; standing by")
                standing_by = result.standby
                delay = interval
            except (ChainUnreachable, OSError, TimeoutError) as exc:
                worker = None
                delay = min(max(delay * 2, interval), interval * 8)
                name = exc.__class__.__name__
                log.warning("chain unavailable (%s); retrying in %.0f s", name, delay)
    finally:
        if worker is not None:
            _release(worker)

"""What the gateway tells its operator: Prometheus metrics on a local port, JSON logs.

Every bad sample, unmetered interval and refused batch is counted and logged; nothing the
gateway could not read is filled in, so these counters are the only trace of what is missing.
"""

from __future__ import annotations

import logging
import sys
import time
from decimal import Decimal
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

log = structlog.get_logger("carbon_terminal.health")


_SHARED: list[Any] = [
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_logging(level: str = "INFO") -> None:
    """One JSON object a line on standard error (the journal, under systemd), the libraries'
    standard-library loggers included; their per-request chatter stays below warnings."""
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=_SHARED,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for chatty in ("httpx", "httpcore", "pymodbus"):
        logging.getLogger(chatty).setLevel(logging.WARNING)


QUIET = frozenset({"coalesced", "duplicate", "stale"})  # counted only: a meter's normal chatter
ROUTINE = frozenset({"baseline", "rollover"})  # logged at info; everything else is a warning


class Metrics:
    """The gateway's Prometheus metrics, in a registry of their own."""

    def __init__(self, drift_warn_s: float = 5.0) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.drift_warn_s = drift_warn_s
        self._depth = Gauge(
            "carbon_terminal_outbox_records", "Signed records not yet accepted", registry=r
        )
        self._full = Gauge(
            "carbon_terminal_outbox_full", "1 while reading is paused: outbox full", registry=r
        )
        self._readings = Counter(
            "carbon_terminal_readings", "Readings signed", ["point"], registry=r
        )
        self._events = Counter(
            "carbon_terminal_events",
            "Sample events: baseline, rollover, meter_replaced, bad_value, unreadable, ...",
            ["point", "event"],
            registry=r,
        )
        self._last_time = Gauge(
            "carbon_terminal_last_sample_time_seconds",
            "When each point was last read",
            ["point"],
            registry=r,
        )
        self._last_value = Gauge(
            "carbon_terminal_last_sample_value",
            "Each point's last value (register or quantity), scaled",
            ["point"],
            registry=r,
        )
        self._accepted_time = Gauge(
            "carbon_terminal_last_accepted_time_seconds",
            "When the ledger last acknowledged a batch",
            registry=r,
        )
        self._records = Counter(
            "carbon_terminal_forwarded_records",
            "Records the ledger acknowledged",
            ["result"],
            registry=r,
        )
        self._refused = Counter(
            "carbon_terminal_refused_batches",
            "Batches the ledger refused (4xx)",
            ["status"],
            registry=r,
        )
        self._drift = Gauge(
            "carbon_terminal_clock_drift_seconds",
            "Ledger clock minus gateway clock (HTTP Date)",
            registry=r,
        )
        self._subscribed = Gauge(
            "carbon_terminal_mqtt_subscribed",
            "1 while the broker has confirmed the gateway's subscriptions",
            registry=r,
        )
        self._drift_warned = False
        self._per_point: dict[str, tuple[Any, Any, Any]] = {}

    def subscribed(self, yes: bool) -> None:
        self._subscribed.set(int(yes))

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        start_http_server(port, addr=host, registry=self.registry)

    def sample(self, point: str, when: float, value: Decimal) -> None:
        gauges = self._per_point.get(point)
        if gauges is None:  # labels() costs a lookup and a lock: once per point, not per sample
            gauges = self._per_point[point] = (
                self._last_time.labels(point),
                self._last_value.labels(point),
                self._readings.labels(point),
            )
        gauges[0].set(when)
        gauges[1].set(float(value))

    def event(self, point: str, event: str, **details: object) -> None:
        self._events.labels(point, event).inc()
        if event in QUIET:
            return
        (log.info if event in ROUTINE else log.warning)(event, point=point, **details)

    def readings(self, point: str, count: int) -> None:
        self._readings.labels(point).inc(count)

    def depth(self, records: int, full: bool | None = None) -> None:
        self._depth.set(records)
        if full is not None:
            self._full.set(int(full))

    def accepted(self, stored: int, duplicates: int) -> None:
        self._accepted_time.set(time.time())
        self._records.labels("stored").inc(stored)
        self._records.labels("duplicate").inc(duplicates)

    def refused(self, status: int) -> None:
        self._refused.labels(str(status)).inc()

    def drift(self, seconds: float) -> None:
        self._drift.set(seconds)
        off = abs(seconds) > self.drift_warn_s
        if off and not self._drift_warned:
            log.warning("clock_drift", drift_s=round(seconds, 1), limit_s=self.drift_warn_s)
        self._drift_warned = off

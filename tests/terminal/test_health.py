"""The gateway's own reports: clock drift read off the ledger's answers, and reading paused
while the outbox is full (and resumed once it drains)."""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from terminal.client import Terminal
from terminal.gateway.daemon import Recorder
from terminal.gateway.forwarder import Ledger
from terminal.gateway.health import Metrics
from terminal.gateway.meters import Sample
from terminal.gateway.outbox import Outbox
from tests.terminal.points import DOMAIN, point

SKEW_S = 120  # the ledger's clock is two minutes ahead of ours


@pytest.fixture
def skewed_ledger() -> Iterator[str]:
    """A loopback stand-in for the ledger's typed-data endpoint whose Date header is ahead."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"domain": {"chainId": 1337, "verifyingContract": "0x' + b"11" * 20 + b'"}}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def date_time_string(self, timestamp: float | None = None) -> str:
            return email.utils.formatdate(time.time() + SKEW_S, usegmt=True)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def gauge(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_clock_drift_is_measured_from_the_ledgers_date_header(skewed_ledger: str) -> None:
    metrics = Metrics(drift_warn_s=5)
    Ledger(skewed_ledger, "cl_test", metrics, 10).domain()
    drift = gauge(metrics, "carbon_terminal_clock_drift_seconds")
    assert drift is not None and SKEW_S - 2 <= drift <= SKEW_S + 1  # Date has whole seconds


class Source:
    """A stand-in meter source that only records whether the recorder paused it."""

    def __init__(self) -> None:
        self.paused = False

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    def stop(self) -> None:
        pass


def test_a_full_outbox_pauses_reading_and_a_drained_one_resumes_it(tmp_path: Path) -> None:
    p = point()
    terminal = Terminal.create()
    outbox = Outbox(tmp_path / "o.sqlite3", {p.name: terminal}, "88.118.8/E", max_records=3)
    outbox.set_domain(DOMAIN)
    outbox.resume(terminal.address, None)
    metrics = Metrics()
    recorder = Recorder(outbox, [p], metrics)
    source = Source()
    recorder.sources = [source]

    def feed(*samples: tuple[int, str]) -> None:
        for when, value in samples:
            recorder._record([(Sample(p.name, when, Decimal(value)), None)])
            recorder._throttle()

    feed((1, "1.00"), (2, "2.00"), (3, "3.00"), (4, "4.00"))  # an opening and three readings
    assert outbox.depth == 3 and source.paused
    assert gauge(metrics, "carbon_terminal_outbox_full") == 1
    feed((5, "5.00"))  # refused whole: not stored, not acknowledged, counted
    assert outbox.depth == 3
    assert gauge(metrics, "carbon_terminal_events_total", point=p.name, event="outbox_full") == 1
    pending = outbox.pending(10)
    assert pending is not None
    outbox.acknowledge(pending.last_id)  # the ledger took them
    feed((6, "6.00"))  # the register lost nothing: 4.00 -> 6.00 in one reading
    assert not source.paused and outbox.depth == 1
    last = outbox.pending(10)
    assert last is not None and '"register":"600"' in last.bodies[0]
    assert '"quantity":"200"' in last.bodies[0]

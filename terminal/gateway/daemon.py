"""`carbon-terminal`: the gateway daemon and its key set-up.

``carbon-terminal init CONFIG`` creates each meter point's encrypted keystore and prints its
terminal address (the enterprise registers it at the ledger); ``carbon-terminal check CONFIG``
only parses; ``carbon-terminal run CONFIG`` reads the meters, signs and stores every reading,
and forwards the outbox until SIGTERM.

The recorder's queue needs no bound of its own: MQTT messages are acknowledged only after their
commit, so the broker holds back all but its in-flight window, and each Modbus poller waits for
its next tick.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import threading
from collections import Counter
from pathlib import Path
from typing import Protocol

import httpx
import structlog

from terminal.gateway.config import Config, ConfigError, Point, load
from terminal.gateway.forwarder import Forwarder, Ledger, resume
from terminal.gateway.health import Metrics, configure_logging
from terminal.gateway.meters import PointState, Reading, Sample, step
from terminal.gateway.outbox import Outbox, OutboxFull
from terminal.gateway.signer import open_keystores
from terminal.gateway.sources import Ack, ModbusPoller, MqttSource

log = structlog.get_logger("carbon_terminal")
GROUP = 5_000  # samples committed in one transaction at most
RESUME_BELOW = 0.9  # reading resumes once the outbox is back below this share of its budget


class Source(Protocol):
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def stop(self) -> None: ...


class Recorder(threading.Thread):
    """Turns queued samples into signed readings, one transaction per group of samples."""

    def __init__(self, outbox: Outbox, points: list[Point], metrics: Metrics) -> None:
        super().__init__(name="recorder", daemon=True)
        self.outbox, self.metrics = outbox, metrics
        self.points = {p.name: p for p in points}
        self.states = outbox.states()
        self.queue: queue.Queue[tuple[Sample, Ack] | None] = queue.Queue()
        self.sources: list[Source] = []
        self.paused = False
        self.committed = threading.Event()  # set after each commit: wakes the forwarder

    def submit(self, sample: Sample, ack: Ack) -> None:
        self.queue.put((sample, ack))

    def run(self) -> None:
        while True:
            group = self._take()
            if group is None:
                return
            self._record(group)
            self._throttle()

    def _take(self) -> list[tuple[Sample, Ack]] | None:
        first = self.queue.get()
        if first is None:
            return None
        group = [first]
        while len(group) < GROUP:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self.queue.put(None)  # finish this group, then stop
                break
            group.append(item)
        return group

    def _record(self, group: list[tuple[Sample, Ack]]) -> None:
        states = dict(self.states)
        readings: list[Reading] = []
        for sample, _ in group:
            point = self.points[sample.point]
            done = step(point, states.get(point.name, PointState()), sample)
            states[point.name] = done.state
            if done.event:
                self.metrics.event(point.name, done.event, time=sample.time)
            self.metrics.sample(point.name, sample.time, sample.value)
            if done.reading:
                readings.append(done.reading)
        changed = {n: s for n, s in states.items() if self.states.get(n) != s}
        try:
            self.outbox.record(self.points, changed, readings)
        except OutboxFull as exc:
            # Not acknowledged and not stored: MQTT redelivers, a register is read again.
            for sample, _ in group:
                self.metrics.event(sample.point, "outbox_full", error=str(exc))
            self._pause()
            return
        self.states = states
        for name, count in Counter(r.point for r in readings).items():
            self.metrics.readings(name, count)
        for _, ack in group:
            if ack is not None:
                ack()
        self.metrics.depth(self.outbox.depth, self.paused)
        self.committed.set()

    def _throttle(self) -> None:
        if self.paused and self.outbox.depth < self.outbox.max_records * RESUME_BELOW:
            self.paused = False
            log.info("reading_resumed", outbox=self.outbox.depth)
            for source in self.sources:
                source.resume()
        elif not self.paused and self.outbox.full:
            self._pause()

    def _pause(self) -> None:
        if not self.paused:
            self.paused = True
            log.error("outbox_full_reading_paused", outbox=self.outbox.depth)
            for source in self.sources:
                source.pause()
        self.metrics.depth(self.outbox.depth, True)


def _bootstrap(outbox: Outbox, ledger: Ledger, stopping: threading.Event) -> bool:
    """Learn the signing domain and the sequence start from the ledger, once per outbox: after
    that the gateway reads and signs through any ledger outage. Whether it asked the ledger."""
    delay = 0.2
    asked = False
    while (outbox.domain is None or not outbox.numbered) and not stopping.is_set():
        try:
            outbox.set_domain(ledger.domain())
            resume(outbox, ledger)
            asked = True
        except httpx.HTTPError as exc:
            log.warning("ledger_unreachable_at_start", error=str(exc), retry_in_s=delay)
            stopping.wait(delay)
            delay = min(delay * 2, 30.0)
    return asked


def run(config: Config) -> None:
    names = [p.name for p in config.points]
    signers = open_keystores(config.keystore_dir, names, config.passphrase_file)
    metrics = Metrics(config.drift_warn_s)
    metrics.serve(config.status_port)
    outbox = Outbox(
        config.state_dir / "outbox.sqlite3", signers, config.enterprise, config.max_outbox
    )
    ledger = Ledger(config.ledger_url, config.api_key_file.read_text().strip(), metrics, 120)
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    log.info("starting", terminals={n: s.address for n, s in signers.items()})
    threading.excepthook = _die
    asked = _bootstrap(outbox, ledger, stopping)
    metrics.depth(outbox.depth, False)
    forwarder = Forwarder(outbox, ledger, metrics, config.batch_size)
    forwarder.resumed = asked
    recorder = Recorder(outbox, config.points, metrics)
    threading.Thread(target=_relay, args=(recorder, forwarder), daemon=True).start()
    sources: list[Source] = []
    if config.mqtt:
        mqtt_source = MqttSource(config.mqtt, recorder.submit, metrics)
        sources.append(mqtt_source)
    pollers = [ModbusPoller(d, recorder.submit, metrics) for d in config.modbus]
    sources.extend(pollers)
    recorder.sources = sources
    forwarder.start()
    recorder.start()
    if config.mqtt:
        mqtt_source.start()
    for poller in pollers:
        poller.start()
    while not stopping.wait(0.5):
        pass
    log.info("stopping", outbox=outbox.depth)
    for source in sources:
        source.stop()
    recorder.queue.put(None)
    recorder.join()
    forwarder.stop()
    forwarder.join(timeout=30)
    outbox.close()


def _die(args: threading.ExceptHookArgs) -> None:
    """A thread that fails takes the process with it: the service manager restarts a gateway
    that resumes from its outbox, rather than one that silently stopped reading or sending."""
    log.critical(
        "thread_failed",
        thread=args.thread.name if args.thread else None,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )
    os._exit(70)


def _relay(recorder: Recorder, forwarder: Forwarder) -> None:
    """Wake the forwarder as soon as something was committed."""
    while True:
        recorder.committed.wait()
        recorder.committed.clear()
        forwarder.wake.set()


def init(config: Config) -> None:
    """Create the missing keystores; print each point's terminal address to register."""
    names = [p.name for p in config.points]
    signers = open_keystores(config.keystore_dir, names, config.passphrase_file, create=True)
    for point in config.points:
        print(f"{point.name}\t{signers[point.name].address}\t{point.source}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="carbon-terminal", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["run", "init", "check"])
    parser.add_argument("config", type=Path, help="the gateway's TOML file")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        config = load(args.config)
    except ConfigError as exc:
        raise SystemExit(f"carbon-terminal: {args.config}: {exc}") from exc
    if args.command == "check":
        print(f"{len(config.points)} points: {', '.join(p.name for p in config.points)}")
    elif args.command == "init":
        init(config)
    else:
        run(config)

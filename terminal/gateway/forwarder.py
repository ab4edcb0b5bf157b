"""Forwarding: the outbox drains to the ledger in large batches, oldest first.

A batch is removed from the outbox only after a 2xx. The ledger stores a batch all or nothing
and answers a record it already holds as a duplicate, so a batch whose answer was lost (a
crash, a timeout) is simply sent again and counts as accepted. A 4xx other than 429 means the
ledger refuses the records as they are: they stay, forwarding pauses and the refusal is
reported, because dropping them would leave a gap in the terminal's sequence that no later
record can fill.
"""

from __future__ import annotations

import email.utils
import threading
import time
from typing import Any

import httpx
import structlog

from terminal.gateway.health import Metrics
from terminal.gateway.outbox import Outbox
from verifier.protocol.typed_data import Domain

log = structlog.get_logger("carbon_terminal.forwarder")
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
# Short: a ledger back from an outage should see the backlog within seconds.
MAX_BACKOFF_S = 5.0
REFUSED_RETRY_S = 60.0  # a refused batch waits for an operator; retrying it is cheap


class Ledger:
    """The three ledger calls a gateway makes, with the clock read off every answer."""

    def __init__(self, base_url: str, api_key: str, metrics: Metrics, timeout_s: float) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            timeout=timeout_s,
            headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
        )
        self.metrics = metrics

    def domain(self) -> Domain:
        body = self._get("/v1/typed-data")["domain"]
        return Domain(int(body["chainId"]), body["verifyingContract"])

    def last_seq(self, address: str) -> int | None:
        """The last sequence number the ledger accepted from this terminal."""
        return self._get(f"/v1/devices/{address}")["last_seq"]

    def submit(self, bodies: list[str]) -> httpx.Response:
        # The records were serialised once, when signed: the batch is joined, not re-encoded.
        content = '{"records":[' + ",".join(bodies) + "]}"
        response = self.http.post("/v1/activity-batches", content=content)
        self._clock(response)
        return response

    def _get(self, path: str) -> Any:
        response = self.http.get(path)
        self._clock(response)
        response.raise_for_status()
        return response.json()

    def _clock(self, response: httpx.Response) -> None:
        """Drift = the ledger's clock minus ours, to the second of the HTTP Date header."""
        date = response.headers.get("Date")
        if date:
            self.metrics.drift(email.utils.parsedate_to_datetime(date).timestamp() - time.time())


class Forwarder(threading.Thread):
    """Sends the outbox to the ledger, oldest first, until stopped; woken by each commit."""

    def __init__(self, outbox: Outbox, ledger: Ledger, metrics: Metrics, batch_size: int) -> None:
        super().__init__(name="forwarder", daemon=True)
        self.outbox, self.ledger, self.metrics = outbox, ledger, metrics
        self.batch_size = batch_size
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.resumed = False

    def run(self) -> None:
        backoff = 0.0
        while not self.stopping.is_set():
            try:
                wait = self._once()
                backoff = 0.0
            except httpx.HTTPError as exc:
                backoff = min(max(backoff * 2, 0.2), MAX_BACKOFF_S)
                log.warning("ledger_unreachable", error=str(exc), retry_in_s=backoff)
                wait = backoff
            if wait:
                self.wake.wait(wait)
                self.wake.clear()

    def _once(self) -> float:
        """Forward one batch; how long to wait before the next attempt (0: at once)."""
        if not self.resumed:
            self._resume()
        pending = self.outbox.pending(self.batch_size)
        if pending is None:
            return 1.0
        response = self.ledger.submit(pending.bodies)
        if response.is_success:
            body = response.json()
            self.outbox.acknowledge(pending.last_id)
            self.metrics.accepted(body["accepted"], body["duplicates"])
            self.metrics.depth(self.outbox.depth)
            return 0.0
        if response.status_code in RETRY_STATUSES:
            after = response.headers.get("Retry-After", "")
            # The ledger's Retry-After is honoured (a rate limit refills by the minute).
            return min(float(after), REFUSED_RETRY_S) if after.isdigit() else 1.0
        self.metrics.refused(response.status_code)
        log.error(
            "batch_refused",
            status=response.status_code,
            records=len(pending.bodies),
            error=_error(response),
        )
        return REFUSED_RETRY_S

    def _resume(self) -> None:
        resume(self.outbox, self.ledger)
        self.resumed = True
        self.metrics.depth(self.outbox.depth)

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()


def resume(outbox: Outbox, ledger: Ledger) -> None:
    """Align every terminal with the ledger's last accepted sequence number for it."""
    for point, signer in outbox.signers.items():
        last = ledger.last_seq(signer.address)
        dropped, next_seq = outbox.resume(signer.address, last)
        log.info(
            "resumed",
            point=point,
            device=signer.address,
            ledger_last_seq=last,
            already_held=dropped,
            next_seq=next_seq,
        )


def _error(response: httpx.Response) -> Any:
    try:
        return response.json().get("error")
    except ValueError:
        return response.text[:500]

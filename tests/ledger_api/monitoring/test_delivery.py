"""Webhook delivery: signed, retried with backoff, dead-lettered after the bound, replayed
under the same webhook-id; a receiver down for an hour gets every message; no URL that points
inside; the secret is shown once and never logged. And kill -9 of the worker mid-run loses no
alert, counts no record twice and sends no alert change under two webhook-ids."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session

from accounting.energy import load_energy_set
from devtools.seeding import reading
from ledger_api.core.errors import ApiError
from ledger_api.core.models import EmissionSource, MonitorFigure, WebhookDelivery
from ledger_api.monitoring.delivery import Policy, check_url, send_due
from ledger_api.monitoring.worker import MonitorWorker
from tests.ledger_api.monitoring.conftest import POLICY, Mon

PRODUCTION = Policy(
    max_attempts=16, backoff_s=5, backoff_max_s=600, timeout_s=5, allow_private=True
)


def _raise_alerts(mon: Mon, ent: str, src: str, seqs: range) -> None:
    """Readings of 1,234.5 kWh (0.37121415 tce) against a 0.1 tce limit: one alert, raised
    on the first reading."""
    terminal = mon.enterprise(ent, [src])
    mon.rule(ent, "energy_threshold", {"per": "reading", "limitTce": "0.1"})
    domain = mon.server.ledger_client().domain()
    mon.submit([terminal.sign(domain, reading(terminal, ent, src, s)) for s in seqs])


def _deliveries(mon: Mon, token: str | None = None, **query: Any) -> list[dict[str, Any]]:
    answer = mon.server.get("/v1/webhook-deliveries", token, params=query)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_retries_back_off_then_dead_letter_and_replay_keeps_the_webhook_id(mon: Mon) -> None:
    sub = mon.subscribe(None, "/dead")
    mon.receiver.down = True
    try:
        _raise_alerts(mon, "88.118.8/ENT-MON-DEAD", "88.118.8/SRC-MON-DEAD", range(1, 2))
        MonitorWorker(mon.engine, 8, 1000).run_once()
        [owed] = _deliveries(mon, subscription=sub["id"])
        start = owed["nextAttempt"]
        waits = []
        for _ in range(POLICY.max_attempts):
            send_due(mon.engine, POLICY, start)
            with Session(mon.engine) as session:
                row = session.get(WebhookDelivery, owed["id"])
                assert row is not None
                waits.append(row.next_attempt - start)
                start = row.next_attempt
        assert waits[:3] == [5, 10, 20]  # 5 s, doubled after each failure
        [dead] = _deliveries(mon, subscription=sub["id"])
        assert (dead["state"], dead["attempts"], dead["lastStatus"]) == ("dead", 4, 503)
    finally:
        mon.receiver.down = False
    replayed = mon.server.post(f"/v1/webhook-deliveries/{owed['id']}/replay")
    assert (replayed.json()["state"], replayed.json()["messageId"]) == (
        "pending",
        owed["messageId"],
    )
    send_due(mon.engine, POLICY)
    assert [r.webhook_id for r in mon.receiver.at("/dead")] == [owed["messageId"]]
    assert _deliveries(mon, subscription=sub["id"])[0]["state"] == "delivered"


def test_a_receiver_down_for_an_hour_gets_every_message_when_it_is_back(mon: Mon) -> None:
    mon.subscribe(None, "/hour")
    mon.receiver.down = True
    t0 = int(time.time())
    try:
        _raise_alerts(mon, "88.118.8/ENT-MON-HOUR", "88.118.8/SRC-MON-HOUR", range(1, 2))
        MonitorWorker(mon.engine, 8, 1000).run_once(t0)
        for now in range(t0, t0 + 3_600, 120):
            send_due(mon.engine, PRODUCTION, now)
    finally:
        mon.receiver.down = False
    owed = [d for d in _deliveries(mon) if d["subscription"] == mon_sub_id(mon, "/hour")]
    assert owed and all(d["state"] == "pending" and d["attempts"] >= 6 for d in owed)
    for now in range(t0 + 3_600, t0 + 3_600 + 660, 60):
        send_due(mon.engine, PRODUCTION, now)
    got = mon.receiver.at("/hour")
    assert sorted(r.webhook_id for r in got) == sorted(d["messageId"] for d in owed)


def mon_sub_id(mon: Mon, path: str) -> int:
    [sub] = [
        s for s in mon.server.get("/v1/webhook-subscriptions").json() if s["url"].endswith(path)
    ]
    return sub["id"]


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://example.org/hook", "webhook_url_scheme"),
        ("http://user:pw@example.org/hook", "webhook_url_credentials"),
        ("http://127.0.0.1:9/hook", "webhook_url_private"),
        ("http://localhost/hook", "webhook_url_private"),
        ("http://10.1.2.3/hook", "webhook_url_private"),
        ("http://169.254.169.254/latest/meta-data", "webhook_url_private"),
        ("http://[::1]/hook", "webhook_url_private"),
        ("http://[::ffff:127.0.0.1]/hook", "webhook_url_private"),
    ],
)
def test_a_webhook_url_may_not_point_inside(url: str, code: str) -> None:
    with pytest.raises(ApiError) as refused:
        check_url(url, allow_private=False)
    assert (refused.value.code, refused.value.field) == (code, "url")


def test_the_scheme_is_checked_over_http_and_the_secret_is_shown_once(mon: Mon) -> None:
    refused = mon.server.post("/v1/webhook-subscriptions", json={"url": "file:///etc/passwd"})
    assert (refused.status_code, refused.json()["error"]["field"]) == (422, "url")
    created = mon.subscribe(None, "/once")
    assert created["secret"].startswith("whsec_")
    listed = mon.server.get("/v1/webhook-subscriptions").json()
    assert all("secret" not in s for s in listed)
    assert created["secret"] not in mon.server.server.log_file.read_text()


KILL_ENT, KILL_SRC = "88.118.8/ENT-MON-KILL", "88.118.8/SRC-MON-KILL"
READINGS = 200
ABOVE, BELOW = 12_345, 5_000  # tenths of a kWh: 0.37121415 and 0.15035 tce against 0.2


def _worker(mon: Mon) -> subprocess.Popen[bytes]:
    env = {
        **mon.server.env,
        "CARBON_MONITOR_ROUND_RECORDS": "20",  # many small rounds: a kill lands inside one
        "CARBON_WEBHOOK_BACKOFF_S": "1",
    }
    log = (mon.server.data_dir / "monitor.log").open("ab")
    command = [
        str(Path(sys.executable).parent / "carbon-ledger"),
        "monitor",
        "--watch",
        "--interval",
        "0.2",
    ]
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait(predicate: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_kill_9_mid_run_loses_nothing_and_sends_nothing_under_two_ids(mon: Mon) -> None:
    terminal = mon.enterprise(KILL_ENT, [KILL_SRC])
    mon.rule(KILL_ENT, "energy_threshold", {"per": "reading", "limitTce": "0.2"})
    mon.subscribe(None, "/kill")
    domain = mon.server.ledger_client().domain()
    quantities = [ABOVE if s % 2 else BELOW for s in range(1, READINGS + 1)]
    signed = [
        terminal.sign(domain, reading(terminal, KILL_ENT, KILL_SRC, s, quantity=q))
        for s, q in enumerate(quantities, start=1)
    ]
    worker = _worker(mon)
    kills = 0
    try:
        for start in range(0, READINGS, 40):
            mon.submit(signed[start : start + 40])
            if start in (40, 120):
                _wait(lambda seen=start // 2: len(mon.receiver.at("/kill")) > seen)
                os.kill(worker.pid, signal.SIGKILL)
                worker.wait()
                kills += 1
                worker = _worker(mon)
        raises = READINGS // 2
        _wait(
            lambda: (
                len(
                    {
                        (r.payload["data"]["alert"], r.payload["type"])
                        for r in mon.receiver.at("/kill")
                    }
                )
                >= 2 * raises
            ),
            120,
        )
    finally:
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
    assert kills == 2
    ids: dict[tuple[int, str], set[str]] = defaultdict(set)
    for got in mon.receiver.at("/kill"):
        ids[(got.payload["data"]["alert"], got.payload["type"])].add(got.webhook_id)
    assert len(ids) == 2 * raises  # every alert raised and resolved, none lost
    assert all(len(v) == 1 for v in ids.values())  # at most one webhook-id per change
    alerts = mon.alerts(KILL_ENT, limit="1000")
    assert len(alerts) == raises and all(a["state"] == "resolved" for a in alerts)
    assert mon.receiver.forged == 0
    per_kwh = load_energy_set().electricity("equivalent", 2026).value / 1000  # GB/T 2589
    expected = sum((Decimal(q) / 10 * per_kwh).quantize(Decimal("1e-9")) for q in quantities)
    with Session(mon.engine) as session:
        source = session.scalar(
            select(EmissionSource.id).where(EmissionSource.identifier == KILL_SRC)
        )
        hours = session.scalars(
            select(MonitorFigure).where(
                MonitorFigure.scope == "source",
                MonitorFigure.subject_id == source,
                MonitorFigure.span == "hour",
            )
        ).all()
    assert sum(h.readings for h in hours) == READINGS  # no record folded twice
    assert sum(Decimal(h.energy_tce) for h in hours) == expected

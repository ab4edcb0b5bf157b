"""The monitoring tests' world: one real ledger server per module that allows loopback
webhooks, a real webhook receiver that checks every signature with the Standard Webhooks
library, and the monitoring worker over the server's own database."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from standardwebhooks import Webhook, WebhookVerificationError
from web3 import Web3

from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from devtools.local_server import start_server
from devtools.seeding import register
from ledger_api.core.db import make_engine
from ledger_api.monitoring.delivery import Policy, send_due
from ledger_api.monitoring.worker import MonitorWorker, RoundResult
from terminal.client import SignedRecord, Terminal
from tests.conftest import LedgerServer, server_env

POLICY = Policy(max_attempts=4, backoff_s=5, backoff_max_s=600, timeout_s=5, allow_private=True)


@dataclass
class Received:
    path: str
    webhook_id: str
    payload: dict[str, Any]


@dataclass
class Receiver:
    """A webhook receiver on loopback: one secret per path, answers 503 while ``down``."""

    base_url: str = ""
    secrets: dict[str, str] = field(default_factory=dict)
    got: list[Received] = field(default_factory=list)
    forged: int = 0
    cut: int = 0
    down: bool = False

    def at(self, path: str) -> list[Received]:
        return [r for r in self.got if r.path == path]

    def handle(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        if self.down:
            return 503
        try:
            payload = Webhook(self.secrets[path]).verify(body, headers)
        except (KeyError, WebhookVerificationError):
            self.forged += 1
            return 400
        self.got.append(Received(path, headers["webhook-id"], payload))
        return 204


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", 0))
            body = self.rfile.read(length)
            if len(body) < length:  # the sender died mid-request (kill -9): nothing arrived
                receiver.cut += 1
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            self.send_response(receiver.handle(self.path, body, headers))
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(found))
    found.base_url = f"http://127.0.0.1:{http.server_address[1]}"
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield found
    http.shutdown()


@dataclass
class Mon:
    server: LedgerServer
    receiver: Receiver
    engine: Engine

    def round(self, now: int | None = None) -> RoundResult:
        """One worker round, then every delivery that is due."""
        result = MonitorWorker(self.engine, 8, 20_000).run_once(now)
        send_due(self.engine, POLICY, now)
        return result

    def principal(self, name: str, role: str, **scope: str) -> str:
        body = {"name": name, "role": role, **scope}
        answer = self.server.post("/v1/principals", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()["key"]["token"]

    def enterprise(
        self, identifier: str, sources: list[str], industry: str = "iron_steel"
    ) -> Terminal:
        terminal = Terminal.create()
        register(self.server.server, identifier, sources, terminal, industry=industry)
        return terminal

    def submit(self, records: list[SignedRecord]) -> None:
        client = self.server.ledger_client()
        try:
            client.submit(records)
        finally:
            client.close()

    def subscribe(self, token: str | None, path: str, **body: Any) -> dict[str, Any]:
        answer = self.server.post(
            "/v1/webhook-subscriptions", token, json={"url": self.receiver.base_url + path, **body}
        )
        assert answer.status_code == 201, answer.text
        self.receiver.secrets[path] = answer.json()["secret"]
        return answer.json()

    def rule(self, enterprise: str, kind: str, params: dict[str, Any], **extra: Any) -> int:
        body = {"enterprise": enterprise, "kind": kind, "params": params, **extra}
        answer = self.server.post("/v1/monitor-rules", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    def alerts(
        self, enterprise: str, token: str | None = None, **query: str
    ) -> list[dict[str, Any]]:
        answer = self.server.get("/v1/alerts", token, params={"enterprise": enterprise, **query})
        assert answer.status_code == 200, answer.text
        return answer.json()["alerts"]

    def alert(self, alert_id: int) -> dict[str, Any]:
        answer = self.server.get(f"/v1/alerts/{alert_id}")
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def mon(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
    receiver: Receiver,
) -> Iterator[Mon]:
    tmp = tmp_path_factory.mktemp("monitor")
    record, _ = deploy(w3, operator_account, tmp / "deployments")
    env = {**server_env(tmp, dev_chain.rpc_url), "CARBON_WEBHOOK_ALLOW_PRIVATE": "true"}
    process = start_server(tmp, env)
    server = LedgerServer(process.base_url, tmp, process.env, record, process)
    engine = make_engine(process.database_url)
    yield Mon(server, receiver, engine)
    engine.dispose()
    process.stop()

"""Per-principal ingestion limits, the request-size cap, request ids in structured logs, and
no secret in any log: API keys, the keystore passphrase, the operator's private key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from anchoring.operator import write_keystore
from devtools.local_server import ServerProcess, start_server
from devtools.seeding import register, signed_readings
from ledger_api.core.allowance import IngestLimiter
from terminal.client import Terminal
from tests.conftest import LedgerServer, server_env

ENTERPRISE = "88.118.8/ENT-LIMITS"
SOURCE = "88.118.8/SRC-LIMITS"
BATCH = 20  # records a batch may hold on the limited server
ALLOWANCE = 30  # records a principal may send a minute there
MAX_BYTES = 64 * 1024


@pytest.fixture
def limited(
    dev_chain: DevChain, w3: Web3, operator_account: LocalAccount, tmp_path: Path
) -> Iterator[ServerProcess]:
    deploy(w3, operator_account, tmp_path / "deployments")
    env = {
        **server_env(tmp_path, dev_chain.rpc_url),
        "CARBON_INGEST_RATE_LIMIT": f"{ALLOWANCE}/minute",
        "CARBON_MAX_BATCH_RECORDS": str(BATCH),
        "CARBON_MAX_REQUEST_BYTES": str(MAX_BYTES),
    }
    server = start_server(tmp_path, env)
    yield server
    server.stop()


def _terminal_key(server: ServerProcess, terminal: Terminal, name: str) -> str:
    body = {"name": name, "role": "terminal", "enterprise": ENTERPRISE}
    return server.post("/v1/principals", json=body).json()["key"]["token"]


def test_each_principal_has_its_own_allowance(limited: ServerProcess) -> None:
    terminal = Terminal.create()
    register(limited, ENTERPRISE, [SOURCE], terminal)
    key = _terminal_key(limited, terminal, "gateway")
    domain = limited.ledger_client().domain()
    records = [
        r.to_json() for r in signed_readings(terminal, domain, ENTERPRISE, SOURCE, range(1, 61))
    ]
    first = limited.post("/v1/activity-batches", key, json={"records": records[:BATCH]})
    assert first.status_code == 201
    # 20 spent of 30: the next 20 would go over, so the whole batch is refused.
    over = limited.post("/v1/activity-batches", key, json={"records": records[BATCH : 2 * BATCH]})
    assert (over.status_code, over.json()["error"]["code"]) == (429, "rate_limited")
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    digest = limited.post("/v1/activity-batches", json={"records": records[BATCH : BATCH + 1]})
    assert digest.status_code == 201  # another principal (the admin) is not held back
    stored = digest.json()["records"][0]["digest"]
    assert limited.get(f"/v1/records/{stored}").status_code == 200
    # Nothing of the refused batch was stored: its second record is still unknown.
    again = limited.post("/v1/activity-batches", json={"records": records[BATCH + 1 : BATCH + 2]})
    assert again.json()["accepted"] == 1


def test_an_allowance_below_one_batch_is_refused() -> None:
    with pytest.raises(ValueError, match="below one full batch"):
        IngestLimiter("10/minute", max_batch_records=11)


def test_bodies_over_the_cap_are_413(limited: ServerProcess) -> None:
    big = b'{"records": [' + b" " * MAX_BYTES + b"]}"
    declared = limited.post(
        "/v1/activity-batches", content=big, headers={"content-type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.json()["error"] == {
        "code": "body_too_large",
        "message": f"request body exceeds {MAX_BYTES} bytes",
        "field": "body",
    }

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap counts what arrives
        yield b'{"records": ['
        for _ in range(MAX_BYTES // 1024 + 1):
            yield b" " * 1024
        yield b"]}"

    streamed = limited.post(
        "/v1/activity-batches", content=chunks(), headers={"content-type": "application/json"}
    )
    assert (streamed.status_code, streamed.json()["error"]["code"]) == (413, "body_too_large")


def _log_lines(server: ServerProcess) -> list[dict]:
    lines = server.log_file.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_requests_are_logged_as_json_with_their_id(ledger: LedgerServer) -> None:
    given = ledger.get("/v1/me", headers={"X-Request-ID": "audit-trail-0001"})
    assert given.headers["X-Request-ID"] == "audit-trail-0001"
    minted = ledger.get("/v1/me", headers={"X-Request-ID": "bad id; drop"})
    minted_id = minted.headers["X-Request-ID"]
    assert len(minted_id) == 32 and minted_id != "bad id"  # a malformed id is replaced
    ledger.get("/v1/me", token="cl_0123456789abcdef_" + "x" * 43)
    ledger.server.stop()  # flush and close the log
    lines = _log_lines(ledger.server)
    line = next(x for x in lines if x.get("request_id") == "audit-trail-0001")
    assert line["event"] == "request" and line["level"] == "info"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/v1/me", 200)
    assert line["principal"] == "local-admin" and line["duration_ms"] >= 0
    assert any(x.get("request_id") == minted_id for x in lines)
    assert any(x.get("status") == 401 and x.get("principal") is None for x in lines)
    text = ledger.server.log_file.read_text(encoding="utf-8")
    assert ledger.token.split("_", 2)[2] not in text and "Authorization" not in text


def test_the_operator_key_and_passphrase_never_reach_the_output(
    ledger: LedgerServer, operator_account: LocalAccount, tmp_path: Path
) -> None:
    passphrase = "correct horse battery staple 7f3a"
    keystore = tmp_path / "operator.json"
    write_keystore(operator_account, keystore, passphrase)
    terminal = Terminal.create()
    register(ledger.server, ENTERPRISE, [SOURCE], terminal)
    client = ledger.ledger_client()
    client.submit(signed_readings(terminal, client.domain(), ENTERPRISE, SOURCE, range(1, 11)))
    env = {
        **os.environ,
        **ledger.env,
        "CARBON_DEV_ACCOUNTS": "false",
        "CARBON_KEYSTORE_PATH": str(keystore),
        "CARBON_KEYSTORE_PASSPHRASE": passphrase,
        "CARBON_LOG_LEVEL": "DEBUG",
    }
    command = [str(Path(sys.executable).parent / "carbon-ledger"), "anchor"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "anchored batch" in done.stdout
    wrong = subprocess.run(
        command,
        env={**env, "CARBON_KEYSTORE_PASSPHRASE": passphrase + "!"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert wrong.returncode == 1 and "wrong passphrase" in wrong.stderr
    private = operator_account.key.hex().removeprefix("0x")
    for output in (done.stdout, done.stderr, wrong.stdout, wrong.stderr):
        assert passphrase not in output and private not in output.lower()


def test_secret_keys_are_masked_even_if_passed_to_a_logger() -> None:
    code = (
        "import logging, structlog\n"
        "from ledger_api.core.logs import configure_logging\n"
        "configure_logging('INFO')\n"
        "structlog.get_logger('t').info('x', passphrase='hunter2', token='cl_abc', kept='yes')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert (line["passphrase"], line["token"], line["kept"]) == ("***", "***", "yes")


def test_unknown_keys_do_not_reach_ingestion(ledger: LedgerServer) -> None:
    response = httpx.post(ledger.base_url + "/v1/activity-batches", json={"records": []})
    assert response.status_code == 401

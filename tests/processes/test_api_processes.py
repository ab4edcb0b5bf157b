"""Several API processes serving one ledger: what one process learns, the others know.

Two `carbon-ledger serve` processes on one database stand in for the workers of
``CARBON_API_WORKERS``: which worker takes a connection is up to the kernel, two servers on
two ports make the hand-over explicit. One test also runs a real two-worker server.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from devtools.local_server import ServerProcess, start_server
from devtools.seeding import register, signed_readings, smelter_template
from terminal.client import Terminal
from tests.conftest import server_env
from tests.processes.fault_helpers import children

BATCH = 20  # records a batch may hold
ALLOWANCE = 30  # records a principal may send a minute
PARENT = "https://carbon-ledger.example/templates/industry/aluminium/v1"


@pytest.fixture
def pair(
    dev_chain: DevChain, w3: Web3, operator_account: LocalAccount, tmp_path: Path
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    deploy(w3, operator_account, tmp_path / "deployments")
    env = {
        **server_env(tmp_path, dev_chain.rpc_url),
        "CARBON_INGEST_RATE_LIMIT": f"{ALLOWANCE}/minute",
        "CARBON_MAX_BATCH_RECORDS": str(BATCH),
    }
    first = start_server(tmp_path, env)
    second = start_server(tmp_path, env)
    yield first, second
    first.stop()
    second.stop()


def test_an_allowance_spent_on_one_process_is_spent_on_all(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = pair
    terminal = Terminal.create()
    enterprise, source = "88.118.8/ENT-PAIR", "88.118.8/SRC-PAIR"
    register(a, enterprise, [source], terminal)
    body = {"name": "pair-gateway", "role": "terminal", "enterprise": enterprise}
    key = a.post("/v1/principals", json=body).json()["key"]["token"]
    records = [
        r.to_json()
        for r in signed_readings(
            terminal, a.ledger_client().domain(), enterprise, source, range(1, 41)
        )
    ]
    assert a.post("/v1/activity-batches", key, json={"records": records[:BATCH]}).status_code == 201
    # 20 of 30 spent through the first process: 20 more through the second go over.
    over = b.post("/v1/activity-batches", key, json={"records": records[BATCH:]})
    assert (over.status_code, over.json()["error"]["code"]) == (429, "rate_limited")
    # Cost 20 × 60 s / 30 = 40 s each: the second would end 80 s ahead, 20 s past the window.
    assert 19 <= int(over.headers["Retry-After"]) <= 20
    # A refused batch is not charged: 10 records (20 s) still fit, on either process.
    assert b.post("/v1/activity-batches", key, json={"records": records[20:30]}).status_code == 201


def test_a_template_registered_on_one_process_is_known_to_the_other(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = pair
    body = {"industry": "aluminium", "name": "smelter-pair", "document": smelter_template(PARENT)}
    first = a.post("/v1/templates", json=body)
    assert first.status_code == 201, first.text
    seen = b.get(f"/v1/templates/{first.json()['id']}")
    assert seen.status_code == 200 and seen.json()["digest"] == first.json()["digest"]
    # The second process numbers the next version after the one the first registered.
    second = b.post("/v1/templates", json=body)
    assert (second.status_code, second.json()["version"]) == (201, 2)
    assert a.get(f"/v1/templates/{second.json()['id']}").status_code == 200
    # An enterprise registered on one process under the template is checked on the other.
    enterprise = {
        "identifier": "88.118.8/ENT-TPL",
        "name": "Smelter",
        "industry": "aluminium",
        "template": second.json()["id"],
    }
    assert a.post("/v1/enterprises", json=enterprise).status_code == 201
    source = {
        "identifier": "88.118.8/SRC-TPL",
        "name": "Pot 1",
        "metadata": {"name": "Pot 1", "kind": "process", "activities": ["process.anode"]},
    }
    missing = b.post("/v1/enterprises/88.118.8/ENT-TPL/sources", json=source)
    assert (missing.status_code, missing.json()["error"]["field"]) == (422, "metadata.workshop")


def test_two_workers_serve_one_ledger(
    dev_chain: DevChain, w3: Web3, operator_account: LocalAccount, tmp_path: Path
) -> None:
    deploy(w3, operator_account, tmp_path / "deployments")
    env = {**server_env(tmp_path, dev_chain.rpc_url), "CARBON_API_WORKERS": "2"}
    server = start_server(tmp_path, env)
    try:
        # uvicorn's supervisor, two workers (and multiprocessing's resource tracker).
        assert len([p for p in children(server.process.pid) if _is_worker(p)]) == 2
        terminal = Terminal.create()
        enterprise, source = "88.118.8/ENT-WORKERS", "88.118.8/SRC-WORKERS"
        register(server, enterprise, [source], terminal)
        domain = server.ledger_client().domain()
        records = signed_readings(terminal, domain, enterprise, source, range(1, 61))
        for i in range(0, 60, 10):  # a new connection each time: either worker may take it
            with httpx.Client(base_url=server.base_url, headers=_auth(server)) as http:
                body = {"records": [r.to_json() for r in records[i : i + 10]]}
                assert http.post("/v1/activity-batches", json=body).json()["accepted"] == 10
        again = server.post("/v1/activity-batches", json={"records": [records[0].to_json()]})
        assert (again.status_code, again.json()["duplicates"]) == (200, 1)
    finally:
        server.stop()
    assert children(server.process.pid) == []


def _is_worker(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"resource_tracker" not in command


def _auth(server: ServerProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}

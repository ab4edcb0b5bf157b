"""Roles × endpoints × own / other enterprise, against one real server: zero leaks.

Enterprise A ("own") and enterprise B ("other") each have a terminal, a day of anchored
readings and an anchored evaluation. A grants the verifier and the financier read access; B
grants nobody. Every role calls every endpoint for A's and B's resources. A call the rules
allow must get past authorisation; any other must be 403 or 404 with an error body only —
never a byte of B's data, and a 404 indistinguishable from the one for a resource that does
not exist.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from devtools.local_server import ServerProcess, start_server
from devtools.seeding import register
from ledger_api.commands.serve import build_worker
from ledger_api.core.config import Settings
from terminal.client import Terminal
from tests.conftest import server_env
from verifier.protocol.typed_data import ActivityRecord

OWN, OTHER = "own", "other"
A = "88.118.8/ENT-ACCESS-A"
B = "88.118.8/ENT-ACCESS-B"
SOURCES = {A: "88.118.8/SRC-ACCESS-A", B: "88.118.8/SRC-ACCESS-B"}
B_NAME = "Other Works Ltd"  # must never appear in an answer to a caller who may not see B
JUNE_1_2025_CST = 1_748_707_200
HOUR = 3_600
ROLES = ("admin", "regulator", "enterprise", "terminal", "verifier", "financier")


@dataclass
class World:
    server: ServerProcess
    tokens: dict[str, str]
    terminals: dict[str, Terminal]
    records: dict[str, str]  # enterprise → digest of its first record
    signed: dict[str, dict[str, Any]]  # enterprise → its first record as submitted
    evaluations: dict[str, str]
    terminal_principals: dict[str, str]

    def call(self, role: str, method: str, path: str, body: Any = None) -> httpx.Response:
        token = self.tokens[role]
        return self.server.client(token, timeout=60).request(method, path, json=body)

    def admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        response = self.server.client(timeout=60).request(method, path, json=body)
        assert response.status_code < 300, response.text
        return response


def _day_of_readings(server: ServerProcess, enterprise: str) -> Terminal:
    terminal = Terminal.create()
    register(server, enterprise, [SOURCES[enterprise]], terminal, industry="aluminium")
    client = server.ledger_client()
    domain = client.domain()
    records = [
        terminal.sign(
            domain,
            ActivityRecord(
                enterprise=enterprise,
                source=SOURCES[enterprise],
                device=terminal.address,
                seq=i + 1,
                activity="electricity.purchased",
                quantity=10_000,
                decimals=3,
                unit="MWh",
                period_start=JUNE_1_2025_CST + i * HOUR,
                period_end=JUNE_1_2025_CST + (i + 1) * HOUR,
            ),
        )
        for i in range(25)  # the 25th, past the evaluated day, closes it
    ]
    client.submit(records)
    return terminal


def _principal(server: ServerProcess, name: str, role: str, **scope: str) -> str:
    with server.client() as http:
        response = http.post("/v1/principals", json={"name": name, "role": role, **scope})
    assert response.status_code == 201, response.text
    return response.json()["key"]["token"]


@pytest.fixture(scope="module")
def world(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("access")
    deploy(w3, operator_account, tmp / "deployments")
    server = start_server(tmp, server_env(tmp, dev_chain.rpc_url))
    database_url = server.env.get("CARBON_DATABASE_URL")
    settings = Settings(data_dir=tmp, rpc_url=dev_chain.rpc_url, database_url=database_url)
    try:
        yield _build_world(server, settings)
    finally:
        server.stop()


def _build_world(server: ServerProcess, settings: Settings) -> World:
    terminals = {e: _day_of_readings(server, e) for e in (A, B)}
    build_worker(settings).run_once()
    evaluations = {}
    for enterprise in (A, B):
        body = {
            "enterprise": enterprise,
            "periodStart": "2025-06-01",
            "periodEnd": "2025-06-01",
            "addedValue": "10",
            "ruleset": "zj-huzhou-2021",
        }
        evaluations[enterprise] = server.post("/v1/evaluations", json=body).json()["identifier"]
    build_worker(settings).run_once()
    with server.client() as http:  # B data that a leak would show
        assert http.post(f"/v1/enterprises/{B}/sources", json={"name": B_NAME}).is_success
    tokens = {
        "admin": server.token,
        "regulator": _principal(server, "regulator", "regulator"),
        "enterprise": _principal(server, "enterprise-a", "enterprise", enterprise=A),
        "terminal": _principal(
            server, "terminal-a", "terminal", enterprise=A, device=terminals[A].address
        ),
        "verifier": _principal(server, "verifier", "verifier"),
        "financier": _principal(server, "financier", "financier"),
    }
    _principal(server, "terminal-b", "terminal", enterprise=B)
    _principal(server, "spare-verifier", "verifier")  # granted by the matrix, read by no one
    with server.client() as http:
        for grantee in ("verifier", "financier"):
            assert http.post(f"/v1/enterprises/{A}/grants", json={"grantee": grantee}).is_success
    records, signed = {}, {}
    client = server.ledger_client()
    domain = client.domain()
    for enterprise in (A, B):
        terminal = terminals[enterprise]
        record = ActivityRecord(
            enterprise=enterprise,
            source=SOURCES[enterprise],
            device=terminal.address,
            seq=1,
            activity="electricity.purchased",
            quantity=10_000,
            decimals=3,
            unit="MWh",
            period_start=JUNE_1_2025_CST,
            period_end=JUNE_1_2025_CST + HOUR,
        )
        again = terminal.sign(domain, record)
        signed[enterprise] = again.to_json()
        records[enterprise] = client.submit([again])["records"][0]["digest"]
    return World(
        server,
        tokens,
        terminals,
        records,
        signed,
        evaluations,
        {A: "terminal-a", B: "terminal-b"},
    )


# --- the endpoints: who may call them, and whether they are scoped to an enterprise ----------

READERS = frozenset({"admin", "regulator", "enterprise", "verifier", "financier"})
MANAGERS = frozenset({"admin", "enterprise"})
EVERYONE = frozenset(ROLES)
Target = Callable[[World, str], tuple[str, str, Any]]  # (world, enterprise) → method, path, body


@dataclass(frozen=True)
class Endpoint:
    name: str
    roles: frozenset[str]
    scoped: bool
    target: Target


def _fresh_device(world: World, enterprise: str) -> str:
    address = Terminal.create().address
    body = {"address": address, "enterprise": enterprise, "sources": [SOURCES[enterprise]]}
    world.admin("POST", "/v1/devices", body)
    return address


def _fresh_key(world: World, enterprise: str) -> str:
    name = f"t-{secrets.token_hex(4)}"
    body = {"name": name, "role": "terminal", "enterprise": enterprise}
    return world.admin("POST", "/v1/principals", body).json()["key"]["keyId"]


def _evaluation_body(enterprise: str) -> dict[str, str]:
    # A period without data: past authorisation, the answer is 422 no_data.
    return {"enterprise": enterprise, "periodStart": "2025-08-01", "periodEnd": "2025-08-01"}


ENDPOINTS = [
    Endpoint("get enterprise", READERS, True, lambda w, e: ("GET", f"/v1/enterprises/{e}", None)),
    Endpoint(
        "list sources", READERS, True, lambda w, e: ("GET", f"/v1/enterprises/{e}/sources", None)
    ),
    Endpoint(
        "add source",
        MANAGERS,
        True,
        lambda w, e: ("POST", f"/v1/enterprises/{e}/sources", {"name": "kiln"}),
    ),
    Endpoint(
        "get device",
        EVERYONE,
        True,
        lambda w, e: ("GET", f"/v1/devices/{w.terminals[e].address}", None),
    ),
    Endpoint(
        "add device",
        MANAGERS,
        True,
        lambda w, e: (
            "POST",
            "/v1/devices",
            {"address": Terminal.create().address, "enterprise": e, "sources": [SOURCES[e]]},
        ),
    ),
    Endpoint(
        "revoke device",
        MANAGERS,
        True,
        lambda w, e: ("POST", f"/v1/devices/{_fresh_device(w, e)}/revoke", None),
    ),
    Endpoint(
        "rotate device",
        MANAGERS,
        True,
        lambda w, e: (
            "POST",
            f"/v1/devices/{_fresh_device(w, e)}/rotate",
            {"newAddress": Terminal.create().address},
        ),
    ),
    Endpoint(
        "submit records",
        frozenset({"admin", "enterprise", "terminal"}),
        True,
        lambda w, e: ("POST", "/v1/activity-batches", {"records": [w.signed[e]]}),
    ),
    Endpoint(
        "get record", READERS, True, lambda w, e: ("GET", f"/v1/records/{w.records[e]}", None)
    ),
    Endpoint(
        "record proof",
        READERS,
        True,
        lambda w, e: ("GET", f"/v1/records/{w.records[e]}/proof", None),
    ),
    Endpoint(
        "run evaluation",
        MANAGERS,
        True,
        lambda w, e: ("POST", "/v1/evaluations", _evaluation_body(e)),
    ),
    Endpoint(
        "get evaluation",
        READERS,
        True,
        lambda w, e: ("GET", f"/v1/evaluations/{w.evaluations[e]}", None),
    ),
    Endpoint(
        "figure proof",
        READERS,
        True,
        lambda w, e: ("GET", f"/v1/evaluations/{w.evaluations[e]}/proof", None),
    ),
    Endpoint(
        "report",
        READERS,
        True,
        lambda w, e: ("GET", f"/v1/evaluations/{w.evaluations[e]}/report", None),
    ),
    Endpoint("ratings", READERS, True, lambda w, e: ("GET", f"/v1/enterprises/{e}/ratings", None)),
    Endpoint("figures", READERS, True, lambda w, e: ("GET", f"/v1/enterprises/{e}/figures", None)),
    Endpoint("resolve", READERS, True, lambda w, e: ("GET", f"/api/handles/{e}", None)),
    Endpoint(
        "resolve source", READERS, True, lambda w, e: ("GET", f"/api/handles/{SOURCES[e]}", None)
    ),
    Endpoint(
        "resolve evaluation",
        READERS,
        True,
        lambda w, e: ("GET", f"/api/handles/{w.evaluations[e]}", None),
    ),
    Endpoint(
        "list grants",
        frozenset({"admin", "regulator", "enterprise"}),
        True,
        lambda w, e: ("GET", f"/v1/enterprises/{e}/grants", None),
    ),
    Endpoint(
        "grant access",
        MANAGERS,
        True,
        lambda w, e: ("POST", f"/v1/enterprises/{e}/grants", {"grantee": "spare-verifier"}),
    ),
    Endpoint(
        "create terminal principal",
        MANAGERS,
        True,
        lambda w, e: (
            "POST",
            "/v1/principals",
            {"name": f"t-{secrets.token_hex(4)}", "role": "terminal", "enterprise": e},
        ),
    ),
    Endpoint(
        "create regulator principal",
        frozenset({"admin"}),
        False,
        lambda w, e: (
            "POST",
            "/v1/principals",
            {"name": f"r-{secrets.token_hex(4)}", "role": "regulator"},
        ),
    ),
    Endpoint(
        "get principal",
        MANAGERS,
        True,
        lambda w, e: ("GET", f"/v1/principals/{w.terminal_principals[e]}", None),
    ),
    Endpoint(
        "new key",
        MANAGERS,
        True,
        lambda w, e: ("POST", f"/v1/principals/{w.terminal_principals[e]}/keys", None),
    ),
    Endpoint(
        "list keys",
        MANAGERS,
        True,
        lambda w, e: ("GET", f"/v1/principals/{w.terminal_principals[e]}/keys", None),
    ),
    Endpoint(
        "revoke key",
        MANAGERS,
        True,
        lambda w, e: ("POST", f"/v1/keys/{_fresh_key(w, e)}/revoke", None),
    ),
    Endpoint(
        "batch",
        frozenset({"admin", "regulator", "verifier"}),
        False,
        lambda w, e: ("GET", "/v1/batches/1", None),
    ),
    Endpoint(
        "batch tree",  # every tenant's leaves: for those who see every enterprise
        frozenset({"admin", "regulator"}),
        False,
        lambda w, e: ("GET", "/v1/batches/1/tree", None),
    ),
    Endpoint(
        "register enterprise",
        frozenset({"admin"}),
        False,
        lambda w, e: ("POST", "/v1/enterprises", {"name": "New Co", "industry": "aluminium"}),
    ),
    Endpoint(
        "bulk registration",
        frozenset({"admin"}),
        False,
        lambda w, e: ("POST", "/v1/registrations/bulk?dryRun=true", {"sheets": {}}),
    ),
    Endpoint(
        "register template", frozenset({"admin"}), False, lambda w, e: ("POST", "/v1/templates", {})
    ),
    Endpoint("get template", EVERYONE, False, lambda w, e: ("GET", "/v1/templates/none", None)),
    Endpoint("me", EVERYONE, False, lambda w, e: ("GET", "/v1/me", None)),
    Endpoint(
        "set asset signer",
        MANAGERS,
        True,
        lambda w, e: ("PUT", f"/v1/enterprises/{e}/signer", {"address": Terminal.create().address}),
    ),
    Endpoint(
        "name programme issuer key",
        frozenset({"admin", "regulator"}),
        False,
        lambda w, e: ("PUT", "/v1/programs/CEA/issuer", {"address": Terminal.create().address}),
    ),
    Endpoint("assets", READERS, True, lambda w, e: ("GET", f"/v1/enterprises/{e}/assets", None)),
    Endpoint("profile", READERS, True, lambda w, e: ("GET", f"/v1/enterprises/{e}/profile", None)),
    Endpoint(
        "portfolio",
        frozenset({"admin", "regulator", "financier"}),
        False,
        lambda w, e: ("GET", "/v1/portfolio", None),
    ),
    Endpoint(
        "aggregates",
        frozenset({"admin", "regulator"}),
        False,
        lambda w, e: ("GET", "/v1/aggregates/ratings", None),
    ),
]


def allowed(endpoint: Endpoint, role: str, tenant: str) -> bool:
    if role not in endpoint.roles:
        return False
    if not endpoint.scoped or role in ("admin", "regulator"):
        return True
    return tenant == OWN


CASES = [
    pytest.param(e, role, tenant, id=f"{e.name}-{role}-{tenant}")
    for e in ENDPOINTS
    for role in ROLES
    for tenant in (OWN, OTHER)
    if e.scoped or tenant == OWN
]


def _assert_denied(response: httpx.Response, where: str) -> None:
    assert response.status_code in (403, 404), f"{where}: {response.status_code} {response.text}"
    body = response.json()
    assert B_NAME not in response.text, where
    if "responseCode" in body:  # identifier resolution answers in the Handle shape
        assert set(body) == {"responseCode", "handle"} and body["responseCode"] == 100, where
        return
    assert set(body) == {"error"}, where
    assert set(body["error"]) <= {"code", "message", "field", "problems"}, where
    code = body["error"]["code"]
    expected = "forbidden" if response.status_code == 403 else "not_found"
    assert code == expected or code.endswith("_" + expected), where


@pytest.mark.parametrize(("endpoint", "role", "tenant"), CASES)
def test_role_endpoint_tenant(world: World, endpoint: Endpoint, role: str, tenant: str) -> None:
    enterprise = A if tenant == OWN else B
    method, path, body = endpoint.target(world, enterprise)
    response = world.call(role, method, path, body)
    where = f"{role} {method} {path} ({tenant})"
    assert response.status_code < 500, f"{where}: {response.text}"
    if allowed(endpoint, role, tenant):
        assert response.status_code not in (401, 403), f"{where}: {response.text}"
        if response.status_code == 404:  # past authorisation only when the thing is missing
            assert endpoint.name == "get template", f"{where}: {response.text}"
        if method == "GET" and endpoint.name != "get template":
            assert response.status_code == 200, f"{where}: {response.text}"
    else:
        _assert_denied(response, where)


def test_a_hidden_enterprise_looks_like_a_missing_one(world: World) -> None:
    """The verifier asks for B (hidden) and for an enterprise that does not exist: the two
    answers differ only in the identifier each echoes."""
    hidden = world.call("verifier", "GET", f"/v1/enterprises/{B}").json()
    missing = world.call("verifier", "GET", "/v1/enterprises/88.118.8/ENT-NOBODY").json()
    assert hidden["error"]["code"] == missing["error"]["code"] == "enterprise_not_found"
    assert hidden["error"]["message"].replace(B, "?") == missing["error"]["message"].replace(
        "88.118.8/ENT-NOBODY", "?"
    )


@pytest.mark.parametrize(
    "header",
    [None, "Bearer nonsense", "Bearer cl_0000000000000000_" + "A" * 43, "Basic YWRtaW46YWRtaW4="],
)
def test_no_live_key_is_401_everywhere(world: World, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    for endpoint in ENDPOINTS:
        method, path, body = endpoint.target(world, A)
        response = httpx.request(
            method, world.server.base_url + path, json=body, headers=headers, timeout=60
        )
        assert response.status_code == 401, f"{endpoint.name}: {response.text}"
        assert response.json()["error"]["code"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert httpx.get(world.server.base_url + "/v1/typed-data").status_code == 200  # public


def test_a_financiers_portfolio_lists_only_consenting_enterprises(world: World) -> None:
    mine = world.call("financier", "GET", "/v1/portfolio").json()
    assert [item["enterprise"] for item in mine["items"]] == [A] and mine["total"] == 1
    assert B_NAME not in world.call("financier", "GET", "/v1/portfolio?format=csv").text
    everyone = world.call("regulator", "GET", "/v1/portfolio?limit=500").json()
    assert {A, B} <= {item["enterprise"] for item in everyone["items"]}

"""Small oracles (issue 15, item 10): answers that told a caller what it may not know.

Revoking a key id of a principal the caller may not manage answered ``principal_not_found``
naming the key's owner, while an unknown id answered ``key_not_found``; and a terminal key,
which may not read evaluations, enterprises or sources, read them through the handle
resolver. Each hidden thing must now be answered word for word as a missing one.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from devtools.seeding import register
from ledger_api.commands.serve import build_worker
from terminal.client import Terminal
from tests.conftest import LedgerServer
from tests.ledger_api.evaluations.helpers import anchored_hours

A = "88.118.8/ENT-ORACLE-A"
B = "88.118.8/ENT-ORACLE-B"
SOURCE_A = "88.118.8/SRC-ORACLE-A"
SOURCE_B = "88.118.8/SRC-ORACLE-B"
MISSING = "88.118.8/ORACLE-NOBODY"
JUNE_1_2025_CST = 1_748_707_200


def _principal(ledger: LedgerServer, name: str, role: str, **scope: str) -> dict[str, Any]:
    response = ledger.post("/v1/principals", json={"name": name, "role": role, **scope})
    assert response.status_code == 201, response.text
    return response.json()["key"]


def _answer(response: httpx.Response) -> tuple[int, Any]:
    return response.status_code, response.json()


def test_revoking_a_key_of_another_principal_answers_as_an_unknown_key(
    ledger: LedgerServer,
) -> None:
    register(ledger.server, A, [SOURCE_A], Terminal.create())
    register(ledger.server, B, [SOURCE_B], Terminal.create())
    owner = _principal(ledger, "oracle-owner-a", "enterprise", enterprise=A)["token"]
    theirs = {
        "terminal of B": _principal(ledger, "oracle-terminal-b", "terminal", enterprise=B),
        "enterprise B": _principal(ledger, "oracle-owner-b", "enterprise", enterprise=B),
        "a verifier": _principal(ledger, "oracle-verifier", "verifier"),
    }
    unknown = _answer(ledger.post("/v1/keys/0123456789abcdef/revoke", owner))
    for whose, key in theirs.items():
        response = ledger.post(f"/v1/keys/{key['keyId']}/revoke", owner)
        assert _answer(response) == unknown, whose
        for name in ("oracle-terminal-b", "oracle-owner-b", "oracle-verifier", B):
            assert name not in response.text, whose
        assert ledger.get("/v1/me", key["token"]).status_code == 200, f"{whose}: still live"
    # Status, code, message and field alike: the message echoes neither the id nor an owner.
    assert unknown == (404, {"error": {"code": "key_not_found", "message": "no such key"}})
    # Its own terminal's key it still revokes.
    own = _principal(ledger, "oracle-terminal-a", "terminal", enterprise=A)
    revoked = ledger.post(f"/v1/keys/{own['keyId']}/revoke", owner)
    assert revoked.status_code == 200 and revoked.json()["revokedAt"] is not None
    assert ledger.get("/v1/me", own["token"]).status_code == 401


def _resolve(ledger: LedgerServer, identifier: str, token: str | None) -> tuple[int, Any]:
    status, body = _answer(ledger.get(f"/api/handles/{identifier}", token))
    assert body.get("handle") == identifier
    return status, {**body, "handle": "?"}  # the identifier asked about, echoed


def test_a_handle_answers_only_what_its_resource_would(ledger: LedgerServer) -> None:
    anchored_hours(ledger, A, SOURCE_A, "aluminium", JUNE_1_2025_CST, 24, 10_000)
    body = {
        "enterprise": A,
        "periodStart": "2025-06-01",
        "periodEnd": "2025-06-01",
        "addedValue": "10",
        "ruleset": "zj-huzhou-2021",
    }
    created = ledger.post("/v1/evaluations", json=body)
    assert created.status_code == 201, created.text
    evaluation = created.json()["identifier"]
    build_worker(ledger.settings()).run_once()
    source = ledger.get(f"/api/handles/{SOURCE_A}").json()["values"]
    terminals = next(v["data"]["value"] for v in source if v["type"] == "CL_TERMINALS")
    (device,) = json.loads(terminals)
    terminal = _principal(ledger, "oracle-terminal", "terminal", enterprise=A)["token"]
    verifier = _principal(ledger, "oracle-verifier", "verifier")["token"]  # no grant from A

    # The terminal may not read these resources directly ...
    assert ledger.get(f"/v1/evaluations/{evaluation}", terminal).status_code == 403
    assert ledger.get(f"/v1/enterprises/{A}", terminal).status_code == 403
    # ... so their handles answer it exactly as an identifier that does not exist.
    missing = _resolve(ledger, MISSING, terminal)
    assert missing == (404, {"responseCode": 100, "handle": "?"})
    for hidden in (evaluation, A, SOURCE_A):
        assert _resolve(ledger, hidden, terminal) == missing, hidden
        assert _resolve(ledger, hidden, verifier) == missing, hidden
    # A terminal's address it may read, over /v1/devices and as a handle alike.
    assert ledger.get(f"/v1/devices/{device}", terminal).status_code == 200
    assert _resolve(ledger, device, terminal)[0] == 200
    # The roles that read the resources still resolve them.
    owner = _principal(ledger, "oracle-owner", "enterprise", enterprise=A)["token"]
    for token in (None, owner):  # None: the admin key
        for readable in (evaluation, A, SOURCE_A):
            assert _resolve(ledger, readable, token)[0] == 200, readable

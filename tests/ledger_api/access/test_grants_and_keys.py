"""Consent as anchored entries, and API keys that are shown once, stored hashed, revocable."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from ledger_api.commands.serve import build_worker
from ledger_api.core.db import engine_for
from tests.conftest import LedgerServer
from tests.ledger_api.evaluations.helpers import anchored_hours

ENTERPRISE = "88.118.8/ENT-AL-GRANT"
GRID = "88.118.8/SRC-AL-GRANT-GRID"
JUNE_1_2025_CST = 1_748_707_200
ZERO = "0x" + "00" * 32


def _principal(ledger: LedgerServer, token: str | None, **body: str) -> dict:
    response = ledger.post("/v1/principals", token, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _anchored_leaves(ledger: LedgerServer) -> set[tuple[str, str, str]]:
    """Every leaf value of every batch, as the trees list them."""
    values: set[tuple[str, str, str]] = set()
    batch = 1
    while (tree := ledger.get(f"/v1/batches/{batch}/tree")).status_code == 200:
        values |= {tuple(v["value"]) for v in tree.json()["values"]}
        batch += 1
    return values


def _every_value(ledger: LedgerServer) -> str:
    """Every value of every row of every table of the ledger's database, one per line;
    binary ones in hex, as a dump of the database file spells them."""
    engine = engine_for(ledger.settings().effective_database_url)
    quote = engine.dialect.identifier_preparer.quote
    values: list[str] = []
    for table in inspect(engine).get_table_names():
        for row in ledger.sql(f"SELECT * FROM {quote(table)}"):
            values += [bytes(v).hex() if isinstance(v, bytes | memoryview) else str(v) for v in row]
    return "\n".join(values)


@pytest.fixture
def rated(ledger: LedgerServer) -> LedgerServer:
    """One aluminium smelter with a day of anchored readings, evaluated and anchored."""
    anchored_hours(ledger, ENTERPRISE, GRID, "aluminium", JUNE_1_2025_CST, 24, 10_000)
    body = {
        "enterprise": ENTERPRISE,
        "periodStart": "2025-06-01",
        "periodEnd": "2025-06-01",
        "addedValue": "10",
        "ruleset": "zj-huzhou-2021",
    }
    assert ledger.post("/v1/evaluations", json=body).status_code == 201
    build_worker(ledger.settings()).run_once()
    return ledger


def test_consent_opens_and_closes_a_financiers_view(rated: LedgerServer) -> None:
    owner = _principal(rated, None, name="smelter", role="enterprise", enterprise=ENTERPRISE)
    bank = _principal(rated, None, name="green-bank", role="financier")
    owner_key, bank_key = owner["key"]["token"], bank["key"]["token"]
    ratings = f"/v1/enterprises/{ENTERPRISE}/ratings"
    assert rated.get(ratings, bank_key).status_code == 404

    granted = rated.post(
        f"/v1/enterprises/{ENTERPRISE}/grants",
        owner_key,
        json={"grantee": "green-bank", "purpose": "碳效贷 credit review"},
    )
    assert granted.status_code == 201, granted.text
    grant = granted.json()
    again = rated.post(
        f"/v1/enterprises/{ENTERPRISE}/grants", owner_key, json={"grantee": "green-bank"}
    )
    assert (again.status_code, again.json()["id"]) == (200, grant["id"])  # one live grant

    seen = rated.get(ratings, bank_key)
    assert seen.status_code == 200 and seen.json()[0]["grade"] in (1, 2, 3, 4, 5)
    me = rated.get("/v1/me", bank_key).json()
    assert [g["enterprise"] for g in me["grants"]] == [ENTERPRISE]

    withdrawn = rated.post(
        f"/v1/enterprises/{ENTERPRISE}/grants/{grant['id']}/revoke", owner_key
    ).json()
    assert withdrawn["revokedAt"] is not None and withdrawn["revokedEvent"] != ZERO
    assert rated.get(ratings, bank_key).status_code == 404

    # Both the grant and its withdrawal are registry events (kind 3) under anchored roots.
    build_worker(rated.settings()).run_once()
    leaves = _anchored_leaves(rated)
    assert ("3", grant["grantedEvent"], ZERO) in leaves
    assert ("3", withdrawn["revokedEvent"], ZERO) in leaves


def test_only_verifiers_and_financiers_can_be_granted(rated: LedgerServer) -> None:
    _principal(rated, None, name="other-smelter-key", role="regulator")
    response = rated.post(
        f"/v1/enterprises/{ENTERPRISE}/grants", json={"grantee": "other-smelter-key"}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_grantee")
    missing = rated.post(f"/v1/enterprises/{ENTERPRISE}/grants", json={"grantee": "nobody"})
    assert missing.json()["error"]["field"] == "grantee"


def test_keys_are_shown_once_stored_hashed_and_revocable(rated: LedgerServer) -> None:
    owner = _principal(rated, None, name="smelter", role="enterprise", enterprise=ENTERPRISE)
    owner_key = owner["key"]["token"]
    terminal = _principal(rated, owner_key, name="smelter-gw", role="terminal")
    assert terminal["enterprise"] == ENTERPRISE  # an enterprise's terminals are its own
    first = terminal["key"]
    second = rated.post("/v1/principals/smelter-gw/keys", owner_key, json={"label": "rotated"})
    assert second.status_code == 201
    listed = rated.get("/v1/principals/smelter-gw/keys", owner_key).json()
    assert {k["keyId"] for k in listed} == {first["keyId"], second.json()["keyId"]}
    assert all("token" not in k and "secret" not in str(k) for k in listed)

    dump = _every_value(rated)
    assert first["keyId"] in dump  # the dump reads the keys' table
    # cl_<key id>_<secret>: the secret itself may hold "_", so split from the left
    for token in (first["token"], second.json()["token"], owner_key):
        assert token.split("_", 2)[2] not in dump  # only a hash of the secret is kept

    assert rated.get("/v1/me", first["token"]).status_code == 200
    revoked = rated.post(f"/v1/keys/{first['keyId']}/revoke", owner_key)
    assert revoked.status_code == 200 and revoked.json()["revokedAt"] is not None
    refused = rated.get("/v1/me", first["token"])
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "unauthenticated")
    assert rated.get("/v1/me", second.json()["token"]).json()["name"] == "smelter-gw"


def test_an_enterprise_cannot_mint_other_roles(rated: LedgerServer) -> None:
    owner = _principal(rated, None, name="smelter", role="enterprise", enterprise=ENTERPRISE)
    for role in ("admin", "regulator", "financier", "enterprise"):
        body = {"name": f"x-{role}", "role": role}
        if role == "enterprise":
            body["enterprise"] = ENTERPRISE
        response = rated.post("/v1/principals", owner["key"]["token"], json=body)
        assert response.status_code in (403, 422), (role, response.text)
        assert rated.get(f"/v1/principals/x-{role}").status_code == 404

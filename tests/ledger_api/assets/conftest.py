"""The asset tests' shared fixture: ``book``, a ledger with two enterprises and a programme
issuer, each with a registered key (tests/ledger_api/assets/book.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from terminal.client import Terminal
from tests.conftest import LedgerServer
from tests.ledger_api.assets.book import CEMENT, ISSUER, STEEL, Book


@pytest.fixture
def book(ledger: LedgerServer) -> Iterator[Book]:
    keys = {STEEL: Terminal.create(), CEMENT: Terminal.create(), ISSUER: Terminal.create()}
    with ledger.client() as http:
        for enterprise in (STEEL, CEMENT):
            body = {"identifier": enterprise, "name": enterprise, "industry": "iron_steel"}
            assert http.post("/v1/enterprises", json=body).status_code == 201
            signer = {"address": keys[enterprise].address}
            assert http.put(f"/v1/enterprises/{enterprise}/signer", json=signer).status_code == 201
        issuer = {"address": keys[ISSUER].address}
        assert http.put("/v1/programs/CEA/issuer", json=issuer).status_code == 201
    yield Book(ledger, ledger.ledger_client().domain(), keys)

"""The asset tests' book: a ledger with two enterprises and a programme issuer, each with a
registered key, the lot they trade and the operations they sign (the ``book`` fixture is in
this folder's conftest.py), and a hostile tenant with a key of its own."""

from __future__ import annotations

from dataclasses import dataclass, replace

import httpx

from terminal.client import Terminal
from tests.conftest import LedgerServer
from verifier.protocol.asset_ops import ZERO_PREV, AssetOperation
from verifier.protocol.typed_data import Domain

STEEL = "88.118.8/ENT-ASSET-STEEL"
CEMENT = "88.118.8/ENT-ASSET-CEMENT"
LOT = "88.118.8/CL-AST-CEA2025-0001"
FIRST, LAST = 1_000_001, 1_001_000  # 1,000 allowances of 1 tCO2e
TRANSFERRED = (1_000_001, 1_000_300)  # 300 to the cement works
RETIRED = (1_000_301, 1_000_400)  # 100 retired by the steel works
SURRENDERED = (1_000_401, 1_000_650)  # 250 surrendered for compliance
NOW = 1_767_225_600
ISSUER = "issuer:CEA"  # the key the CEA programme's issues are signed with


@dataclass
class Book:
    ledger: LedgerServer
    domain: Domain
    keys: dict[str, Terminal]
    head: bytes = ZERO_PREV

    def op(self, action: str, first: int, last: int, **changes: object) -> AssetOperation:
        base = AssetOperation(
            action=action,
            asset=LOT,
            program="CEA",
            vintage=2025,
            serial_prefix="CN-CEA-2025-",
            first=first,
            last=last,
            owner=STEEL,
            recipient="",
            prev=self.head,
            reference="",
            timestamp=NOW,
        )
        return replace(base, **changes)  # type: ignore[arg-type]

    def post(
        self, op: AssetOperation, signer: str | None = None, token: str | None = None
    ) -> httpx.Response:
        """Submit ``op`` signed by ``signer``'s key (default: the issuer's for an issue, else
        the owner's), with ``token`` (default: the admin's)."""
        key = self.keys[signer or (ISSUER if op.action == "issue" else op.owner)]
        body = {
            "operation": op.to_message(),
            "signature": key.sign_asset_operation(self.domain, op),
        }
        response = self.ledger.post("/v1/asset-operations", token, json=body)
        if response.status_code == 201:
            self.head = bytes.fromhex(response.json()["digest"][2:])
        return response

    def balances(self, enterprise: str) -> dict[str, int]:
        (lot,) = self.ledger.get(f"/v1/enterprises/{enterprise}/assets").json()
        return {k: lot[k] for k in ("held", "retired", "surrendered")}


TENANT = "88.118.8/ENT-ASSET-TENANT"


def tenant(book: Book) -> str:
    """A tenant with its own enterprise, enterprise key and registered asset key."""
    body = {"identifier": TENANT, "name": "tenant", "industry": "iron_steel"}
    assert book.ledger.post("/v1/enterprises", json=body).status_code == 201
    principal = {"name": "tenant", "role": "enterprise", "enterprise": TENANT}
    token: str = book.ledger.post("/v1/principals", json=principal).json()["key"]["token"]
    book.keys[TENANT] = Terminal.create()
    with book.ledger.client(token) as http:
        signer = {"address": book.keys[TENANT].address}
        assert http.put(f"/v1/enterprises/{TENANT}/signer", json=signer).status_code == 201
    return token

"""Registry changes signed by the enterprise's own key (issue 14 item 5): the ledger stores what
the enterprise signed and refuses anything else, all or nothing, with a named code and field."""

from __future__ import annotations

import rfc8785
from eth_account import Account
from eth_account.messages import encode_typed_data

from devtools.seeding import EFFECTIVE, enterprise_key, register, sign_registry
from terminal.client import Terminal
from tests.conftest import LedgerServer
from verifier.protocol.registry_ops import (
    REGISTRY_OPERATION_FIELDS,
    RegistryOperation,
    registry_operation_digest,
    registry_typed_data,
)

ENT = "88.118.8/ENT-SIGNED-01"
SRC = "88.118.8/SRC-SIGNED-01-KILN"
OTHER = "88.118.8/SRC-SIGNED-01-DRYER"


def head(ledger: LedgerServer, enterprise: str = ENT) -> dict:
    answer = ledger.get(f"/v1/enterprises/{enterprise}/registry-head")
    assert answer.status_code == 200, answer.text
    return answer.json()


def sources(ledger: LedgerServer) -> list[str]:
    return [s["identifier"] for s in ledger.get(f"/v1/enterprises/{ENT}/sources").json()]


def source_change(source: str) -> tuple[str, str, dict]:
    return ("source.registered", source, {"name": source, "metadata": None})


def test_registration_is_a_chain_signed_by_the_enterprise(ledger: LedgerServer) -> None:
    terminal = Terminal.create()
    register(ledger.server, ENT, [SRC], terminal)
    now = head(ledger)
    # enrolment (0), the source (1), the terminal (2); the registrar named the first key
    assert now["index"] == 2 and now["signer"] == enterprise_key(ENT).address
    device = ledger.get(f"/v1/devices/{terminal.address}").json()
    assert device["sources"] == [SRC] and device["status"] == "active"


def test_the_operators_own_key_is_refused(ledger: LedgerServer) -> None:
    register(ledger.server, ENT, [SRC], Terminal.create())
    before = head(ledger)
    operator = Terminal.create()
    answer = sign_registry(ledger.server, ENT, [source_change(OTHER)], key=operator)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "signer_not_enterprise"
    assert answer.json()["error"]["field"] == "operations.0.signature"
    assert head(ledger) == before and sources(ledger) == [SRC]
    with ledger.client() as http:  # nor may it swap the key through the unsigned route
        swapped = http.put(f"/v1/enterprises/{ENT}/signer", json={"address": operator.address})
        same = http.put(f"/v1/enterprises/{ENT}/signer", json={"address": before["signer"]})
    assert swapped.status_code == 409, swapped.text
    assert (swapped.json()["error"]["code"], swapped.json()["error"]["field"]) == (
        "signed_operation_required",
        "address",
    )
    assert same.status_code == 200 and same.json()["signer"] == before["signer"]  # no change
    assert head(ledger) == before


def test_a_request_is_all_or_nothing(ledger: LedgerServer) -> None:
    register(ledger.server, ENT, [SRC], Terminal.create())
    before = head(ledger)
    details = {"sources": ["88.118.8/SRC-NOT-OURS"], "metadata": None, "firstSeq": 1}
    bad = ("device.registered", Terminal.create().address, details)
    answer = sign_registry(ledger.server, ENT, [source_change(OTHER), bad])
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "source_not_in_enterprise"
    assert answer.json()["error"]["field"] == "operations.1.operation.details.sources.0"
    assert head(ledger) == before and sources(ledger) == [SRC]


def test_an_operation_after_a_stale_head_is_refused(ledger: LedgerServer) -> None:
    register(ledger.server, ENT, [SRC], Terminal.create())
    stale = head(ledger)
    assert sign_registry(ledger.server, ENT, [source_change(OTHER)]).status_code == 201
    domain = ledger.ledger_client().domain()
    op = RegistryOperation(
        "registry.checkpoint",
        ENT,
        ENT,
        "{}",
        stale["index"] + 1,
        bytes.fromhex(stale["digest"][2:]),
        EFFECTIVE,
    )
    signature = enterprise_key(ENT).sign_registry_operation(domain, op)
    body = {"operations": [{"operation": op.to_message(), "signature": "0x" + signature.hex()}]}
    answer = ledger.post("/v1/registry-operations", json=body)
    assert answer.status_code == 409
    assert (answer.json()["error"]["code"], answer.json()["error"]["field"]) == (
        "registry_head_moved",
        "operations.0.operation.prev",
    )


def test_effective_times_never_go_back(ledger: LedgerServer) -> None:
    register(ledger.server, ENT, [SRC], Terminal.create())
    answer = sign_registry(ledger.server, ENT, [source_change(OTHER)], effective=EFFECTIVE - 1)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "effective_out_of_order"


def test_rotation_needs_the_successor_in_the_same_request(ledger: LedgerServer) -> None:
    old, new = Terminal.create(), Terminal.create()
    register(ledger.server, ENT, [SRC], old)
    rotate = ("device.rotated", old.address, {"lastSeq": None, "successor": new.address})
    answer = sign_registry(ledger.server, ENT, [rotate])
    assert (
        answer.status_code == 422 and answer.json()["error"]["code"] == "successor_not_registered"
    )
    successor = ("device.registered", new.address, {"sources": [SRC], "metadata": None})
    successor[2]["firstSeq"] = 1
    answer = sign_registry(ledger.server, ENT, [rotate, successor])
    assert answer.status_code == 201, answer.text
    assert ledger.get(f"/v1/devices/{old.address}").json()["status"] == "revoked"
    assert ledger.get(f"/v1/devices/{new.address}").json()["sources"] == [SRC]


def test_an_enterprise_enrolled_without_a_key_cannot_sign(ledger: LedgerServer) -> None:
    body = {"identifier": ENT, "name": "x", "industry": "iron_steel"}
    assert ledger.post("/v1/enterprises", json=body).status_code == 201
    answer = ledger.get(f"/v1/enterprises/{ENT}/registry-head")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "no_registry_signer"


def test_typed_data_is_what_any_eip712_signer_signs(ledger: LedgerServer) -> None:
    served = ledger.get("/v1/registry-operations/typed-data").json()
    assert served["types"]["RegistryOperation"] == REGISTRY_OPERATION_FIELDS
    domain = ledger.ledger_client().domain()
    details = rfc8785.dumps({"name": "kiln", "metadata": None}).decode()
    op = RegistryOperation("source.registered", ENT, SRC, details, 1, bytes(32), EFFECTIVE)
    account = Account.create()
    signed = Account.sign_message(
        encode_typed_data(full_message=registry_typed_data(domain, op)), account.key
    )
    ours = Terminal(account.key).sign_registry_operation(domain, op)
    assert signed.signature == ours
    assert signed.message_hash == registry_operation_digest(domain, op)

"""Cross-tenant disclosure through batches and record proofs, tried as the attacker would: a
verifier granted by enterprise A reads batches and A's record proofs, looking for anything of
enterprise B. A real ledger, a real chain, real HTTP and signatures.

Batches: 1 holds the registry events of both enterprises, 2 readings of A and of B, 3 only B's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from devtools.local_server import start_server
from devtools.seeding import register, signed_readings
from ledger_api.commands.serve import build_worker
from terminal.client import Terminal
from tests.conftest import LedgerServer, server_env
from verifier.checks.record import verify_record
from verifier.formats.record import RecordProofBundle
from verifier.protocol.manifest import SECTION_FORMAT, section_leaf
from verifier.protocol.merkle import process_proof
from verifier.rpc import JsonRpcReader

A = "88.118.8/ENT-DISCLOSE-A"
B = "88.118.8/ENT-DISCLOSE-B"
SOURCE = {A: "88.118.8/SRC-DISCLOSE-A", B: "88.118.8/SRC-DISCLOSE-B"}
# B's sequence numbers are unlike any of A's, so a leak of B's range shows in the JSON.
A_SEQS, B_MIXED, B_ALONE = range(1, 6), range(701, 708), range(708, 711)


@dataclass(frozen=True)
class World:
    ledger: LedgerServer
    verifier: str  # the key of a verifier granted by A only
    devices: dict[str, str]
    digests: dict[str, list[str]]


@pytest.fixture(scope="module")
def world(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("disclosure")
    record, _ = deploy(w3, operator_account, tmp / "deployments")
    server = start_server(tmp, server_env(tmp, dev_chain.rpc_url))
    try:
        yield _build(LedgerServer(server.base_url, tmp, server.env, record, server))
    finally:
        server.stop()


def _build(ledger: LedgerServer) -> World:
    worker = build_worker(ledger.settings())
    client = ledger.ledger_client()
    domain = client.domain()
    terminals = {e: Terminal.create() for e in (A, B)}
    for enterprise, terminal in terminals.items():
        register(ledger.server, enterprise, [SOURCE[enterprise]], terminal, industry="aluminium")
    worker.run_once()  # batch 1: registry events only

    def submit(enterprise: str, seqs: range) -> list[str]:
        terminal, source = terminals[enterprise], SOURCE[enterprise]
        signed = signed_readings(terminal, domain, enterprise, source, seqs)
        return [r["digest"] for r in client.submit(signed)["records"]]

    digests = {A: submit(A, A_SEQS), B: submit(B, B_MIXED)}
    worker.run_once()  # batch 2: A and B
    digests[B] += submit(B, B_ALONE)
    worker.run_once()  # batch 3: B alone
    response = ledger.post("/v1/principals", json={"name": "auditor-a", "role": "verifier"})
    assert response.status_code == 201, response.text
    token = response.json()["key"]["token"]
    granted = ledger.post(f"/v1/enterprises/{A}/grants", json={"grantee": "auditor-a"})
    assert granted.is_success, granted.text
    devices = {e: t.address for e, t in terminals.items()}
    return World(ledger, token, devices, digests)


def _b_traces(world: World) -> list[str]:
    """What of B must never reach A's verifier: its identifier, terminal, source."""
    device = world.devices[B]
    return [B, SOURCE[B], device, device.lower(), device[2:].lower()]


def _sections(node: Any) -> Iterator[dict[str, Any]]:
    """Every manifest section anywhere in a JSON document."""
    if isinstance(node, dict):
        if node.get("format") == SECTION_FORMAT:
            yield node
        for value in node.values():
            yield from _sections(value)
    elif isinstance(node, list):
        for value in node:
            yield from _sections(value)


def _assert_only_a(world: World, document: Any) -> None:
    text = json.dumps(document)
    assert [t for t in _b_traces(world) if t.lower() in text.lower()] == []
    for section in _sections(document):
        assert section["enterprise"] in (A, None)
        if section["enterprise"] is None:
            assert section["devices"] == []  # the section of no enterprise: kinds only
        for device in section["devices"]:
            assert device["device"] == world.devices[A]
            assert device["firstSeq"] not in B_MIXED and device["lastSeq"] not in B_MIXED
    assert '"manifest":' not in text  # no whole (v1) manifest either


def test_a_batch_of_only_another_tenant_is_answered_as_missing(world: World) -> None:
    ledger, token = world.ledger, world.verifier
    hidden = ledger.get("/v1/batches/3", token)
    missing = ledger.get("/v1/batches/99", token)
    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert hidden.json() == json.loads(missing.text.replace("99", "3"))
    assert hidden.json()["error"]["code"] == "batch_not_found"
    # The batch of registry events holds no section of A either.
    assert ledger.get("/v1/batches/1", token).status_code == 404
    # The admin sees all three, whole.
    assert all(ledger.get(f"/v1/batches/{n}").status_code == 200 for n in (1, 2, 3))


def test_a_mixed_batch_shows_the_grantee_only_its_grantors_section(world: World) -> None:
    body = world.ledger.get("/v1/batches/2", world.verifier).json()
    _assert_only_a(world, body)
    (proven,) = body["sections"]
    section = proven["section"]
    assert (section["enterprise"], section["kinds"]) == (A, {"1": len(A_SEQS)})
    leaf = section_leaf(section)
    path = [bytes.fromhex(n[2:]) for n in proven["sectionProof"]]
    assert "0x" + process_proof(leaf, path).hex() == body["manifestHash"]
    # The admin's whole manifest has B's section too, and the same hash commits to both.
    whole = world.ledger.get("/v1/batches/2").json()["manifest"]
    assert [s["enterprise"] for s in whole["sections"]] == [A, B]


def test_the_whole_tree_is_for_those_who_see_every_enterprise(world: World) -> None:
    response = world.ledger.get("/v1/batches/2/tree", world.verifier)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")
    assert world.ledger.get("/v1/batches/2/tree").status_code == 200


def test_a_record_proof_carries_nothing_of_the_other_tenant(
    world: World, dev_chain: DevChain
) -> None:
    response = world.ledger.get(f"/v1/records/{world.digests[A][0]}/proof", world.verifier)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == 2
    _assert_only_a(world, body)
    result = verify_record(RecordProofBundle.model_validate(body), JsonRpcReader(dev_chain.rpc_url))
    assert result.valid, result.failure


def _proof(world: World, digest: str) -> dict[str, Any]:
    return world.ledger.get(f"/v1/records/{digest}/proof").json()


def _offline(data: dict[str, Any]) -> tuple[str | None, str | None]:
    result = verify_record(RecordProofBundle.model_validate(data), None)
    return result.failed_check, None if result.failure is None else result.failure.code


def test_a_section_with_a_changed_count_fails_the_manifest_check(world: World) -> None:
    data = _proof(world, world.digests[A][0])
    data["batch"]["section"]["devices"][0]["count"] -= 1
    data["batch"]["section"]["kinds"]["1"] -= 1
    data["batch"]["section"]["leafCount"] -= 1  # consistent in itself, not with the chain
    assert _offline(data) == ("manifest", "ManifestMismatch")


def test_another_tenants_genuine_section_does_not_stand_for_the_records(world: World) -> None:
    """The operator holds B's real section of the same batch, with a path that folds to the
    anchored hash: offered for A's record, it is refused."""
    mine, theirs = _proof(world, world.digests[A][0]), _proof(world, world.digests[B][0])
    assert mine["batch"]["manifestHash"] == theirs["batch"]["manifestHash"]
    mine["batch"] = theirs["batch"]
    assert _offline(mine) == ("manifest", "ManifestMismatch")


def test_a_section_whose_path_is_cut_fails_the_manifest_check(world: World) -> None:
    data = _proof(world, world.digests[A][0])
    assert data["batch"]["sectionProof"]  # two sections in batch 2: the path has a node
    data["batch"]["sectionProof"] = []
    assert _offline(data) == ("manifest", "ManifestMismatch")


def test_by_root_the_same_rules_hold(world: World) -> None:
    ledger, token = world.ledger, world.verifier
    roots = {n: ledger.get(f"/v1/batches/{n}").json()["root"] for n in (2, 3)}
    shown = ledger.get(f"/v1/batches/by-root/{roots[2].upper().replace('0X', '0x')}", token)
    assert shown.json() == ledger.get("/v1/batches/2", token).json()
    unknown = "0x" + "ee" * 32
    hidden = ledger.get(f"/v1/batches/by-root/{roots[3]}", token)
    missing = ledger.get(f"/v1/batches/by-root/{unknown}", token)
    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert hidden.json() == json.loads(missing.text.replace(unknown, roots[3]))
    bad = ledger.get("/v1/batches/by-root/0x1234", token)
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "root")


def test_by_chain_id_the_same_rules_hold(world: World) -> None:
    """The contract numbers batches from 0 (a bundle's ``anchor.batchId``); the ledger from 1."""
    ledger, token = world.ledger, world.verifier
    for n in (1, 2, 3):
        mine = ledger.get(f"/v1/batches/{n}").json()
        by_chain = ledger.get(f"/v1/batches/by-chain-id/{mine['anchor']['batchId']}")
        assert by_chain.json() == mine
    shown = ledger.get("/v1/batches/by-chain-id/1", token)
    assert shown.json() == ledger.get("/v1/batches/2", token).json()
    hidden = ledger.get("/v1/batches/by-chain-id/2", token)
    missing = ledger.get("/v1/batches/by-chain-id/99", token)
    assert (hidden.status_code, missing.status_code) == (404, 404)
    assert hidden.json() == json.loads(missing.text.replace("99", "2"))
    bad = ledger.get("/v1/batches/by-chain-id/-1", token)
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "chain_batch_id")

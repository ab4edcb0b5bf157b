"""The identifier layer over real HTTP: identifiers, templates, resolution, terminal lifecycle,
registry events on chain, bulk registration."""

from __future__ import annotations

import httpx
import pytest

from devtools.seeding import register, signed_readings, smelter_template
from ledger_api.commands.serve import build_worker
from terminal.client import BatchRejected, Terminal
from tests.conftest import LedgerServer
from verifier.protocol.typed_data import attributes_hash

ENTERPRISE = "88.118.8/ENT-AL-REG"
POTLINE = "88.118.8/SRC-AL-REG-POTLINE"
USCC = "91350100M000100Y43"  # a structurally valid unified social credit code


def post(ledger: LedgerServer, path: str, body: dict) -> httpx.Response:
    return ledger.post(f"{path}", json=body)


def error(response: httpx.Response) -> tuple[int, str, str | None]:
    body = response.json()["error"]
    return response.status_code, body["code"], body.get("field")


@pytest.mark.parametrize(
    ("identifier", "code"),
    [
        ("86.100/ENT-ELSEWHERE", "foreign_prefix"),
        ("88.118.8/ENT-\u0430LU", "confusable_character"),  # Cyrillic а
        ("88.118.8/ENT\u200bALU", "control_character"),  # zero-width space
        ("88.118.8/ENT ALU", "whitespace"),
        ("88.118.8/ent-lower", "non_canonical_identifier"),
        ("88.118.8/" + "X" * 300, "too_long"),
    ],
)
def test_bad_identifiers_register_nothing(ledger: LedgerServer, identifier: str, code: str) -> None:
    response = post(
        ledger, "/v1/enterprises", {"identifier": identifier, "name": "x", "industry": "aluminium"}
    )
    status, got, field = error(response)
    assert status == 422 and got in {code, "invalid_request"}
    assert field == "identifier"
    assert ledger.get(f"/v1/enterprises/{identifier}").status_code == 404


def test_identifiers_are_minted_when_omitted(ledger: LedgerServer) -> None:
    response = post(ledger, "/v1/enterprises", {"name": "Minted", "industry": "cement"})
    assert response.status_code == 201
    assert response.json()["identifier"].startswith("88.118.8/CL-ENT-")


def test_metadata_is_checked_against_the_industry_template(ledger: LedgerServer) -> None:
    good = {"name": "Smelter", "uscc": USCC, "region": "530100", "industry": "aluminium"}
    bad = {**good, "uscc": "91350100M000100Y44"}  # wrong check character
    response = post(
        ledger,
        "/v1/enterprises",
        {"identifier": "88.118.8/ENT-BAD", "name": "x", "industry": "aluminium", "metadata": bad},
    )
    assert error(response) == (422, "template_violation", "metadata.uscc")
    response = post(
        ledger,
        "/v1/enterprises",
        {"identifier": "88.118.8/ENT-GOOD", "name": "x", "industry": "aluminium", "metadata": good},
    )
    assert response.status_code == 201


def test_record_attributes_are_checked_against_the_template(ledger: LedgerServer) -> None:
    terminal = Terminal.create()
    register(ledger.server, ENTERPRISE, [POTLINE], terminal, industry="aluminium")
    client = ledger.ledger_client()
    (signed,) = signed_readings(terminal, client.domain(), ENTERPRISE, POTLINE, range(1, 2))
    attributes = {"params": {"aem": "not a number"}}
    from dataclasses import replace

    record = replace(signed.record, attributes_hash=attributes_hash(attributes))
    with pytest.raises(BatchRejected) as rejected:
        client.submit([terminal.sign(client.domain(), record, attributes)])
    problem = rejected.value.problems[0]
    assert (problem["code"], problem["field"]) == ("template_violation", "attributes.params.aem")
    good = {"params": {"aem": "0.085"}}
    record = replace(signed.record, attributes_hash=attributes_hash(good))
    assert client.submit([terminal.sign(client.domain(), record, good)])["accepted"] == 1


def test_resolution_answers_in_the_handle_shape(ledger: LedgerServer) -> None:
    terminal = Terminal.create()
    register(ledger.server, ENTERPRISE, [POTLINE], terminal, industry="aluminium")
    found = ledger.get(f"/api/handles/{ENTERPRISE}")
    assert found.status_code == 200
    body = found.json()
    assert (body["responseCode"], body["handle"]) == (1, ENTERPRISE)
    types = {v["type"]: v["data"]["value"] for v in body["values"]}
    assert types["CL_KIND"] == "enterprise" and types["URL"].endswith(ENTERPRISE)
    assert "industry/aluminium/v1" in types["CL_TEMPLATE"]
    assert all({"index", "type", "data"} <= set(v) for v in body["values"])
    source = ledger.get(f"/api/handles/{POTLINE}").json()
    values = {v["type"]: v["data"]["value"] for v in source["values"]}
    assert (values["CL_KIND"], values["CL_ENTERPRISE"]) == ("source", ENTERPRISE)
    assert terminal.address in values["CL_TERMINALS"]
    device = ledger.get(f"/api/handles/{terminal.address}").json()
    assert {v["type"]: v["data"]["value"] for v in device["values"]}["CL_STATUS"] == "active"
    missing = ledger.get("/api/handles/88.118.8/NOBODY")
    assert (missing.status_code, missing.json()["responseCode"]) == (404, 100)
    malformed = ledger.get("/api/handles/88.118.8/\u0430")
    assert (malformed.status_code, malformed.json()["responseCode"]) == (400, 2)


def test_rotation_revocation_and_key_reuse(ledger: LedgerServer) -> None:
    old = Terminal.create()
    register(ledger.server, ENTERPRISE, [POTLINE], old, industry="aluminium")
    client = ledger.ledger_client()
    domain = client.domain()
    assert (
        client.submit(signed_readings(old, domain, ENTERPRISE, POTLINE, range(1, 6)))["accepted"]
        == 5
    )
    new = Terminal.create()
    rotated = post(ledger, f"/v1/devices/{old.address}/rotate", {"newAddress": new.address})
    assert rotated.status_code == 201
    assert (rotated.json()["status"], rotated.json()["last_seq"]) == ("active", 5)
    assert ledger.get(f"/v1/devices/{old.address}").json()["successor"] == (new.address)
    # The old key signs after its revocation: refused. The new key carries on from seq 6.
    with pytest.raises(BatchRejected) as rejected:
        client.submit(signed_readings(old, domain, ENTERPRISE, POTLINE, range(6, 7)))
    assert rejected.value.problems[0]["code"] == "device_revoked"
    assert (
        client.submit(signed_readings(new, domain, ENTERPRISE, POTLINE, range(6, 8)))["accepted"]
        == 2
    )
    reuse = post(
        ledger,
        "/v1/devices",
        {"address": old.address, "enterprise": ENTERPRISE, "sources": [POTLINE]},
    )
    assert error(reuse) == (409, "revoked_key_reuse", "address")
    revoked = post(ledger, f"/v1/devices/{new.address}/revoke", {"reason": "meter replaced"})
    assert revoked.json()["status"] == "revoked"


def test_registry_events_are_anchored_leaves(ledger: LedgerServer) -> None:
    terminal = Terminal.create()
    register(ledger.server, ENTERPRISE, [POTLINE], terminal, industry="aluminium")
    post(ledger, f"/v1/devices/{terminal.address}/revoke", {})
    build_worker(ledger.settings()).run_once()
    types = [t for (t,) in ledger.sql("select type from registry_event order by id")]
    [(unanchored,)] = ledger.sql("select count(*) from leaf where kind = 3 and batch_id is null")
    # enterprise, source, terminal registered, terminal revoked: four events, all anchored
    assert types == [
        "enterprise.registered",
        "source.registered",
        "device.registered",
        "device.revoked",
    ]
    assert unanchored == 0
    batch = ledger.get("/v1/batches/1").json()
    assert [s["kinds"] for s in batch["manifest"]["sections"]] == [{"3": 4}]


ENTERPRISES = f"""identifier,name,uscc,region,industry
88.118.8/CL-ENT-BULK-AL,Bulk Smelter,{USCC},530100,aluminium
"""
SOURCES = """identifier,enterprise,name,kind,activities
88.118.8/CL-SRC-BULK-POT,88.118.8/CL-ENT-BULK-AL,Pot line,process,process.anode
"""


def terminals_csv(address: str, enterprise: str = "88.118.8/CL-ENT-BULK-AL") -> str:
    return (
        "identifier,address,enterprise,sources,model,serial,meter_class,calibration_due\n"
        f"88.118.8/CL-DEV-BULK-1,{address},{enterprise},88.118.8/CL-SRC-BULK-POT,"
        "EM-3,SN-001,0.5S,2026-12-31\n"
    )


def test_bulk_registration_dry_run_then_apply(ledger: LedgerServer) -> None:
    url = "/v1/registrations/bulk"
    terminal = Terminal.create()
    sheets = {
        "enterprises": ENTERPRISES,
        "sources": SOURCES,
        "terminals": terminals_csv(terminal.address),
    }
    dry = ledger.post(url, params={"dryRun": "true"}, json={"sheets": sheets})
    assert dry.status_code == 200
    assert dry.json() == {"dryRun": True, "enterprises": 1, "sources": 1, "terminals": 1}
    assert ledger.get("/v1/enterprises/88.118.8/CL-ENT-BULK-AL").status_code == 404
    applied = ledger.post(url, json={"sheets": sheets})
    assert applied.status_code == 201
    device = ledger.get(f"/v1/devices/{terminal.address}").json()
    assert device["sources"] == ["88.118.8/CL-SRC-BULK-POT"]


def test_bulk_problems_name_sheet_row_and_column(ledger: LedgerServer) -> None:
    sheets = {
        "enterprises": ENTERPRISES.replace("530100", "53010"),
        "sources": SOURCES,
        "terminals": terminals_csv("0x1234", "88.118.8/CL-ENT-ELSEWHERE"),
    }
    response = ledger.post("/v1/registrations/bulk", json={"sheets": sheets})
    assert response.status_code == 422
    problems = {(p["field"], p.get("index")) for p in response.json()["error"]["problems"]}
    assert ("enterprises.region", 2) in problems
    assert any(field.startswith("terminals.") for field, _ in problems)
    assert ledger.get("/v1/enterprises/88.118.8/CL-ENT-BULK-AL").status_code == 404


def test_a_terminal_cannot_be_bound_to_another_enterprises_source(ledger: LedgerServer) -> None:
    register(ledger.server, ENTERPRISE, [POTLINE], Terminal.create(), industry="aluminium")
    post(
        ledger,
        "/v1/enterprises",
        {"identifier": "88.118.8/ENT-OTHER", "name": "o", "industry": "cement"},
    )
    response = post(
        ledger,
        "/v1/devices",
        {
            "address": Terminal.create().address,
            "enterprise": "88.118.8/ENT-OTHER",
            "sources": [POTLINE],
        },
    )
    assert error(response) == (422, "source_not_in_enterprise", "sources.0")


def test_enterprise_templates_extend_and_persist(ledger: LedgerServer, tmp_path) -> None:
    parent = "https://carbon-ledger.example/templates/industry/aluminium/v1"
    created = post(
        ledger,
        "/v1/templates",
        {"industry": "aluminium", "name": "smelter-a", "document": smelter_template(parent)},
    )
    assert created.status_code == 201, created.text
    template = created.json()
    assert (template["version"], template["parent"]) == (1, parent)
    refused = post(
        ledger,
        "/v1/templates",
        {"industry": "cement", "name": "kiln", "document": smelter_template(parent)},
    )
    assert error(refused) == (422, "not_extending", "document")

    post(
        ledger,
        "/v1/enterprises",
        {
            "identifier": ENTERPRISE,
            "name": "A",
            "industry": "aluminium",
            "template": template["id"],
        },
    )
    source = {
        "identifier": POTLINE,
        "name": "Pot 1",
        "metadata": {"name": "Pot 1", "kind": "process", "activities": ["process.anode"]},
    }
    missing = post(ledger, f"/v1/enterprises/{ENTERPRISE}/sources", source)
    assert error(missing) == (422, "template_violation", "metadata.workshop")
    source["metadata"]["workshop"] = "W1"
    assert post(ledger, f"/v1/enterprises/{ENTERPRISE}/sources", source).status_code == 201

    # The template outlives the process: a restarted server still knows it.
    ledger.server.stop()
    from devtools.local_server import start_server

    restarted = start_server(ledger.data_dir, ledger.env)
    try:
        again = restarted.get(f"/v1/templates/{template['id']}")
        assert again.status_code == 200 and again.json()["digest"] == template["digest"]
    finally:
        restarted.stop()

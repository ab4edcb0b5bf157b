"""The operator against the enterprise's registry (issue 14 items 5, 3 and 2): it edits its own
database, re-runs the evaluation through the ledger's own code, fetches the figure proof and
verifies it against the real chain. Each cheat fails at a named check of the v3 bundle.

Every enterprise here has two grid meters (sources A and B, one terminal each) reporting
hourly for 2025-06-01..02 (UTC+8), registered by operations the enterprise signed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from sqlmodel import Session, select
from web3 import Web3

from anchoring.deployment import deploy
from anchoring.devchain import DevChain
from devtools.local_server import start_server
from devtools.seeding import EFFECTIVE, enterprise_key, register, sign_registry
from ledger_api.commands.serve import build_worker
from ledger_api.core.db import make_engine
from ledger_api.core.models import Enterprise
from ledger_api.registry.events import ChainLink, record_event
from ledger_api.registry.service import add_device, add_source
from ledger_api.registry.signed import chain_head
from terminal.client import SignedRecord, Terminal
from tests.conftest import LedgerServer, server_env
from tests.verifier.figure_case import tamper
from verifier.checks.figure import parse_figure_bundle, verify_figure
from verifier.checks.kernel import CheckStatus, VerificationResult
from verifier.formats.figure import FigureProofBundle
from verifier.protocol.events import SIGNER_SET
from verifier.protocol.registry_ops import RegistryOperation, signed_event
from verifier.protocol.typed_data import ActivityRecord
from verifier.rpc import JsonRpcReader

JUNE_2025_CST = 1_748_707_200  # 2025-06-01T00:00:00+08:00
PERIOD_END = JUNE_2025_CST + 2 * 86_400
HOUR = 3_600
READINGS = 48


@pytest.fixture(scope="module")
def server(
    dev_chain: DevChain,
    w3: Web3,
    operator_account: LocalAccount,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LedgerServer]:
    tmp = tmp_path_factory.mktemp("ledger")
    record, _ = deploy(w3, operator_account, tmp / "deployments")
    process = start_server(tmp, server_env(tmp, dev_chain.rpc_url))
    yield LedgerServer(process.base_url, tmp, process.env, record, process)
    process.stop()


@dataclass(frozen=True)
class Firm:
    enterprise: str
    grids: tuple[str, str]
    terminals: tuple[Terminal, Terminal]


def readings(
    server: LedgerServer, firm: str, source: str, terminal: Terminal, **kwargs: Any
) -> list[SignedRecord]:
    """49 hourly readings from 2025-06-01 00:00 (UTC+8): the period's 48 and one after it."""
    domain = server.ledger_client().domain()
    fields = {"activity": "electricity.purchased", "quantity": 10_000, **kwargs}
    return [
        terminal.sign(
            domain,
            ActivityRecord(
                enterprise=firm,
                source=source,
                device=terminal.address,
                seq=seq,
                decimals=3,
                unit="MWh",
                period_start=JUNE_2025_CST + (seq - 1) * HOUR,
                period_end=JUNE_2025_CST + seq * HOUR,
                **fields,
            ),
        )
        for seq in range(1, READINGS + 2)
    ]


def anchor(server: LedgerServer) -> None:
    build_worker(server.settings()).run_once()


def firm(server: LedgerServer, name: str) -> Firm:
    enterprise = f"88.118.8/ENT-REG-{name}"
    grids = (f"88.118.8/SRC-REG-{name}-A", f"88.118.8/SRC-REG-{name}-B")
    terminals = (Terminal.create(), Terminal.create())
    register(server.server, enterprise, [grids[0]], terminals[0], industry="aluminium")
    device = {"sources": [grids[1]], "metadata": None, "firstSeq": 1}
    answer = sign_registry(
        server.server,
        enterprise,
        [
            ("source.registered", grids[1], {"name": "grid B", "metadata": None}),
            ("device.registered", terminals[1].address, device),
        ],
    )
    assert answer.status_code == 201, answer.text
    client = server.ledger_client()
    for grid, terminal in zip(grids, terminals, strict=True):
        client.submit(readings(server, enterprise, grid, terminal))
    anchor(server)
    return Firm(enterprise, grids, terminals)


def evaluate_and_prove(server: LedgerServer, enterprise: str) -> FigureProofBundle:
    body = {
        "enterprise": enterprise,
        "periodStart": "2025-06-01",
        "periodEnd": "2025-06-02",
        "addedValue": "20",
        "ruleset": "zj-huzhou-2021",
    }
    answer = server.post("/v1/evaluations", json=body)
    assert answer.status_code == 201, answer.text
    anchor(server)
    identifier = answer.json()["identifier"]
    proof = server.get(f"/v1/evaluations/{identifier}/proof", params={"figure": "total"})
    assert proof.status_code == 200, proof.text
    return parse_figure_bundle(proof.json())


def verify(server: LedgerServer, bundle: FigureProofBundle) -> VerificationResult:
    return verify_figure(bundle, JsonRpcReader(server.env["CARBON_RPC_URL"]))


def failed(result: VerificationResult) -> tuple[str | None, str | None]:
    return result.failed_check, None if result.failure is None else result.failure.code


def execute(server: LedgerServer, *statements: tuple[str, tuple[Any, ...]]) -> None:
    with closing(sqlite3.connect(server.data_dir / "ledger.sqlite")) as db, db:
        db.execute("PRAGMA foreign_keys = OFF")
        for sql, args in statements:
            db.execute(sql, args)


def session(server: LedgerServer) -> Session:
    return Session(make_engine(server.settings().effective_database_url))


# --- honest ---------------------------------------------------------------------------------


def test_an_honest_figure_shows_its_signed_registry(server: LedgerServer) -> None:
    honest = firm(server, "HONEST")
    bundle = evaluate_and_prove(server, honest.enterprise)
    assert [p.event["index"] for p in bundle.registry] == [0, 1, 2, 3, 4]
    result = verify(server, bundle)
    assert result.valid, result.failure
    checks = {c.name: c for c in result.checks}
    for name in ("registry-signatures", "registry-chain", "boundary"):
        assert checks[name].status is CheckStatus.PASSED
    assert "4 registry changes signed" in checks["registry-signatures"].detail
    assert "2 sources and 2 terminals" in checks["boundary"].detail
    # Nothing effective after 2025-06-02 is shown: that no later change was withheld is the
    # ledger's word, and the check says so.
    assert "rests on the ledger" in checks["registry-chain"].detail


# --- item 5: the operator's own meter -------------------------------------------------------


def _operator_meter(server: LedgerServer, target: Firm, meter: Terminal, source: str) -> None:
    """Export readings of a meter bound to ``source``: they lower the total."""
    exported = readings(
        server, target.enterprise, source, meter, activity="electricity.exported", quantity=5_000
    )
    server.ledger_client().submit(exported)
    anchor(server)


def test_the_operators_unsigned_meter_fails_registry_signatures(server: LedgerServer) -> None:
    target = firm(server, "UNSIGNED")
    meter, source = Terminal.create(), "88.118.8/SRC-REG-UNSIGNED-EXPORT"
    with session(server) as db:  # the ledger's own registration code, without a signature
        enterprise = db.exec(
            select(Enterprise).where(Enterprise.identifier == target.enterprise)
        ).one()
        added = add_source(db, enterprise, source, "export meter", None)
        db.flush()
        add_device(db, meter.address, enterprise, [added], None)
        db.commit()
    _operator_meter(server, target, meter, source)
    bundle = evaluate_and_prove(server, target.enterprise)
    assert meter.address in {d["device"] for d in bundle.entry["records"]["devices"]}
    result = verify(server, bundle)
    assert failed(result) == ("registry-signatures", "RegistryUnsigned")
    assert meter.address in result.failure.reason


def test_the_operators_own_key_fails_registry_signatures(server: LedgerServer) -> None:
    target = firm(server, "OWNKEY")
    operator, meter = Terminal.create(), Terminal.create()
    source = "88.118.8/SRC-REG-OWNKEY-EXPORT"
    domain = server.ledger_client().domain()
    with session(server) as db:  # a signer change the enterprise never signed
        enterprise = db.exec(
            select(Enterprise).where(Enterprise.identifier == target.enterprise)
        ).one()
        head = chain_head(db, enterprise)
        op = RegistryOperation(
            SIGNER_SET,
            target.enterprise,
            target.enterprise,
            f'{{"signer":"{operator.address}"}}',
            head.index + 1,
            bytes.fromhex(head.digest[2:]),
            EFFECTIVE,
        )
        event = signed_event(op, operator.sign_registry_operation(domain, op))
        fields = {k: event[k] for k in ("enterprise", "index", "prev", "effective", "signature")}
        link = ChainLink(enterprise.id, op.index, fields)  # type: ignore[arg-type]
        record_event(db, SIGNER_SET, target.enterprise, link=link, signer=operator.address)
        db.commit()
    # From here the ledger's own code takes the operator's key for the enterprise's.
    device = {"sources": [source], "metadata": None, "firstSeq": 1}
    changes = [
        ("source.registered", source, {"name": "export meter", "metadata": None}),
        ("device.registered", meter.address, device),
    ]
    answer = sign_registry(server.server, target.enterprise, changes, key=operator)
    assert answer.status_code == 201, answer.text
    _operator_meter(server, target, meter, source)
    result = verify(server, evaluate_and_prove(server, target.enterprise))
    assert failed(result) == ("registry-signatures", "RegistrySignatureInvalid")
    assert f"signed by {operator.address}" in result.failure.reason
    assert enterprise_key(target.enterprise).address in result.failure.reason


# --- item 3: the industry -------------------------------------------------------------------


def test_an_industry_changed_in_the_database_fails_boundary(server: LedgerServer) -> None:
    target = firm(server, "INDUSTRY")
    execute(
        server,
        ("UPDATE enterprise SET industry = 'cement' WHERE identifier = ?", (target.enterprise,)),
    )
    result = verify(server, evaluate_and_prove(server, target.enterprise))
    assert failed(result) == ("boundary", "IndustryMismatch")
    assert "'cement'" in result.failure.reason and "'aluminium'" in result.failure.reason


# --- item 2: the boundary -------------------------------------------------------------------


def _delete_source(server: LedgerServer, target: Firm) -> None:
    source, device = target.grids[1], target.terminals[1].address
    execute(
        server,
        (
            "DELETE FROM activity_record WHERE source_id = "
            "(SELECT id FROM emission_source WHERE identifier = ?)",
            (source,),
        ),
        (
            "DELETE FROM device_binding WHERE source_id = "
            "(SELECT id FROM emission_source WHERE identifier = ?)",
            (source,),
        ),
        ("DELETE FROM emission_source WHERE identifier = ?", (source,)),
        ("DELETE FROM device WHERE address = ?", (device,)),
    )


def test_a_deleted_source_fails_boundary(server: LedgerServer) -> None:
    target = firm(server, "DELETED")
    _delete_source(server, target)
    result = verify(server, evaluate_and_prove(server, target.enterprise))
    assert failed(result) == ("boundary", "BoundaryMismatch")
    assert f"registered source {target.grids[1]} is left out" in result.failure.reason


def test_a_deleted_source_and_its_registry_events_break_the_chain(server: LedgerServer) -> None:
    target = firm(server, "HIDDEN")
    # The enterprise confirms its registry after the period: a later signed event links it.
    answer = sign_registry(
        server.server,
        target.enterprise,
        [("registry.checkpoint", target.enterprise, {})],
        effective=PERIOD_END,
    )
    assert answer.status_code == 201, answer.text
    anchor(server)
    _delete_source(server, target)
    execute(
        server,
        (
            "DELETE FROM registry_event WHERE subject IN (?, ?)",
            (target.grids[1], target.terminals[1].address),
        ),
    )
    result = verify(server, evaluate_and_prove(server, target.enterprise))
    assert failed(result) == ("registry-chain", "RegistryChainBroken")
    assert "an event of the chain is missing" in result.failure.reason


def test_a_silent_terminal_of_the_boundary_fails_boundary(server: LedgerServer) -> None:
    target = firm(server, "SILENT")
    meter = Terminal.create()
    device = {"sources": [target.grids[1]], "metadata": None, "firstSeq": 1}
    answer = sign_registry(
        server.server, target.enterprise, [("device.registered", meter.address, device)]
    )
    assert answer.status_code == 201, answer.text
    anchor(server)
    result = verify(server, evaluate_and_prove(server, target.enterprise))
    assert failed(result) == ("boundary", "TerminalNotShown")
    assert meter.address in result.failure.reason


def test_a_signed_industry_change_is_the_registrys(server: LedgerServer) -> None:
    target = firm(server, "CHANGED")
    change = ("enterprise.updated", target.enterprise, {"industry": "cement", "region": None})
    answer = sign_registry(server.server, target.enterprise, [change])
    assert answer.status_code == 201, answer.text
    anchor(server)
    bundle = evaluate_and_prove(server, target.enterprise)
    assert bundle.entry["industry"] == "cement"
    result = verify(server, bundle)
    assert result.valid, result.failure
    assert "industry cement" in {c.name: c for c in result.checks}["boundary"].detail


def test_a_withheld_revocation_fails_registry_chain(server: LedgerServer) -> None:
    target = firm(server, "WITHHELD")
    device = target.terminals[1].address
    revoked = revoke_after(server, target.enterprise, device)
    bundle = evaluate_and_prove(server, target.enterprise)
    d = next(i for i, e in enumerate(bundle.devices) if e.device == device)
    assert [p.event["type"] for p in bundle.devices[d].registry][-1] == "device.revoked"
    assert verify(server, bundle).valid  # honest: the revocation after the period is shown

    def hide(data: dict[str, Any]) -> None:
        data["devices"][d]["registry"] = [
            p for p in data["devices"][d]["registry"] if p["leaf"]["digest"] != revoked
        ]

    result = verify(server, tamper(bundle, hide))
    assert failed(result) == ("registry-chain", "DeviceEventWithheld")
    assert device in result.failure.reason


def revoke_after(server: LedgerServer, enterprise: str, device: str) -> str:
    """The enterprise revokes a terminal after the period (at its last reading, seq 49)."""
    details = {"lastSeq": READINGS + 1, "reason": "meter replaced"}
    changes = [("device.revoked", device, details)]
    answer = sign_registry(server.server, enterprise, changes, effective=PERIOD_END)
    assert answer.status_code == 201, answer.text
    anchor(server)
    return answer.json()[0]["digest"]

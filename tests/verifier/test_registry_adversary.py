"""The operator against the enterprise's registry (issue 14 items 5, 3 and 2): it edits its own
database, re-runs the evaluation through the ledger's own code, fetches the figure proof and
verifies it against the real chain. Each cheat fails at a named check of the v3 bundle.

Every enterprise here has two grid meters (sources A and B, one terminal each) reporting
hourly for 2025-06-01..02 (UTC+8), registered by operations the enterprise signed.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from devtools.seeding import EFFECTIVE, enterprise_key, sign_registry
from ledger_api.core.models import Enterprise
from ledger_api.registry.events import ChainLink, record_event
from ledger_api.registry.service import add_device, add_source
from ledger_api.registry.signed import chain_head
from terminal.client import Terminal
from tests.conftest import LedgerServer
from tests.ledger_api.evaluations.adversary import verify
from tests.verifier.failures import failed
from tests.verifier.figure_case import tamper
from tests.verifier.registry_case import (
    PERIOD_END,
    READINGS,
    Firm,
    anchor,
    evaluate_and_prove,
    execute,
    firm,
    readings,
    session,
)
from verifier.checks.kernel import CheckStatus
from verifier.protocol.events import SIGNER_SET
from verifier.protocol.registry_ops import RegistryOperation, signed_event

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
        (
            "UPDATE enterprise SET industry = 'cement' WHERE identifier = :enterprise",
            {"enterprise": target.enterprise},
        ),
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
            "(SELECT id FROM emission_source WHERE identifier = :source)",
            {"source": source},
        ),
        (
            "DELETE FROM device_binding WHERE source_id = "
            "(SELECT id FROM emission_source WHERE identifier = :source)",
            {"source": source},
        ),
        ("DELETE FROM emission_source WHERE identifier = :source", {"source": source}),
        ("DELETE FROM device WHERE address = :device", {"device": device}),
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
            "DELETE FROM registry_event WHERE subject IN (:source, :device)",
            {"source": target.grids[1], "device": target.terminals[1].address},
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

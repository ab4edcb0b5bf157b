"""A record proof shows that the enterprise registered the signing terminal (issue 14, item A).

The operator edits its own database and runs the ledger's own code, then fetches the record
proof from the real server and verifies it against the real chain: a terminal it registered
itself, unsigned, fails ``registry-signatures`` with RegistryUnsigned, one it registered under a
signature of its own key fails with RegistrySignatureInvalid, an enterprise enrolled without a
key has nothing to show. The bundle-level cases (the chain left out, an event cut out of it, a
v1 bundle) run offline on factory bundles.
"""

from __future__ import annotations

import copy
from typing import Any

import rfc8785
from eth_account.signers.local import LocalAccount
from sqlmodel import Session, select

from anchoring.anchor_contract import AnchorContract
from devtools.seeding import EFFECTIVE, register
from ledger_api.core.models import EmissionSource, Enterprise
from ledger_api.registry.events import ChainLink
from ledger_api.registry.service import add_device, add_enterprise, add_source
from ledger_api.registry.signed import chain_head
from terminal.client import SignedRecord, Terminal
from tests.conftest import LedgerServer
from tests.verifier.failures import failed
from tests.verifier.record_bundle_factory import make_case
from tests.verifier.registry_case import anchor as anchor_pending
from tests.verifier.registry_case import readings, session
from verifier.checks.kernel import CheckStatus, VerificationResult
from verifier.checks.record import parse_bundle, verify_record
from verifier.protocol.events import DEVICE_REGISTERED
from verifier.protocol.registry_ops import RegistryOperation, signed_event
from verifier.protocol.typed_data import record_digest
from verifier.rpc import JsonRpcReader


def _submit(server: LedgerServer, enterprise: str, source: str, meter: Terminal) -> str:
    """Submit and anchor the meter's readings; the digest of the first one."""
    signed: list[SignedRecord] = readings(server, enterprise, source, meter)
    server.ledger_client().submit(signed)
    anchor_pending(server)
    return "0x" + record_digest(server.ledger_client().domain(), signed[0].record).hex()


def _prove(server: LedgerServer, digest: str) -> VerificationResult:
    answer = server.get(f"/v1/records/{digest}/proof")
    assert answer.status_code == 200, answer.text
    return verify_record(parse_bundle(answer.json()), JsonRpcReader(server.env["CARBON_RPC_URL"]))


def _firm(server: LedgerServer, name: str) -> tuple[str, str, Terminal]:
    enterprise, source, terminal = (
        f"88.118.8/ENT-RR-{name}",
        f"88.118.8/SRC-RR-{name}",
        Terminal.create(),
    )
    register(server.server, enterprise, [source], terminal, industry="aluminium")
    return enterprise, source, terminal


def _sources(db: Session, identifier: str) -> list[EmissionSource]:
    return list(db.exec(select(EmissionSource).where(EmissionSource.identifier == identifier)))


def _operator_source(server: LedgerServer, enterprise: str, source: str) -> None:
    """The operator adds a source to the enterprise with the ledger's own code, unsigned."""
    with session(server) as db:
        row = db.exec(select(Enterprise).where(Enterprise.identifier == enterprise)).one()
        add_source(db, row, source, "operator's meter point", None)
        db.commit()


# --- honest ---------------------------------------------------------------------------------


def test_an_honest_record_proof_shows_the_signed_registration(server: LedgerServer) -> None:
    enterprise, source, terminal = _firm(server, "HONEST")
    digest = _submit(server, enterprise, source, terminal)
    answer = server.get(f"/v1/records/{digest}/proof").json()
    assert answer["version"] == 2
    assert [p["event"]["index"] for p in answer["registry"]] == [0, 1, 2]
    assert answer["registry"][2]["leaf"] == answer["authorization"][0]["leaf"]
    result = _prove(server, digest)
    assert result.valid, result.failure
    assert not result.offline
    checks = {c.name: c for c in result.checks}
    for name in ("registry-signatures", "registry-chain"):
        assert checks[name].status is CheckStatus.PASSED
    assert (
        "2 registry changes signed by the enterprise's key" in checks["registry-signatures"].detail
    )
    # The chain's last event is anchored in the record's own batch, so no change anchored
    # before the record can be missing from it.
    assert "every change anchored before it is shown" in checks["registry-chain"].detail


# --- the operator's own terminal ------------------------------------------------------------


def test_a_terminal_the_operator_registered_unsigned_fails(server: LedgerServer) -> None:
    enterprise, _, _ = _firm(server, "UNSIGNED")
    meter, source = Terminal.create(), "88.118.8/SRC-RR-UNSIGNED-OP"
    _operator_source(server, enterprise, source)
    with session(server) as db:  # the ledger's own registration code, without a signature
        row = db.exec(select(Enterprise).where(Enterprise.identifier == enterprise)).one()
        add_device(db, meter.address, row, _sources(db, source), None)
        db.commit()
    result = _prove(server, _submit(server, enterprise, source, meter))
    assert failed(result) == ("registry-signatures", "RegistryUnsigned")
    assert result.failure is not None and meter.address in result.failure.reason
    assert "authorization[0]" in result.failure.reason


def test_a_registration_signed_by_the_operators_key_fails(server: LedgerServer) -> None:
    enterprise, source, _ = _firm(server, "FORGED")
    operator, meter = Terminal.create(), Terminal.create()
    domain = server.ledger_client().domain()
    with session(server) as db:  # a chain event the enterprise never signed, linked in place
        row = db.exec(select(Enterprise).where(Enterprise.identifier == enterprise)).one()
        head = chain_head(db, row)
        details = {"firstSeq": 1, "metadata": None, "sources": [source]}
        op = RegistryOperation(
            DEVICE_REGISTERED,
            enterprise,
            meter.address,
            rfc8785.dumps(details).decode(),
            head.index + 1,
            bytes.fromhex(head.digest[2:]),
            EFFECTIVE,
        )
        event = signed_event(op, operator.sign_registry_operation(domain, op))
        fields = {k: event[k] for k in ("enterprise", "index", "prev", "effective", "signature")}
        link = ChainLink(row.id, op.index, fields)  # type: ignore[arg-type]
        add_device(db, meter.address, row, _sources(db, source), None, link=link)
        db.commit()
    result = _prove(server, _submit(server, enterprise, source, meter))
    assert failed(result) == ("registry-signatures", "RegistrySignatureInvalid")
    assert result.failure is not None and f"signed by {operator.address}" in result.failure.reason


def test_an_enterprise_enrolled_without_a_key_has_no_plain_valid_record(
    server: LedgerServer,
) -> None:
    enterprise, source, meter = "88.118.8/ENT-RR-NOKEY", "88.118.8/SRC-RR-NOKEY", Terminal.create()
    with session(server) as db:  # the registrar's enrolment without a signer key
        row = add_enterprise(db, enterprise, enterprise, "aluminium", None, None)
        db.flush()
        added = add_source(db, row, source, "meter point", None)
        db.flush()
        add_device(db, meter.address, row, [added], None)
        db.commit()
    answer = server.get(f"/v1/records/{_submit(server, enterprise, source, meter)}/proof")
    assert answer.status_code == 200, answer.text
    assert answer.json()["registry"] == []
    result = verify_record(parse_bundle(answer.json()), None)
    assert failed(result) == ("registry-signatures", "RegistryUnsigned")


# --- the bundle alone -----------------------------------------------------------------------


def _offline(bundle_json: dict[str, Any]) -> tuple[str | None, str | None]:
    return failed(verify_record(parse_bundle(bundle_json), None))


def test_a_chain_left_out_forged_or_cut_fails(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    data = make_case(anchor, operator_account).bundle.to_json()
    dropped = copy.deepcopy(data)
    del dropped["registry"]
    assert _offline(dropped) == ("registry-signatures", "RegistryUnsigned")
    cut = copy.deepcopy(data)
    del cut["registry"][1]  # the source's registration: the terminal's no longer links
    assert _offline(cut) == ("registry-chain", "RegistryChainBroken")
    forged = copy.deepcopy(data)  # the registration's signature swapped for the record's
    forged["registry"][2]["event"]["signature"] = data["signature"]
    assert _offline(forged) == ("registry-signatures", "RegistrySignatureInvalid")
    withheld = copy.deepcopy(data)
    withheld["authorization"] = [withheld["registry"][0]]  # the enrolment, not the terminal's
    assert _offline(withheld)[0] == "authorization"


def test_a_v1_bundle_is_valid_only_with_a_warning(
    anchor: AnchorContract, operator_account: LocalAccount
) -> None:
    result = verify_record(make_case(anchor, operator_account, legacy=True).bundle, None)
    assert result.valid, result.failure
    statuses = {c.name: c.status for c in result.checks}
    assert statuses["registry-signatures"] is CheckStatus.WARNING
    assert statuses["registry-chain"] is CheckStatus.SKIPPED
    assert result.to_json()["warnings"]

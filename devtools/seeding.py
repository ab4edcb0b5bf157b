"""Building blocks for tests that talk to a real ledger server."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import httpx
import rfc8785

from devtools.local_server import ServerProcess
from ledger_api.registry.metadata_templates import PUBLIC_ID
from terminal.client import SignedRecord, Terminal
from verifier.protocol.keccak import keccak256
from verifier.protocol.registry_ops import (
    RegistryOperation,
    event_digest,
    signed_event,
)
from verifier.protocol.typed_data import ActivityRecord, Domain

PERIOD_START = 1_767_225_600  # 2026-01-01T00:00:00Z
HOUR = 3_600


# Registry operations are dated from here on (2020-01-01), so the tests' sources and terminals
# are in force for any period they evaluate.
EFFECTIVE = 1_577_836_800


def enterprise_secret(enterprise: str) -> bytes:
    """A dev enterprise's signer private key, derived from its identifier so every helper of a
    test run can sign for it; dev and test ledgers only, like the dev chain's accounts."""
    return keccak256(b"carbon-ledger dev enterprise key\x00" + enterprise.encode())


def enterprise_key(enterprise: str) -> Terminal:
    """A dev enterprise's signer key (:func:`enterprise_secret`)."""
    return Terminal(enterprise_secret(enterprise))


def sign_registry(
    server: ServerProcess,
    enterprise: str,
    changes: Sequence[tuple[str, str, dict[str, Any]]],
    effective: int = EFFECTIVE,
    key: Terminal | None = None,
) -> httpx.Response:
    """Sign ``(action, subject, details)`` changes after the enterprise's chain head with its
    key and submit them in one request."""
    with server.client() as http:
        head = http.get(f"/v1/enterprises/{enterprise}/registry-head").json()
        domain = server.ledger_client().domain()
        signer = key or enterprise_key(enterprise)
        prev, operations = bytes.fromhex(head["digest"][2:]), []
        for n, (action, subject, details) in enumerate(changes, start=head["index"] + 1):
            op = RegistryOperation(
                action, enterprise, subject, rfc8785.dumps(details).decode(), n, prev, effective
            )
            signature = signer.sign_registry_operation(domain, op)
            operations.append({"operation": op.to_message(), "signature": "0x" + signature.hex()})
            # The next operation names this one's event, which the ledger builds from it.
            prev = event_digest(signed_event(op, signature))
        return http.post("/v1/registry-operations", json={"operations": operations})


def revoke(
    server: ServerProcess, enterprise: str, device: str, last_seq: int | None, reason: str = ""
) -> httpx.Response:
    """The enterprise revokes its terminal, stating the last reading it accepts from it."""
    details = {"lastSeq": last_seq, "reason": reason or None}
    return sign_registry(server, enterprise, [("device.revoked", device, details)])


def register(
    server: ServerProcess,
    enterprise: str,
    sources: Sequence[str],
    terminal: Terminal,
    industry: str = "iron_steel",
    region: str | None = None,
) -> None:
    """Register an enterprise with its signer key, then its sources and a terminal bound to all
    of them as operations the enterprise signs."""
    with server.client() as http:
        body = {
            "identifier": enterprise,
            "name": enterprise,
            "industry": industry,
            "region": region,
            "signer": enterprise_key(enterprise).address,
        }
        assert http.post("/v1/enterprises", json=body).status_code == 201
    for source in sources:
        answer = sign_registry(
            server,
            enterprise,
            [("source.registered", source, {"name": source, "metadata": None})],
        )
        assert answer.status_code == 201, answer.text
    details = {"sources": sorted(sources), "metadata": None, "firstSeq": 1}
    answer = sign_registry(server, enterprise, [("device.registered", terminal.address, details)])
    assert answer.status_code == 201, answer.text


def reading(
    terminal: Terminal,
    enterprise: str,
    source: str,
    seq: int,
    quantity: int = 12_345,
    activity: str = "electricity.purchased",
    unit: str = "kWh",
    decimals: int = 1,
    step: int = HOUR,
) -> ActivityRecord:
    """Reading number ``seq`` of 2026, each covering ``step`` seconds (an hour by default)."""
    start = PERIOD_START + seq * step
    return ActivityRecord(
        enterprise=enterprise,
        source=source,
        device=terminal.address,
        seq=seq,
        activity=activity,
        quantity=quantity,
        decimals=decimals,
        unit=unit,
        period_start=start,
        period_end=start + step,
    )


def grid_record(
    terminal: Terminal, where: tuple[str, str], seq: int, start: int, step: int, quantity: int
) -> ActivityRecord:
    """Reading ``seq``: ``quantity`` thousandths of a MWh bought from the grid by ``where`` =
    (enterprise, source) over the ``step`` seconds from ``start``. Register meters sign these
    too, so the register-form tests and benchmarks build their readings here."""
    enterprise, source = where
    return ActivityRecord(
        enterprise=enterprise,
        source=source,
        device=terminal.address,
        seq=seq,
        activity="electricity.purchased",
        quantity=quantity,
        decimals=3,
        unit="MWh",
        period_start=start,
        period_end=start + step,
    )


def signed_readings(
    terminal: Terminal,
    domain: Domain,
    enterprise: str,
    source: str,
    seqs: range,
    step: int = HOUR,
) -> list[SignedRecord]:
    return [
        terminal.sign(domain, reading(terminal, enterprise, source, s, step=step)) for s in seqs
    ]


def resign(
    terminal: Terminal, domain: Domain, signed: SignedRecord, **changes: object
) -> SignedRecord:
    """The same record with some fields changed, signed again."""
    return terminal.sign(domain, replace(signed.record, **changes))  # type: ignore[arg-type]


PUBLIC_DECIMAL = f"{PUBLIC_ID}#/$defs/decimal"


def smelter_template(parent: str) -> dict:
    """An enterprise template: one more measured parameter, and every source names a workshop."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": parent,
        "$defs": {
            "params_fields": {
                "allOf": [
                    {"$ref": f"{parent}#/$defs/params_fields"},
                    {"properties": {"anode_density": {"$ref": PUBLIC_DECIMAL}}},
                ]
            },
            "source_fields": {
                "allOf": [
                    {"$ref": f"{parent}#/$defs/source_fields"},
                    {"properties": {"workshop": {"type": "string"}}, "required": ["workshop"]},
                ]
            },
        },
    }

"""Building blocks for tests that talk to a real ledger server."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from devtools.local_server import ServerProcess
from ledger_api.registry.metadata_templates import PUBLIC_ID
from terminal.client import SignedRecord, Terminal
from verifier.protocol.typed_data import ActivityRecord, Domain

PERIOD_START = 1_767_225_600  # 2026-01-01T00:00:00Z
HOUR = 3_600


def register(
    server: ServerProcess,
    enterprise: str,
    sources: Sequence[str],
    terminal: Terminal,
    industry: str = "iron_steel",
) -> None:
    """Register an enterprise, its sources, and a terminal bound to all of them."""
    with server.client() as http:
        assert (
            http.post(
                "/v1/enterprises",
                json={
                    "identifier": enterprise,
                    "name": enterprise,
                    "industry": industry,
                },
            ).status_code
            == 201
        )
        for source in sources:
            assert (
                http.post(
                    f"/v1/enterprises/{enterprise}/sources",
                    json={"identifier": source, "name": source},
                ).status_code
                == 201
            )
        assert (
            http.post(
                "/v1/devices",
                json={
                    "address": terminal.address,
                    "enterprise": enterprise,
                    "sources": list(sources),
                },
            ).status_code
            == 201
        )


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

"""A meter point's configuration for the tests that need no processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from terminal.gateway.config import Point, parse
from verifier.protocol.typed_data import Domain

DOMAIN = Domain(1337, "0x" + "11" * 20)

BASE = {
    "ledger": {"url": "http://127.0.0.1:1", "api_key_file": "key"},
    "terminal": {"enterprise": "88.118.8/E"},
}
METER = {
    "name": "m",
    "source": "88.118.8/S",
    "activity": "electricity.purchased",
    "unit": "kWh",
    "decimals": 2,
    "kind": "cumulative",
    "address": 0,
    "type": "uint32",
    "scale": "0.01",
}


def config(**point: Any) -> dict[str, Any]:
    modbus = {"name": "d", "host": "127.0.0.1", "points": [{**METER, **point}]}
    return {**BASE, "modbus": [modbus]}


def point(**changes: Any) -> Point:
    return parse(config(**changes), Path(".")).points[0]

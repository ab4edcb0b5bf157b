"""Signing an enterprise's added-value declaration and storing it, for the demo and tests."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import httpx

from terminal.client import Terminal
from verifier.protocol.declarations import AddedValueDeclaration
from verifier.protocol.typed_data import Domain


def declare_added_value(
    http: httpx.Client,
    domain: Domain,
    key: Terminal,
    enterprise: str,
    period: tuple[date, date],
    added_value: Decimal,
    declared_at: int | None = None,
) -> httpx.Response:
    """Sign ``added_value`` (万元) of ``period`` with the enterprise's key and post it."""
    stamp = int(time.time()) if declared_at is None else declared_at
    declaration = AddedValueDeclaration.of(enterprise, *period, added_value, stamp)
    body = {
        "declaration": declaration.to_message(),
        "signature": key.sign_declaration(domain, declaration),
    }
    return http.post("/v1/added-value-declarations", json=body)

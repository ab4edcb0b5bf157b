"""Identifier resolution in the Handle.net REST shape: what an identifier (or a terminal's
address) resolves to, for the caller who asks.

A handle answers only what the resource it names would answer the same caller: enterprise,
source and evaluation handles need a role that reads them (``READER_ROLES``: not a terminal),
a terminal's address any role, and every one the caller's sight of the enterprise. Anything
else resolves exactly as an identifier that does not exist."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from sqlalchemy import select
from sqlmodel import Session

from ledger_api.access.deps import READER_ROLES, Caller, sees
from ledger_api.core.models import Device, DeviceBinding, EmissionSource, Enterprise, Evaluation
from ledger_api.registry.checks import checksum_address
from ledger_api.registry.events import device_events
from ledger_api.registry.identifiers import IdentifierError, parse
from ledger_api.registry.template_store import template_catalog

HS_SUCCESS, HS_ERROR, HS_NOT_FOUND = 1, 2, 100
Visible = Callable[[int | None], bool]
Row = TypeVar("Row", Enterprise, EmissionSource, Evaluation, Device)


def _visible_row(
    session: Session, model: type[Row], column: Any, value: str, visible: Visible
) -> Row | None:
    """The row whose ``column`` is ``value`` if the caller may see its enterprise: a hidden row
    and a missing one are the same None."""
    row = session.scalar(select(model).where(column == value))
    owner = row.id if isinstance(row, Enterprise) else getattr(row, "enterprise_id", None)
    return row if row is not None and visible(owner) else None


def _value(index: int, type_: str, value: object) -> dict[str, Any]:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return {"index": index, "type": type_, "data": {"format": "string", "value": text}}


def _values(base: str, kind: str, path: str, extra: list[tuple[str, object]]) -> list[dict]:
    pairs: list[tuple[str, object]] = [("URL", f"{base}{path}"), ("CL_KIND", kind), *extra]
    return [_value(i + 1, t, v) for i, (t, v) in enumerate(pairs) if v is not None]


def _enterprise(session: Session, base: str, handle: str, visible: Visible) -> list[dict] | None:
    row = _visible_row(session, Enterprise, Enterprise.identifier, handle, visible)
    if row is None:
        return None
    template = template_catalog().for_industry(row.industry)
    return _values(
        base,
        "enterprise",
        f"/v1/enterprises/{quote(handle)}",
        [
            ("CL_NAME", row.name),
            ("CL_INDUSTRY", row.industry),
            ("CL_REGION", row.region),
            ("CL_TEMPLATE", {"id": template.id, "digest": template.digest}),
            ("CL_METADATA", json.loads(row.metadata_json) if row.metadata_json else None),
            ("CL_RATINGS", f"{base}/v1/enterprises/{quote(handle)}/ratings"),
        ],
    )


def _source(session: Session, base: str, handle: str, visible: Visible) -> list[dict] | None:
    row = _visible_row(session, EmissionSource, EmissionSource.identifier, handle, visible)
    if row is None:
        return None
    enterprise = session.get(Enterprise, row.enterprise_id)
    assert enterprise is not None
    devices = session.scalars(
        select(Device.address).join(DeviceBinding).where(DeviceBinding.source_id == row.id)
    )
    return _values(
        base,
        "source",
        f"/v1/enterprises/{quote(enterprise.identifier)}/sources",
        [
            ("CL_NAME", row.name),
            ("CL_ENTERPRISE", enterprise.identifier),
            ("CL_TERMINALS", sorted(devices)),
            ("CL_METADATA", json.loads(row.metadata_json) if row.metadata_json else None),
        ],
    )


def _evaluation(session: Session, base: str, handle: str, visible: Visible) -> list[dict] | None:
    row = _visible_row(session, Evaluation, Evaluation.identifier, handle, visible)
    if row is None:
        return None
    path = f"/v1/evaluations/{quote(handle)}"
    return _values(
        base,
        "evaluation",
        path,
        [
            ("CL_GRADE", str(row.grade) if row.grade is not None else None),
            ("CL_TOTAL_TCO2E", row.total),
            ("CL_DIGEST", row.digest),
            ("CL_PROOF", f"{base}{path}/proof"),
            ("CL_REPORT", f"{base}{path}/report"),
        ],
    )


def _device(session: Session, base: str, address: str, visible: Visible) -> list[dict] | None:
    row = _visible_row(session, Device, Device.address, address, visible)
    if row is None:
        return None
    return _values(
        base,
        "terminal",
        f"/v1/devices/{address}",
        [
            ("CL_ADDRESS", row.address),
            ("CL_STATUS", row.status),
            ("CL_SUCCESSOR", row.successor),
            ("CL_EVENTS", device_events(session, address)),
        ],
    )


def resolve_handle(
    session: Session, caller: Caller, base: str, identifier: str
) -> tuple[int, dict[str, Any]]:
    """The HTTP status and Handle body for ``identifier``; an identifier the caller may not
    read (its enterprise hidden, or its kind not for the caller's role) resolves as unknown."""

    def visible(enterprise_id: int | None) -> bool:
        return enterprise_id is not None and sees(session, caller, enterprise_id)

    def readable(enterprise_id: int | None) -> bool:
        # GET /v1/enterprises/…, …/sources and /v1/evaluations/… let READER_ROLES in only
        return caller.role in READER_ROLES and visible(enterprise_id)

    if identifier.startswith("0x") and len(identifier) == 42:
        values = _device(session, base, checksum_address(identifier, "identifier"), visible)
    else:
        try:
            handle = parse(identifier).text
        except IdentifierError as exc:
            body = {
                "responseCode": HS_ERROR,
                "handle": identifier,
                "message": str(exc),
                "error": {"code": exc.code, "field": "identifier"},
            }
            return 400, body
        values = next(
            (
                v
                for f in (_enterprise, _source, _evaluation)
                if (v := f(session, base, handle, readable)) is not None
            ),
            None,
        )
    if values is None:
        return 404, {"responseCode": HS_NOT_FOUND, "handle": identifier}
    return 200, {"responseCode": HS_SUCCESS, "handle": identifier, "values": values}

"""From signed activity records to an inventory the engine accounts.

Records of one activity, source, unit and attributes are summed exactly (scaled integers are
summed, then scaled once), so the ledger and a third-party verifier build the same entries
from the same records, in the same order, whatever order the records arrive in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from accounting.inventory import Entry, Inventory
from accounting.numbers import context, scaled_to_decimal

# A meter's cumulative register and its epoch (``verifier.protocol.registers``) change with
# every reading: they say where the quantity came from, not what it is, so records are
# grouped without them (one entry per meter, not one per reading).
REGISTER_ATTRIBUTES = frozenset({"register", "registerEpoch", "registerOpening"})


@dataclass(frozen=True)
class RecordQuantity:
    """What accounting needs of one signed record."""

    activity: str
    source: str
    quantity: int
    decimals: int
    unit: str
    attributes: Mapping[str, Any] | None = None


def _params(attributes: Mapping[str, Any] | None) -> dict[str, Decimal] | None:
    """Measured parameters travel as decimal strings under ``params`` in the signed attributes
    (the attributes template's shape); everything else there is context, not arithmetic."""
    params = (attributes or {}).get("params")
    if not params:
        return None
    return {name: Decimal(str(value)) for name, value in sorted(params.items())}


def _key(r: RecordQuantity) -> tuple[str, str, str, str]:
    kept = {k: v for k, v in (r.attributes or {}).items() if k not in REGISTER_ATTRIBUTES}
    return (r.activity, r.source, r.unit, json.dumps(kept, sort_keys=True))


def entries_from_records(records: Iterable[RecordQuantity]) -> tuple[Entry, ...]:
    """One entry per (activity, source, unit, attributes), in sorted key order."""
    sums: dict[tuple[str, str, str, str], Decimal] = {}
    first: dict[tuple[str, str, str, str], RecordQuantity] = {}
    with context():  # exact: a record may carry 30 digits, past Python's default 28
        for record in records:
            key = _key(record)
            value = scaled_to_decimal(record.quantity, record.decimals)
            sums[key] = sums.get(key, Decimal(0)) + value
            first.setdefault(key, record)
    entries = []
    for key in sorted(sums):
        r = first[key]
        entries.append(
            Entry(r.activity, sums[key], r.unit, _params(r.attributes), source_id=r.source)
        )
    return tuple(entries)


def inventory_from_records(
    enterprise_id: str,
    industry: str,
    period_start: date,
    period_end: date,
    records: Iterable[RecordQuantity],
    boundary: str = "",
    factor_choices: Mapping[str, str] | None = None,
) -> Inventory:
    """The inventory of an enterprise's period, built from its signed records."""
    return Inventory.build(
        enterprise_id,
        industry,
        period_start,
        period_end,
        entries_from_records(records),
        boundary,
        factor_choices,
    )

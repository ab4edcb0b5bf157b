"""Emissions of a round's records by the accounting engine: one inventory per enterprise, one
entry per source, hour and (activity, unit, attributes), so each line's tCO2e lands in the
figure it belongs to. Same factor set and grid rule as an evaluation, so a month's figure
agrees with the evaluation of that month up to its reporting rounding."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from accounting import AccountingError, Entry, Inventory, account, load_factor_set
from accounting.grid import select_grid_factor
from accounting.numbers import scaled_to_decimal

log = logging.getLogger("carbon_ledger.monitor")


@dataclass(frozen=True)
class Reading:
    """What the worker needs of one stored record."""

    id: int
    device_id: int
    source_id: int
    enterprise_id: int
    seq: int
    activity: str
    quantity: int
    decimals: int
    unit: str
    start: int
    end: int
    attributes: str | None
    received_at: datetime


def _params(attributes: str | None) -> dict[str, Decimal] | None:
    params = json.loads(attributes).get("params") if attributes else None
    return {k: Decimal(str(v)) for k, v in sorted(params.items())} if params else None


Bucket = tuple[int, int]  # source id, hour start


def _entries(readings: Sequence[tuple[Reading, int]]) -> tuple[list[Entry], list[Bucket]]:
    """Scaled integers summed exactly per key and scaled once, as ``from_records`` does."""
    sums: dict[tuple[Any, ...], int] = {}
    for r, hour in readings:
        key = (r.source_id, hour, r.activity, r.unit, r.attributes or "", r.decimals)
        sums[key] = sums.get(key, 0) + r.quantity
    merged: dict[tuple[Any, ...], Decimal] = {}
    for (source, hour, activity, unit, attributes, decimals), scaled in sums.items():
        key = (source, hour, activity, unit, attributes)
        merged[key] = merged.get(key, Decimal(0)) + scaled_to_decimal(scaled, decimals)
    entries, buckets = [], []
    for (source, hour, activity, unit, attributes), quantity in sorted(merged.items()):
        label = str(len(buckets))
        entries.append(Entry(activity, quantity, unit, _params(attributes), source_id=label))
        buckets.append((source, hour))
    return entries, buckets


def emissions_by_bucket(
    factor_set_id: str,
    identifier: str,
    industry: str,
    region: str | None,
    readings: Sequence[tuple[Reading, int]],
) -> dict[Bucket, Decimal]:
    """tCO2e per (source, hour) of one enterprise's readings (each with its hour start)."""
    entries, buckets = _entries(readings)
    factor_set = load_factor_set(factor_set_id)
    year = datetime.fromtimestamp(min(h for _, h in readings), UTC).year
    choices = select_grid_factor(factor_set, region, year).factor_choices()
    day = datetime.fromtimestamp(readings[0][1], UTC).date()
    out: dict[Bucket, Decimal] = {}
    try:
        result = account(
            Inventory.build(identifier, industry, day, day, entries, "", choices), factor_set
        )
        lines = [(int(line.entry.source_id or 0), line.co2e) for line in result.lines]
    except AccountingError:
        lines = _one_by_one(factor_set_id, identifier, industry, day, entries, choices)
    for index, co2e in lines:
        out[buckets[index]] = out.get(buckets[index], Decimal(0)) + co2e
    return out


def _one_by_one(
    factor_set_id: str,
    identifier: str,
    industry: str,
    day: Any,
    entries: list[Entry],
    choices: Mapping[str, str],
) -> list[tuple[int, Decimal]]:
    """An entry the engine refuses (a parameter the record lacks) counts nothing and is
    logged; the others still count."""
    lines = []
    for index, entry in enumerate(entries):
        try:
            inventory = Inventory.build(identifier, industry, day, day, (entry,), "", choices)
            lines.append((index, account(inventory, factor_set_id).lines[0].co2e))
        except AccountingError as exc:
            log.warning("monitor: %s of %s not accounted (%s)", entry.code, identifier, exc.code)
    return lines

"""The demo's five enterprises (the white paper's cases) and a month of their meter readings.

Each enterprise's month comes from the accounting package's sample inventory for its industry;
every entry is split into hourly readings whose scaled integers add up exactly to the entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from accounting import Inventory, load_sample

PREFIX = "88.118.8"
CST = timezone(timedelta(hours=8))  # meters in China read local time


@dataclass(frozen=True)
class DemoEnterprise:
    key: str
    industry: str
    name: str
    name_zh: str
    region: str  # GB/T 2260 division code
    added_value: str  # 万元 for the sample month
    product_output: str | None = None  # t of main product in the month

    @property
    def identifier(self) -> str:
        return f"{PREFIX}/CL-ENT-{self.key.upper()}-01"

    def source_identifier(self, source_id: str) -> str:
        # Canonical Handle spelling: suffixes are upper case (see ledger_api.registry.identifiers).
        return f"{PREFIX}/CL-SRC-{self.key.upper()}-01-{source_id.upper()}"

    def inventory(self) -> Inventory:
        return load_sample(self.industry)


# Regions are GB/T 2260 division codes: the evaluation takes the grid factor of the province and
# the grading ruleset of the region. Only Huzhou (3305xx) has a ruleset, so the glass works
# (Changxing county) and the filter maker (Deqing county) are graded; the other three are
# evaluated and marked not gradable.
ENTERPRISES = (
    DemoEnterprise("glass", "flat_glass", "Float glass works", "浮法玻璃厂", "330522", "1600"),
    DemoEnterprise(
        "chem", "chemicals", "Chemical new materials", "化工新材料企业", "320000", "80000"
    ),
    DemoEnterprise(
        "steel", "iron_steel", "Integrated steelworks", "钢铁联合企业", "130000", "60000"
    ),
    DemoEnterprise(
        "auto", "automotive", "Automotive filter maker", "汽车滤清器企业", "330521", "5200"
    ),
    DemoEnterprise(
        "alu",
        "aluminium",
        "Electrolytic aluminium smelter",
        "电解铝企业",
        "530000",
        "2000",
        "30150",
    ),
)


@dataclass(frozen=True)
class Reading:
    """One hourly reading, before a terminal signs it."""

    source: str
    activity: str
    quantity: int
    decimals: int
    unit: str
    period_start: int
    period_end: int
    attributes: dict[str, Any] | None


def _hours(start: date, end: date) -> list[int]:
    first = datetime(start.year, start.month, start.day, tzinfo=CST)
    count = ((end - start).days + 1) * 24
    return [int((first + timedelta(hours=h)).astimezone(UTC).timestamp()) for h in range(count)]


def month_end(enterprise: DemoEnterprise) -> int:
    """The end of the enterprise's month (Unix seconds): readings after it only close the
    period and are not part of it."""
    inventory = enterprise.inventory()
    return _hours(inventory.period_start, inventory.period_end)[-1] + 3600


def _split(total: int, parts: int) -> list[int]:
    """``parts`` integers summing to ``total``, as even as integers allow."""
    base, extra = divmod(total, parts)
    return [base + 1 if i < extra else base for i in range(parts)]


def readings(enterprise: DemoEnterprise) -> Iterator[Reading]:
    """The month's hourly readings of every entry of the enterprise's sample inventory, then
    one reading per source in the first hour after the month: a terminal that has not reported
    past a period leaves it open, and the ledger does not evaluate it."""
    last: dict[str, Reading] = {}
    for reading in _month(enterprise):
        last[reading.source] = reading
        yield reading
    for reading in last.values():
        after = reading.period_end
        yield replace(reading, period_start=after, period_end=after + 3600)


def _month(enterprise: DemoEnterprise) -> Iterator[Reading]:
    inventory = enterprise.inventory()
    hours = _hours(inventory.period_start, inventory.period_end)
    for entry in inventory.entries:
        decimals = max(3, -int(entry.quantity.as_tuple().exponent))
        scaled = int(entry.quantity.scaleb(decimals))
        params = {k: str(v) for k, v in sorted((entry.params or {}).items())}
        attributes = {"params": params} if params else None
        source = enterprise.source_identifier(entry.source_id or "site")
        for start, quantity in zip(hours, _split(scaled, len(hours)), strict=True):
            yield Reading(
                source,
                entry.code,
                quantity,
                decimals,
                entry.unit,
                start,
                start + 3600,
                attributes,
            )

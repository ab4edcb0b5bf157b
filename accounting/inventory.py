"""The inventory model: what an enterprise emitted from, in which quantities, over one period.

Constructible in code (the ledger builds it from signed activity records) or read from files
(``accounting.readers``). Entries are light on purpose: the engine validates each one and names
its index in any error, so a million entries cost little to build.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import MappingProxyType

from accounting.errors import InventoryFormatError, UnknownIndustryError
from accounting.industries import ACCEPTED_INDUSTRIES
from accounting.numbers import scaled_to_decimal

_EMPTY: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Entry:
    """One activity: ``quantity`` of ``unit`` for activity ``code``.

    ``params`` are enterprise-measured parameters (e.g. ``ncv``, ``cc``, ``of``) that override
    factor-set defaults; ``factor`` picks a factor id for the activity's selectable factor
    (grid series, heat factor, leak rate); ``source_id`` ties the entry to its emission source
    or signed record.
    """

    code: str
    quantity: Decimal
    unit: str
    params: Mapping[str, Decimal] | None = None
    factor: str | None = None
    source_id: str | None = None

    @classmethod
    def from_scaled(
        cls,
        code: str,
        scaled: int,
        decimals: int,
        unit: str,
        *,
        params: Mapping[str, Decimal] | None = None,
        factor: str | None = None,
        source_id: str | None = None,
    ) -> Entry:
        """Entry from a signed record's scaled integer quantity (``12345``, ``2`` → 123.45)."""
        quantity = scaled_to_decimal(scaled, decimals)
        return cls(code, quantity, unit, params, factor, source_id)


@dataclass(frozen=True)
class Inventory:
    """Header plus entries. ``factor_choices`` maps an activity code to a factor id that all of
    its entries use unless an entry names its own ``factor``."""

    enterprise_id: str
    industry: str
    period_start: date
    period_end: date
    entries: tuple[Entry, ...]
    boundary: str = ""
    factor_choices: Mapping[str, str] = field(default_factory=lambda: _EMPTY)

    def __post_init__(self) -> None:
        if not isinstance(self.enterprise_id, str) or not self.enterprise_id.strip():
            raise InventoryFormatError(
                "enterprise_id must be a non-empty string", field="enterprise_id"
            )
        if self.industry not in ACCEPTED_INDUSTRIES:
            known = ", ".join(sorted(ACCEPTED_INDUSTRIES))
            raise UnknownIndustryError(
                f"unknown industry {self.industry!r} (known: {known})", field="industry"
            )
        for name in ("period_start", "period_end"):
            if not isinstance(getattr(self, name), date):
                raise InventoryFormatError(f"{name} must be a date", field=name)
        if self.period_end < self.period_start:
            raise InventoryFormatError("period_end is before period_start", field="period_end")
        if not isinstance(self.entries, tuple):
            object.__setattr__(self, "entries", tuple(self.entries))
        object.__setattr__(self, "factor_choices", MappingProxyType(dict(self.factor_choices)))

    @classmethod
    def build(
        cls,
        enterprise_id: str,
        industry: str,
        period_start: date,
        period_end: date,
        entries: Iterable[Entry],
        boundary: str = "",
        factor_choices: Mapping[str, str] | None = None,
    ) -> Inventory:
        return cls(
            enterprise_id,
            industry,
            period_start,
            period_end,
            tuple(entries),
            boundary,
            factor_choices or _EMPTY,
        )

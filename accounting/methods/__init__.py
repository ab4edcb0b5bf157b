"""Accounting methods, one module per standard; together they define every activity code."""

from __future__ import annotations

from types import MappingProxyType

from accounting.activities import ActivitySpec
from accounting.methods import (
    aluminium,
    carbonates,
    cement,
    chemicals,
    flat_glass,
    general,
    iron_steel,
    machinery,
)

_MODULES = (general, carbonates, flat_glass, cement, chemicals, iron_steel, aluminium, machinery)


def _collect() -> MappingProxyType[str, ActivitySpec]:
    specs: dict[str, ActivitySpec] = {}
    for module in _MODULES:
        for spec in module.SPECS:
            if spec.code in specs:
                raise RuntimeError(f"activity code {spec.code} defined twice")
            specs[spec.code] = spec
    return MappingProxyType(specs)


ACTIVITIES: MappingProxyType[str, ActivitySpec] = _collect()


def activity_codes() -> tuple[str, ...]:
    """Every stable activity code, sorted."""
    return tuple(sorted(ACTIVITIES))

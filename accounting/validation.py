"""Checks a signed activity record must pass before the ledger stores it.

The ledger refuses a record the engine could never account, at the door, rather than at
evaluation time months later.
"""

from __future__ import annotations

from functools import cache

from accounting.errors import UnknownActivityError, UnknownIndustryError
from accounting.factors import FactorSet, load_factor_set
from accounting.industries import GENERAL, INDUSTRIES
from accounting.methods import ACTIVITIES
from accounting.units import converter_for


@cache
def _default_set() -> FactorSet:
    return load_factor_set()


def check_activity_unit(code: str, unit: str, factor_set: FactorSet | None = None) -> None:
    """Raise ``UnknownActivityError``, ``UnknownUnitError`` or ``UnitMismatchError``."""
    spec = ACTIVITIES.get(code)
    if spec is None:
        raise UnknownActivityError(f"unknown activity code {code!r}", field="activity")
    converter_for(factor_set or _default_set()).convert_to_any(unit, spec.units)


def check_industry(key: str) -> None:
    """Raise ``UnknownIndustryError`` unless ``key`` is an industry the engine accounts."""
    if key != GENERAL and key not in INDUSTRIES:
        raise UnknownIndustryError(
            f"unknown industry {key!r}; expected one of {', '.join(INDUSTRIES)}",
            field="industry",
        )

"""The unit spellings a signed record may carry, per activity, derived from accounting's tables.

Ingestion accepts any unit the accounting engine converts to one of the activity's canonical
units (``accounting.validation.check_activity_unit``). The spellings listed here are the
canonical units, the units the factor set defines and its aliases, each kept for an activity
when the engine converts it: so the list can never promise a unit ingestion would refuse.
"""

from __future__ import annotations

from functools import cache

from accounting.errors import AccountingError
from accounting.factors import FactorSet, load_factor_set
from accounting.methods import ACTIVITIES
from accounting.units import converter_for
from ledger_api.activity.schemas import ActivityUnitsOut, UnitsOut

# How many spellings a refusal names before pointing at the full list.
HINT_LENGTH = 8


def _defined_symbols(factor_set: FactorSet) -> list[str]:
    """The short symbol of each defined unit (``name = expression = symbol``)."""
    return [d.split("=")[-1].strip() for d in factor_set.unit_definitions if d.count("=") >= 2]


def _names(factor_set: FactorSet) -> list[str]:
    """Unit names, without the many-spelling aliases: the defined symbols and the aliases'
    targets, leaving out targets only an alias should be typed as (``kcal`` → ``kcal_it``)."""
    symbols = _defined_symbols(factor_set)
    targets = [t for t in factor_set.unit_aliases.values() if "_" not in t or t in symbols]
    return list(dict.fromkeys(symbols + targets))


def _fits(factor_set: FactorSet, unit: str, canonicals: tuple[str, ...]) -> bool:
    converter = converter_for(factor_set)
    try:
        return any(converter.factor(unit, c) is not None for c in canonicals)
    except AccountingError:  # a spelling this engine does not read is not offered
        return False


@cache
def activity_units() -> UnitsOut:
    """Every activity's canonical units, unit names and accepted spellings (computed once)."""
    factor_set = load_factor_set()
    names = _names(factor_set)
    aliases = [a for a in factor_set.unit_aliases if a not in names]
    activities = []
    for code in sorted(ACTIVITIES):
        canonical = ACTIVITIES[code].units
        named = [n for n in names if n not in canonical and _fits(factor_set, n, canonical)]
        aliased = [a for a in aliases if a not in canonical and _fits(factor_set, a, canonical)]
        activities.append(
            ActivityUnitsOut(
                activity=code,
                canonical=list(canonical),
                accepted=[*canonical, *named, *aliased],
            )
        )
    return UnitsOut(factor_set=factor_set.id, activities=activities)


def unit_hint(activity: str) -> str:
    """A short list of the spellings ``activity`` accepts, for a refusal's message."""
    for entry in activity_units().activities:
        if entry.activity == activity:
            # Canonical units and names come before the aliases: the head is the useful part.
            short = ", ".join(entry.accepted[:HINT_LENGTH])
            return f"; {activity} accepts {short}, … (GET /v1/units lists all)"
    return ""

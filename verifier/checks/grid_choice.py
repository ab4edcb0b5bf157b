"""The grid factor an entry says it chose, recomputed from the factor set's own rule.

An entry since cn-ghg-v2 records ``accounting.gridFactor``: which factor purchased and exported
electricity used, at which level (province, region, national, the set's default, or an
override) and why. The figures are recomputed from ``factorChoices``; this check makes sure
that choice is the one the published rule gives for the entry's region and period year, or an
override that says so, with its reason and the rule's own choice.
"""

from __future__ import annotations

from typing import Any

from accounting.factors import FactorSet
from accounting.grid import GRID_ACTIVITIES, select_grid_factor
from verifier.errors import VerificationFailure
from verifier.formats.entry import EvaluationEntry


def _mismatch(reason: str) -> VerificationFailure:
    return VerificationFailure("figures", "GridFactorMismatch", reason)


def _stated_choice(entry: EvaluationEntry, stated: dict[str, Any]) -> str:
    factor = stated.get("factor")
    choices = entry.accounting.factor_choices
    for code in GRID_ACTIVITIES:
        if choices.get(code) != factor:
            raise _mismatch(f"factorChoices[{code}] is {choices.get(code)!r}, not {factor!r}")
    return str(factor)


def check_grid_choice(entry: EvaluationEntry, factor_set: FactorSet) -> str | None:
    """None for an entry that records no choice; else a one-line account of it."""
    stated = entry.accounting.grid_factor
    if stated is None:
        return None
    factor = _stated_choice(entry, stated)
    rule = select_grid_factor(factor_set, entry.region, entry.period.start.year)
    if stated.get("level") == "override":
        override = stated.get("override") or {}
        if not str(override.get("reason") or "").strip():
            raise _mismatch("an overridden grid factor without a reason")
        if override.get("ruleChoice") != rule.factor.id:
            raise _mismatch(
                f"the override says the rule chose {override.get('ruleChoice')!r}; "
                f"the rule chooses {rule.factor.id}"
            )
        if factor_set.get(factor) is None:
            raise _mismatch(f"{factor} is not in the factor set")
        return f"grid factor {factor} overridden ({override['reason']})"
    if (factor, stated.get("level")) != (rule.factor.id, rule.level):
        raise _mismatch(
            f"the entry chose {factor} ({stated.get('level')}); the rule gives "
            f"{rule.factor.id} ({rule.level}) for region {entry.region!r} in "
            f"{entry.period.start.year}"
        )
    return f"grid factor {factor} is the rule's {rule.level} choice"

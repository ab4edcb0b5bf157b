"""Which grid factor purchased and exported electricity use: the factor set's selection rule.

A factor set that carries ``grid_selection`` (cn-ghg-v2 on) states the rule in its own digested
document, so an entry's choice can be recomputed by anyone holding the set:

1. The data year is the latest year with a national MEE/NBS average in the set that is not
   after the period's year (MEE publishes a year's factors about two years later); a period
   before the first data year uses the first.
2. For that data year: the enterprise's province where the set has it, else the province's
   regional grid, else the national average.
3. An enterprise whose region names no province gets the set's ``defaults.grid_ef``.

A caller may override the choice with another grid factor of the set, but only with a stated
reason; the override is recorded next to what the rule would have chosen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from accounting.errors import AccountingError, FactorNotFoundError
from accounting.factors import Factor, FactorSet
from accounting.numbers import decimal_str
from accounting.regions import Region, read_region

GRID_ACTIVITIES = ("electricity.purchased", "electricity.exported")
LEVELS = ("province", "region", "national", "default", "override")
_NATIONAL = re.compile(r"grid\.mee\.national\.(\d{4})")


class GridOverrideError(AccountingError):
    """A grid-factor override without a reason, or naming no grid factor of the set."""

    code = "invalid_grid_override"


@dataclass(frozen=True, slots=True)
class GridSelection:
    """The grid factor chosen for an enterprise and period, and why."""

    factor: Factor
    level: str
    period_year: int
    data_year: int | None
    region: Region | None
    rule: str | None
    note: str
    override_reason: str | None = None
    rule_choice: str | None = None  # what the rule chose, when overridden

    def factor_choices(self) -> dict[str, str]:
        """The inventory's factor choices that make accounting use this factor."""
        return dict.fromkeys(GRID_ACTIVITIES, self.factor.id)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form recorded in an evaluation entry (``accounting.gridFactor``)."""
        region = self.region
        return {
            "factor": self.factor.id,
            "value": decimal_str(self.factor.value),
            "unit": self.factor.unit,
            "level": self.level,
            "rule": self.rule,
            "periodYear": self.period_year,
            "dataYear": self.data_year,
            "province": region.province if region else None,
            "note": self.note,
            "source": self.factor.provenance.to_dict(),
            "override": (
                {"reason": self.override_reason, "ruleChoice": self.rule_choice}
                if self.level == "override"
                else None
            ),
        }


def _data_year(factor_set: FactorSet, year: int) -> int | None:
    years = sorted(int(m.group(1)) for f in factor_set.factors if (m := _NATIONAL.fullmatch(f)))
    if not years:
        return None
    earlier = [y for y in years if y <= year]
    return earlier[-1] if earlier else years[0]


def _grid_region(rule: dict[str, Any], province: str) -> str | None:
    return next((name for name, members in rule["regions"].items() if province in members), None)


def _default(factor_set: FactorSet, year: int, region: Region | None, note: str) -> GridSelection:
    factor = factor_set.factors[factor_set.defaults["grid_ef"]]
    return GridSelection(factor, "default", year, None, region, None, note)


def select_grid_factor(factor_set: FactorSet, region_text: str | None, year: int) -> GridSelection:
    """The grid factor the set's rule gives an enterprise registered at ``region_text`` for a
    period in ``year`` (see the module docstring)."""
    rule = factor_set.document.get("grid_selection")
    region = read_region(region_text)
    if rule is None:
        return _default(factor_set, year, region, "the factor set has no selection rule")
    if region is None:
        return _default(factor_set, year, None, "the registered region names no province")
    data_year = _data_year(factor_set, year)
    if data_year is None:
        return _default(factor_set, year, region, "the factor set has no national series")
    series = rule["series"]
    grid_region = _grid_region(rule, region.province)
    steps = [
        ("province", series["province"].format(province=region.province_key, year=data_year)),
        ("region", series["region"].format(region=grid_region, year=data_year))
        if grid_region
        else None,
        ("national", series["national"].format(year=data_year)),
    ]
    for level, factor_id in filter(None, steps):
        factor = factor_set.get(factor_id)
        if factor is not None:
            note = _note(level, region, grid_region, data_year, year)
            return GridSelection(factor, level, year, data_year, region, rule["rule"], note)
    raise FactorNotFoundError(f"no grid factor for {data_year}", field="factor")  # unreachable


def _note(level: str, region: Region, grid: str | None, data_year: int, year: int) -> str:
    where = {
        "province": f"provincial average of {region.province_name}",
        "region": f"{grid} regional grid average ({region.province_name} has none for {data_year})",
        "national": f"national average ({region.province_name} and its regional grid have "
        f"none for {data_year})",
    }[level]
    lag = ""
    if data_year < year:
        lag = f"; the latest data year for a {year} period"
    elif data_year > year:
        lag = f"; the earliest data year, none is published for {year}"
    return f"{where}, data year {data_year}{lag}"


def override_grid_factor(
    chosen: GridSelection, factor_set: FactorSet, factor_id: str, reason: str | None
) -> GridSelection:
    """``chosen`` replaced by ``factor_id``, which must be a grid factor of the set; the reason
    is required and recorded with what the rule chose."""
    if not reason or not reason.strip():
        raise GridOverrideError(
            "a grid-factor override needs a stated reason", field="gridFactorReason"
        )
    factor = factor_set.get(factor_id)
    if factor is None or factor.kind != "grid_ef":
        raise GridOverrideError(
            f"{factor_id!r} is not a grid factor of {factor_set.id}", field="gridFactor"
        )
    return GridSelection(
        factor,
        "override",
        chosen.period_year,
        chosen.data_year,
        chosen.region,
        chosen.rule,
        f"override of the rule's {chosen.factor.id}: {reason.strip()}",
        reason.strip(),
        chosen.factor.id,
    )

"""Write ``src/accounting/units.json``: exact unit ratios of every published factor set, from
the accounting engine's own converter, so the browser verifier converts units with the same
digits without shipping a unit library. Run after a factor set's units change; the agreement
test fails while the file is stale."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from accounting.errors import UnknownUnitError
from accounting.factors import load_factor_set
from accounting.numbers import decimal_str
from accounting.units import converter_for

OUT = Path(__file__).parent / "src" / "accounting" / "units.json"
PUBLISHED = Path(__file__).parents[1] / "verifier" / "trusted_reference.json"
# The canonical units of the methods the browser verifier accounts (accounting/methods/general.py)
CANONICAL = ("t", "GJ", "MWh", "wan_Nm3")
SPELLINGS = (
    *("g", "kg", "t", "kt", "Mt", "J", "kJ", "MJ", "GJ", "TJ", "Wh", "kWh", "MWh", "GWh"),
    *("Nm3", "wan_Nm3", "kgce", "tce", "kcal_it", "Mcal_it", "Gcal_it", "m3"),
)


def table() -> dict[str, dict[str, object]]:
    out = {}
    for published in json.loads(PUBLISHED.read_text())["factorSets"]:
        factor_set = load_factor_set(published["id"])
        converter = converter_for(factor_set)
        units = sorted({*SPELLINGS, *factor_set.unit_aliases})
        ratios = {}
        for unit in units:
            try:
                row = {c: converter.factor(unit, c) for c in CANONICAL}
            except UnknownUnitError:
                ratios[unit] = "unknown"  # the engine refuses it: so does the browser
                continue
            ratios[unit] = {
                c: None if r is None else [decimal_str(x) for x in r] for c, r in row.items()
            }
        out[factor_set.digest] = ratios
    return out


def render() -> str:
    return json.dumps(table(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {OUT}\n")

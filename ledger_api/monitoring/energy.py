"""Energy in tonnes of standard coal equivalent (tce) of one signed record, by the GB/T 2589
coefficient set the evaluations use (``accounting.energy``): the same rules, the same
coefficients, electricity at its equivalent value (等价值) of the record's year, exported
electricity and heat negative, process inputs none.

The rules apply to an accounted line; the worker needs a figure per record at ingest rate, so
the tce of one unit is worked out once per (industry, activity, unit, measured parameters,
year) by accounting a one-unit entry, and each record multiplies its quantity by it.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from decimal import Decimal
from functools import cache

from accounting import AccountingError, Entry, Inventory, account, load_factor_set
from accounting.energy import carrier_of, energy_lines, load_energy_set

log = logging.getLogger("carbon_ledger.monitor")

BASIS = "equivalent"


def _params(attributes: str) -> dict[str, Decimal] | None:
    params = json.loads(attributes).get("params") if attributes else None
    return {k: Decimal(str(v)) for k, v in sorted(params.items())} if params else None


@cache
def tce_per_unit(
    factor_set_id: str, industry: str, code: str, unit: str, attributes: str, year: int
) -> Decimal:
    """tce of one ``unit`` of activity ``code`` (0 for a process input)."""
    if carrier_of(code) is None:
        return Decimal(0)
    day = date(year, 1, 1)
    entry = Entry(code, Decimal(1), unit, _params(attributes), source_id="unit")
    try:
        result = account(
            Inventory.build("monitor", industry, day, day, (entry,)), load_factor_set(factor_set_id)
        )
        lines, _ = energy_lines(result, load_energy_set(), BASIS, year)
    except AccountingError as exc:
        log.warning("monitor: no energy coefficient for %s in %s (%s)", code, unit, exc.code)
        return Decimal(0)
    return lines[0].tce if lines else Decimal(0)


def record_tce(per_unit: Decimal, quantity: int, decimals: int) -> Decimal:
    # The constructor reads the text exactly (no context rounding): the value of the accounting
    # package's scaled_to_decimal, at a fraction of its cost, which the worker pays per record.
    return Decimal(f"{quantity}e-{decimals}") * per_unit

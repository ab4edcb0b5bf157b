"""Property tests: exact, order-independent totals for arbitrary quantities."""

from __future__ import annotations

import decimal
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from accounting import Entry, account
from tests.accounting.helpers import POLICY, D, inventory, line

CODES = [
    ("fuel.natural_gas", "Nm3"),
    ("fuel.diesel", "kg"),
    ("electricity.purchased", "kWh"),
    ("heat.purchased", "GJ"),
    ("electricity.exported", "MWh"),
    ("fugitive.sf6", "kg"),
]
quantities = st.decimals(
    min_value=0, max_value=10**9, places=4, allow_nan=False, allow_infinity=False
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(CODES), quantities), min_size=1, max_size=25),
    st.randoms(use_true_random=False),
)
def test_total_is_exact_sum_and_order_free(items, rnd):
    entries = [Entry(code, q, unit) for (code, unit), q in items]
    result = account(inventory("automotive", *entries))
    with decimal.localcontext(POLICY):  # the documented 50-digit context; sums are exact there
        assert result.total == sum((ln.co2e for ln in result.lines), Decimal(0))
    rnd.shuffle(entries)
    assert account(inventory("automotive", *entries)).total == result.total


@given(quantities)
def test_electricity_line_matches_formula(q):
    result = account(inventory("general", Entry("electricity.purchased", q, "kWh")))
    assert result.total == line(q * D("0.001") * D("0.5366"))

"""The accounting engine: inventory + factor set + GWP set → Result, deterministically.

Per distinct (activity, unit, factor choice, measured parameters) the engine builds a plan
once — pint conversion, factor look-ups, provenance, GWP — reducing the entry to
``mass = quantize(quantity × numerator / denominator)`` per gas. The per-entry loop is then
plain Decimal arithmetic. See ``accounting.numbers`` for the rounding policy.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from accounting.activities import (
    CATEGORIES,
    MEMO_CATEGORIES,
    ZERO,
    ActivitySpec,
    BuildContext,
)
from accounting.errors import (
    AccountingError,
    ActivityNotAllowedError,
    ArithmeticLimitError,
    FactorKindError,
    GasNotInGwpSetError,
    InvalidParameterError,
    InvalidQuantityError,
    NegativeQuantityError,
    UnknownActivityError,
    UnknownUnitError,
)
from accounting.factors import DEFAULT_GWP_SET, FactorSet, GwpSet, load_factor_set
from accounting.inventory import Inventory
from accounting.methods import ACTIVITIES
from accounting.numbers import LINE_QUANTUM, context
from accounting.result import Line, LineBasis, Result
from accounting.units import UnitConverter, converter_for

_GAS_ORDER = {"CO2": 0, "CH4": 1, "N2O": 2}


class _Plan:
    """Coefficients of one line basis plus the running mass sum of each of its gases."""

    __slots__ = ("acc", "basis", "den", "gwp", "num", "rest")

    def __init__(
        self, basis: LineBasis, terms: list[tuple[Decimal, Decimal | None, Decimal | None]]
    ):
        self.basis = basis
        self.num, self.den, self.gwp = terms[0]
        self.rest = tuple(terms[1:]) or None
        self.acc = [ZERO] * len(terms)


class _Planner:
    def __init__(self, inventory: Inventory, factor_set: FactorSet, gwp_set: GwpSet):
        self.industry = inventory.industry
        self.factor_set = factor_set
        self.gwp_set = gwp_set
        self.units: UnitConverter = converter_for(factor_set)

    def plan(self, entry: Any, choice: str | None, index: int) -> _Plan:
        try:
            return self._plan(entry, choice, index)
        except AccountingError as exc:
            raise exc.at(index) from None

    def _plan(self, entry: Any, choice: str | None, index: int) -> _Plan:
        spec = ACTIVITIES.get(entry.code) if isinstance(entry.code, str) else None
        if spec is None:
            raise UnknownActivityError(f"unknown activity code {entry.code!r}", field="activity")
        if not spec.allows(self.industry):
            raise ActivityNotAllowedError(
                f"{spec.code} is not accounted for industry {self.industry!r} by its standard",
                field="activity",
            )
        if choice is not None and spec.slot is None:
            raise FactorKindError(f"{spec.code} takes no selectable factor", field="factor")
        if not isinstance(entry.unit, str):
            raise UnknownUnitError(f"unit must be a string, got {entry.unit!r}", field="unit")
        canonical, (conv_num, conv_den) = self.units.convert_to_any(entry.unit, spec.units)
        params = _checked_params(spec.code, entry.params, spec)
        ctx = BuildContext(spec, self.factor_set, canonical, params, choice, index)
        terms = spec.build(ctx)
        coefficients = []
        for term in terms:
            numerator = conv_num * term.numerator * spec.sign
            denominator = conv_den * term.denominator
            coefficients.append(
                (numerator, None if denominator == 1 else denominator, self._gwp(term.gas))
            )
        basis = LineBasis(
            code=spec.code,
            category=spec.category,
            method=spec.method,
            canonical_unit=canonical,
            conversion=(conv_num, conv_den),
            gases=tuple(t.gas for t in terms),
            gwp=tuple(Decimal(1) if g is None else g for _, _, g in coefficients),
            factors=tuple(ctx.used),
            overrides=tuple(ctx.overrides),
        )
        return _Plan(basis, coefficients)

    def _gwp(self, gas: str) -> Decimal | None:
        if gas == "CO2":
            return None
        value = self.gwp_set.values.get(gas)
        if value is None:
            raise GasNotInGwpSetError(
                f"GWP set {self.gwp_set.id} has no value for {gas}", field="gwp"
            )
        return value


def _checked_params(code: str, params: Any, spec: ActivitySpec) -> dict[str, Decimal]:
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise InvalidParameterError("params must be a mapping of name → Decimal", field="params")
    known = {p.name: p for p in spec.params}
    checked: dict[str, Decimal] = {}
    for name, value in params.items():
        where = f"params.{name}"
        if name not in known:
            accepted = ", ".join(known) or "none"
            raise InvalidParameterError(
                f"{code} has no parameter {name!r} (accepted: {accepted})", field=where
            )
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise InvalidParameterError(
                f"must be a Decimal, got {type(value).__name__}", field=where
            )
        value = Decimal(value)
        if not value.is_finite() or value < 0:
            raise InvalidParameterError(
                f"must be finite and non-negative, got {value}", field=where
            )
        if known[name].fraction and value > 1:
            raise InvalidParameterError(f"is a fraction (0–1), got {value}", field=where)
        checked[name] = value
    return checked


def _params_key(params: Any, index: int) -> tuple[Any, ...]:
    try:
        return tuple(sorted(params.items()))
    except (AttributeError, TypeError):
        raise InvalidParameterError(
            "params must be a mapping of name → Decimal", entry=index, field="params"
        ) from None


def _checked_quantity(quantity: Any, index: int) -> Decimal:
    if isinstance(quantity, bool) or not isinstance(quantity, Decimal | int):
        raise InvalidQuantityError(
            f"quantity must be a Decimal, got {type(quantity).__name__}",
            entry=index,
            field="quantity",
        )
    quantity = Decimal(quantity)
    if not quantity.is_finite():
        raise InvalidQuantityError(
            f"quantity must be finite, got {quantity}", entry=index, field="quantity"
        )
    if quantity < 0:
        raise NegativeQuantityError(
            f"quantity {quantity} is negative; not allowed here", entry=index, field="quantity"
        )
    return quantity


def account(
    inventory: Inventory,
    factor_set: FactorSet | str | None = None,
    gwp: str = DEFAULT_GWP_SET,
    *,
    keep_lines: bool = True,
) -> Result:
    """Account ``inventory`` with ``factor_set`` (object, id, or the default) and GWP set."""
    if not isinstance(factor_set, FactorSet):
        factor_set = load_factor_set() if factor_set is None else load_factor_set(factor_set)
    gwp_set = factor_set.gwp(gwp)
    planner = _Planner(inventory, factor_set, gwp_set)
    with context():
        lines, plans = _run(inventory, planner, keep_lines)
        by_category, by_gas, gas_mass, total = _aggregate(plans)
    return Result(
        enterprise_id=inventory.enterprise_id,
        industry=inventory.industry,
        period_start=inventory.period_start,
        period_end=inventory.period_end,
        boundary=inventory.boundary,
        total=total,
        by_category=by_category,
        by_gas=by_gas,
        gas_mass=gas_mass,
        lines=tuple(lines),
        entry_count=len(inventory.entries),
        factor_set_id=factor_set.id,
        factor_set_version=factor_set.version,
        factor_set_digest=factor_set.digest,
        gwp_set=gwp_set.id,
    )


def _run(
    inventory: Inventory, planner: _Planner, keep_lines: bool
) -> tuple[list[Line], Sequence[_Plan]]:
    plans: dict[tuple[Any, ...], _Plan] = {}
    choices = inventory.factor_choices
    lines: list[Line] = []
    append = lines.append
    quantum = LINE_QUANTUM
    make_line = Line._make
    index = -1
    try:
        for index, entry in enumerate(inventory.entries):
            code = entry.code
            choice = entry.factor
            if choice is None and choices:
                choice = choices.get(code)
            params = entry.params
            key = (code, entry.unit, choice, _params_key(params, index) if params else None)
            plan = plans.get(key)
            if plan is None:
                plan = plans[key] = planner.plan(entry, choice, index)
            quantity = entry.quantity
            if quantity.__class__ is not Decimal or not quantity.is_finite() or quantity < 0:
                quantity = _checked_quantity(quantity, index)
            mass = quantity * plan.num
            if plan.den is not None:
                mass = mass / plan.den
            mass = mass.quantize(quantum)
            acc = plan.acc
            acc[0] += mass
            co2e = mass if plan.gwp is None else mass * plan.gwp
            if plan.rest is None:
                masses: tuple[Decimal, ...] = (mass,)
            else:
                masses, co2e = _more_gases(quantity, plan, mass, co2e)
            if keep_lines:
                append(make_line((index, entry, plan.basis, masses, co2e)))
    except decimal.DecimalException as exc:
        raise ArithmeticLimitError(
            f"figure exceeds the engine precision ({exc!r})", entry=index, field="quantity"
        ) from None
    except AttributeError as exc:
        raise InvalidQuantityError(f"entry is not an Entry ({exc})", entry=index) from None
    return lines, list(plans.values())


def _more_gases(
    quantity: Decimal, plan: _Plan, first: Decimal, co2e: Decimal
) -> tuple[tuple[Decimal, ...], Decimal]:
    masses = [first]
    assert plan.rest is not None
    for position, (num, den, gwp) in enumerate(plan.rest, start=1):
        mass = quantity * num
        if den is not None:
            mass = mass / den
        mass = mass.quantize(LINE_QUANTUM)
        plan.acc[position] += mass
        masses.append(mass)
        co2e += mass if gwp is None else mass * gwp
    return tuple(masses), co2e


def _aggregate(
    plans: Sequence[_Plan],
) -> tuple[dict[str, Decimal], dict[str, Decimal], dict[str, Decimal], Decimal]:
    by_category = dict.fromkeys(CATEGORIES, ZERO)
    by_gas: dict[str, Decimal] = {}
    gas_mass: dict[str, Decimal] = {}
    with context() as ctx:
        # Line masses are quantized, so sums and × GWP must be exact; prove it.
        ctx.traps[decimal.Inexact] = True
        try:
            for plan in plans:
                basis = plan.basis
                for gas, gwp, mass in zip(basis.gases, basis.gwp, plan.acc, strict=True):
                    co2e = mass * gwp
                    by_category[basis.category] += co2e
                    if basis.category in MEMO_CATEGORIES:
                        continue
                    by_gas[gas] = by_gas.get(gas, ZERO) + co2e
                    gas_mass[gas] = gas_mass.get(gas, ZERO) + mass
            total = sum((v for k, v in by_category.items() if k not in MEMO_CATEGORIES), ZERO)
        except decimal.Inexact:
            raise ArithmeticLimitError("totals exceed the engine precision") from None
    order = sorted(by_gas, key=lambda gas: (_GAS_ORDER.get(gas, 9), gas))
    return (by_category, {g: by_gas[g] for g in order}, {g: gas_mass[g] for g in order}, total)

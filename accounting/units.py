"""Unit conversion through pint, resolved once per (unit, canonical unit) pair.

pint runs with ``non_int_type=Decimal`` and the factor set's own definitions (10⁴ Nm³, kgce, …),
so every conversion factor is an exact Decimal. The engine asks for a factor once per distinct
unit string and then multiplies plain Decimals; pint never sits in the per-entry path.

pint is imported when the first converter is built: it costs a tenth of a second, and
importing the package (for its constants, the grading, the verifier's figures) should not.
"""

from __future__ import annotations

from decimal import Decimal, Inexact
from functools import cache
from typing import TYPE_CHECKING

from accounting.errors import UnitMismatchError, UnknownUnitError
from accounting.factors import FactorSet
from accounting.numbers import context

if TYPE_CHECKING:
    import pint


class UnitConverter:
    """Conversions for one factor set (its unit definitions and aliases)."""

    def __init__(self, definitions: tuple[str, ...], aliases: dict[str, str]):
        import pint

        # pint does Decimal arithmetic while building and caching; pin it to our context.
        with context():
            self._registry = pint.UnitRegistry(
                non_int_type=Decimal, autoconvert_offset_to_baseunit=False, cache_folder=None
            )
            for definition in definitions:
                self._registry.define(definition)
        self._aliases = aliases
        self._factors: dict[tuple[str, str], tuple[Decimal, Decimal] | None] = {}

    def _parse(self, unit: str) -> pint.Unit:
        import pint

        text = unit.strip()
        text = self._aliases.get(text, text)
        if not text:
            raise UnknownUnitError("empty unit", field="unit")
        try:
            return self._registry.parse_units(text)
        except (
            pint.errors.UndefinedUnitError,
            pint.errors.DefinitionSyntaxError,
            ValueError,
            AttributeError,
            TypeError,
            AssertionError,
        ):
            raise UnknownUnitError(f"unknown unit {unit!r}", field="unit") from None

    def factor(self, unit: str, canonical: str) -> tuple[Decimal, Decimal] | None:
        """``(num, den)`` with ``1 unit = num/den canonical``, or None if dimensions differ.

        Both are exact Decimals when possible: if the forward factor is not a finite decimal
        (GJ → MWh is 1/3.6) the reverse one is, and the engine folds ``den`` into its single
        final division. Computed in the engine's local context, never the global one.
        """
        key = (unit, canonical)
        if key not in self._factors:
            with context():
                source = self._parse(unit)
                target = self._parse(canonical)
                if source.dimensionality != target.dimensionality:
                    self._factors[key] = None
                else:
                    self._factors[key] = self._exact_ratio(source, target)
        return self._factors[key]

    def _exact_ratio(self, source: pint.Unit, target: pint.Unit) -> tuple[Decimal, Decimal]:
        with context() as ctx:
            ctx.clear_flags()
            forward = Decimal(self._registry.Quantity(Decimal(1), source).to(target).magnitude)
            if not ctx.flags[Inexact]:
                return forward.normalize(), Decimal(1)
            ctx.clear_flags()
            reverse = Decimal(self._registry.Quantity(Decimal(1), target).to(source).magnitude)
            if not ctx.flags[Inexact]:
                return Decimal(1), reverse.normalize()
            return forward, Decimal(1)

    def convert_to_any(
        self, unit: str, canonicals: tuple[str, ...]
    ) -> tuple[str, tuple[Decimal, Decimal]]:
        """First canonical unit ``unit`` converts to, with the ratio; error naming the options."""
        for canonical in canonicals:
            ratio = self.factor(unit, canonical)
            if ratio is not None:
                return canonical, ratio
        accepted = " or ".join(f"a unit convertible to {c}" for c in canonicals)
        raise UnitMismatchError(f"unit {unit!r} does not fit: expected {accepted}", field="unit")

    def dimensionality(self, unit: str) -> str:
        return str(self._parse(unit).dimensionality)


@cache
def converter_for(factor_set: FactorSet) -> UnitConverter:
    return UnitConverter(factor_set.unit_definitions, dict(factor_set.unit_aliases))
